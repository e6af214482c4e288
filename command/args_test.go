package command

import (
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestHoistFlags(t *testing.T) {
	cases := []struct{ in, want string }{
		{"certmaker cert revoke 123 --reason keyCompromise", "certmaker cert revoke --reason keyCompromise 123"},
		{"certmaker cert revoke --reason=superseded 123", "certmaker cert revoke --reason=superseded 123"},
		{"certmaker --db x.db user add alice --admin", "certmaker --db x.db user add --admin alice"},
		{"certmaker user add alice", "certmaker user add alice"},
		{"certmaker create-user bob --admin", "certmaker create-user --admin bob"},
		{"certmaker serve --listen :1 --public-url http://x", "certmaker serve --listen :1 --public-url http://x"},
		{"certmaker user add -- --weird", "certmaker user add -- --weird"},
		{"certmaker nosuch --x y", "certmaker nosuch --x y"},
		{"certmaker", "certmaker"},
		// Global flags after the subcommand go in front of it.
		{"certmaker user list --db x.db", "certmaker --db x.db user list"},
		{"certmaker user --db x.db list", "certmaker --db x.db user list"},
		{"certmaker cert revoke 1 --db=x.db --reason superseded", "certmaker --db=x.db cert revoke --reason superseded 1"},
		{"certmaker --config c.toml user add alice --db x.db --admin", "certmaker --db x.db --config c.toml user add --admin alice"},
	}
	app := &cli.App{Name: "certmaker", Flags: GlobalFlags(), Commands: All()}
	for _, c := range cases {
		got := strings.Join(hoistFlags(app, strings.Fields(c.in)), " ")
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
	in := strings.Fields("certmaker cert revoke 1 --reason x")
	orig := slices.Clone(in)
	hoistFlags(app, in)
	if !slices.Equal(in, orig) {
		t.Errorf("hoistFlags changed its input to %q", in)
	}
}

func TestCheckCommands(t *testing.T) {
	app := &cli.App{Name: "certmaker", Flags: GlobalFlags(), Commands: All()}
	for in, want := range map[string]string{
		"certmaker usr list":          "unknown command 'usr'; did you mean 'user'?",
		"certmaker sevre":             "unknown command 'sevre'; did you mean 'serve'?",
		"certmaker user lst":          "unknown command 'user lst'; did you mean 'user list'?",
		"certmaker --db x frobnicate": "unknown command 'frobnicate' (certmaker help",
		"certmaker help usr":          "did you mean 'user'?",
	} {
		err := checkCommands(app, strings.Fields(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	for _, in := range []string{"certmaker", "certmaker help", "certmaker help user", "certmaker user list",
		"certmaker --db x user add alice", "certmaker cert revoke 123 --reason x", "certmaker get --name a.lan", "certmaker --version"} {
		if err := checkCommands(app, strings.Fields(in)); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// TestHelpForms: every way of asking for a subcommand's help prints that
// subcommand's help, never its parent's or an error.
func TestHelpForms(t *testing.T) {
	run := func(in string) (code int, out, errOut string) {
		var o, e strings.Builder
		app := &cli.App{Name: "certmaker", Flags: GlobalFlags(), Commands: All(), Writer: &o, ErrWriter: &e}
		code = Run(app, strings.Fields(in), &e)
		return code, o.String(), e.String()
	}
	for _, in := range []string{
		"certmaker help user add", "certmaker user help add", "certmaker user add --help",
		"certmaker h user add", "certmaker user h add", "certmaker --db x.db help user add",
		"certmaker user add -h",
	} {
		if code, out, errOut := run(in); code != 0 || !strings.Contains(out, "certmaker user add - create a user") {
			t.Errorf("%q: exit %d, stderr %q, printed:\n%s", in, code, errOut, out)
		}
	}
	for in, want := range map[string]string{
		"certmaker help user":      "acme-eab", // a group's help lists its commands
		"certmaker user help":      "acme-eab",
		"certmaker help":           "rotate-root",
		"certmaker help get":       "--renew-before",
		"certmaker cert help show": "certmaker cert show - ",
	} {
		if code, out, errOut := run(in); code != 0 || !strings.Contains(out, want) {
			t.Errorf("%q: exit %d, stderr %q, printed:\n%s", in, code, errOut, out)
		}
	}
	if code, _, errOut := run("certmaker help usr"); code == 0 || !strings.Contains(errOut, "did you mean 'user'?") {
		t.Errorf("help usr: exit %d, %q", code, errOut)
	}
	// A user named "help" is a name, not a request for help.
	app := &cli.App{Name: "certmaker", Flags: GlobalFlags(), Commands: All()}
	if got := strings.Join(helpAsFlag(app, strings.Fields("certmaker user add help")), " "); got != "certmaker user add help" {
		t.Errorf("user add help: %q", got)
	}
}

// TestFlagsNotShared: no flag value is shared by two commands. urfave/cli
// keeps a flag's parsed state in the flag itself, so a package-level flag
// handed to several commands is mutable state they share.
func TestFlagsNotShared(t *testing.T) {
	seen := map[cli.Flag]string{}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(prefix + " " + c.Name)
			for _, f := range c.Flags {
				if other, ok := seen[f]; ok {
					t.Errorf("flag --%s of %q is the same value as %q's", f.Names()[0], name, other)
				}
				seen[f] = name
			}
			walk(name, c.Subcommands)
		}
	}
	walk("", All())
	if len(seen) < 20 {
		t.Fatalf("walked only %d flags", len(seen))
	}
}
