package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"certmaker/internal/binarytest"
)

// The README's quick start and its `certmaker get` example are run as
// written, so that the README cannot drift from the binary. A fenced
// block after `<!-- readme-test: serve -->` starts the CA; blocks after
// `<!-- readme-test -->` and `<!-- readme-test: get -->` then run, in
// order, as one shell session would. Only the address, the ports and the
// paths are substituted: the CA listens on a free loopback port, "/etc/"
// is a directory of the test's, and the two machines are this one (ssh
// runs its command here; systemctl only records what it was asked).

// readmeBlock is one fenced block the README marks for testing.
type readmeBlock struct {
	mark string // "" for a plain step, else the name after "readme-test:"
	body string
}

var readmeMark = regexp.MustCompile(`(?m)^<!-- readme-test(?::\s*(\w+))?\s*-->\n` + "```" + `(\w*)\n((?s:.*?))` + "```" + `\n`)

func readmeBlocks(t *testing.T, readme string) []readmeBlock {
	t.Helper()
	var out []readmeBlock
	for _, m := range readmeMark.FindAllStringSubmatch(readme, -1) {
		if m[2] != "sh" {
			t.Fatalf("a readme-test block is %q, want sh:\n%s", m[2], m[3])
		}
		out = append(out, readmeBlock{mark: m[1], body: m[3]})
	}
	return out
}

func TestREADME(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var serve string
	var steps, get []string
	for _, bl := range readmeBlocks(t, readme) {
		switch bl.mark {
		case "serve":
			serve = bl.body
		case "get":
			get = append(get, bl.body)
			steps = append(steps, bl.body)
		case "":
			steps = append(steps, bl.body)
		default:
			t.Fatalf("unknown readme-test mark %q", bl.mark)
		}
	}
	if serve == "" || len(get) != 1 || len(steps) < 3 {
		t.Fatalf("README marks serve %t, %d get and %d other blocks for testing; want the quick start's two, the token's and the get example", serve != "", len(get), len(steps)-len(get))
	}

	tmp := t.TempDir()
	root := filepath.Join(tmp, "root") // "/" of the CA host and the machine alike
	bin := filepath.Join(tmp, "bin")
	for _, d := range []string{bin, filepath.Join(root, "etc", "ssl", "private")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(string(binary), filepath.Join(bin, "certmaker")); err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(tmp, "systemctl.calls")
	stubs := map[string]string{
		// ssh HOST COMMAND runs COMMAND here: the other machine is this one.
		"ssh": "#!/bin/sh\nshift\nexec sh -c \"$*\"\n",
		// systemctl records what it was asked, for the post-hook.
		"systemctl": "#!/bin/sh\necho \"$*\" >> " + calls + "\n",
	}
	for name, script := range stubs {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	subst := strings.NewReplacer(
		"http://ca.home.lan:8880", url,
		`listen = ":8880"`, fmt.Sprintf(`listen = "127.0.0.1:%d"`, port),
		"/etc/", root+"/etc/",
	)
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+tmp)

	// The CA, in a process group of its own: the shell runs serve as a
	// child, and both stop together.
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", subst.Replace(serve))
	cmd.Dir, cmd.Env = tmp, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.Cleanup(func() {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	srv := binarytest.StartCmd(t, cmd, url)
	fp := regexp.MustCompile(`Root CA SHA-256 fingerprint: (\S+)`).FindStringSubmatch(srv.Stderr.String())
	if fp == nil || srv.Token == "" {
		t.Fatalf("the quick start's serve printed no fingerprint or admin token:\n%s", srv.Stderr)
	}

	// The steps in order, as in one shell; the get example twice, as its
	// timer runs it.
	script := subst.Replace(strings.Join(steps, "\n") + "\necho '--- again'\n" + get[0])
	run := exec.Command("bash", "-euo", "pipefail", "-c", script)
	run.Dir, run.Env = tmp, env
	outB, err := run.CombinedOutput()
	out := string(outB)
	if err != nil {
		t.Fatalf("the README's steps failed: %v\n%s\n--- as run:\n%s", err, out, script)
	}
	first, again, _ := strings.Cut(out, "--- again")
	for _, want := range []string{"sha256 Fingerprint=" + fp[1], "nas.crt: OK", "no certificate yet; new certificate"} {
		if !strings.Contains(first, want) {
			t.Errorf("the quick start's output lacks %q:\n%s", want, first)
		}
	}
	if !strings.Contains(again, "fresh until") {
		t.Errorf("get run again did not find the certificate fresh:\n%s", again)
	}
	if c, _ := os.ReadFile(calls); string(c) != "reload nginx\n" {
		t.Errorf("the post-hook ran systemctl %q, want once with reload nginx", c)
	}
	for file, mode := range map[string]os.FileMode{"etc/certmaker/token": 0o600, "etc/ssl/private/nas.key": 0o600, "etc/ssl/nas.crt": 0o644} {
		fi, err := os.Stat(filepath.Join(root, file))
		if err != nil || fi.Mode().Perm()&^mode != 0 {
			t.Errorf("/%s: %v, want at most mode %o", file, err, mode)
		}
	}
	chain, _ := os.ReadFile(filepath.Join(root, "etc/ssl/nas.crt"))
	blk, rest := pem.Decode(chain)
	if blk == nil || !strings.Contains(string(rest), "BEGIN CERTIFICATE") {
		t.Fatalf("/etc/ssl/nas.crt is not a leaf followed by its intermediate:\n%s", chain)
	}
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if days := leaf.NotAfter.Sub(leaf.NotBefore).Round(time.Hour) / (24 * time.Hour); days != 30 || !slices.Equal(leaf.DNSNames, []string{"nas.home.lan"}) || len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "192.168.1.20" {
		t.Errorf("get made a certificate for %v %v valid %d days, not the README's", leaf.DNSNames, leaf.IPAddresses, days)
	}

	// The timer and the cron line run get with exactly the example's flags.
	want := getArgs(t, "the get example", get[0])
	unit := regexp.MustCompile(`(?m)^ExecStart=\S*certmaker get ((?:.*\\\n)*.*)$`).FindStringSubmatch(readme)
	cron := regexp.MustCompile("(?m)^```cron\n(.*)\n```").FindStringSubmatch(readme)
	if unit == nil || cron == nil {
		t.Fatal("README has no certmaker get unit (ExecStart=...certmaker get) or no ```cron block")
	}
	if got := getArgs(t, "the unit", "certmaker get "+unit[1]); !slices.Equal(got, want) {
		t.Errorf("the unit runs get with %q, the example with %q", got, want)
	}
	fields := strings.Fields(cron[1])
	if len(fields) < 8 || fields[5] != "root" || !strings.HasSuffix(fields[6], "/certmaker") || fields[7] != "get" {
		t.Fatalf("the cron line is not an /etc/cron.d line running certmaker get as root: %q", cron[1])
	}
	line := strings.TrimSuffix(strings.TrimSpace(cron[1]), ">/dev/null")
	if got := getArgs(t, "the cron line", "certmaker get "+strings.SplitN(line, " get ", 2)[1]); !slices.Equal(got, want) {
		t.Errorf("the cron line runs get with %q, the example with %q", got, want)
	}
	if !strings.Contains(readme, "/etc/cron.d/") {
		t.Error("README does not say where the cron line goes (/etc/cron.d/)")
	}
}

// getArgs is the arguments of the `certmaker get` command in s, split as
// the shell splits them (continued lines joined, comments dropped).
func getArgs(t *testing.T, what, s string) []string {
	t.Helper()
	s = strings.ReplaceAll(s, "\\\n", " ")
	for _, line := range strings.Split(s, "\n") {
		if _, rest, ok := strings.Cut(line, "certmaker get "); ok && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			var args []string
			for _, m := range regexp.MustCompile(`"([^"]*)"|(\S+)`).FindAllStringSubmatch(rest, -1) {
				args = append(args, m[1]+m[2])
			}
			return args
		}
	}
	t.Fatalf("%s runs no certmaker get:\n%s", what, s)
	return nil
}
