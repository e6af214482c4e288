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
