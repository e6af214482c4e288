package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBinary_CLIForgives: the command line as a new user meets it. Typos
// get a suggestion, a typo in --db makes no database, global flags work
// after the subcommand, quiet commands say what they did, and --json is
// JSON with [] for empty lists.
func TestBinary_CLIForgives(t *testing.T) {
	dir := t.TempDir()
	oneLine := func(args ...string) string {
		t.Helper()
		_, errOut, err := binary.Run(t, dir, args...)
		if err == nil || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: err %v, stderr %q; want an error in one line", args, err, errOut)
		}
		return errOut
	}
	if out := binary.Must(t, dir, "help"); !strings.Contains(out, "serve") || !strings.Contains(out, "rotate-root") {
		t.Errorf("help:\n%s", out)
	}
	for args, want := range map[string]string{
		"usr list": "did you mean 'user'?",
		"sevre":    "did you mean 'serve'?",
		"user lst": "did you mean 'user list'?",
	} {
		if got := oneLine(strings.Fields(args)...); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", args, got, want)
		}
	}
	// Only serve and init make a database.
	for _, args := range [][]string{{"--db", "certmakr.db", "user", "add", "zed"}, {"--db", "certmakr.db", "rotate-root", "--yes"}, {"user", "list"}} {
		if got := oneLine(args...); !strings.Contains(got, "no database at") {
			t.Errorf("%v: %q", args, got)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("commands on a missing database made files: %v", entries)
	}
	out := binary.Must(t, dir, "init")
	if !strings.Contains(out, "created certmaker.db") {
		t.Errorf("init said %q", out)
	}
	oneLine("init") // never over an existing database

	// Global flags after the subcommand.
	alice := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice", "--db", "certmaker.db"))
	if len(alice) != 43 {
		t.Errorf("user add printed %q", alice)
	}
	if out := binary.Must(t, dir, "user", "disable", "alice"); !strings.Contains(out, "alice disabled") {
		t.Errorf("user disable said %q", out)
	}
	if out := binary.Must(t, dir, "user", "enable", "alice"); !strings.Contains(out, "alice enabled") {
		t.Errorf("user enable said %q", out)
	}

	var users []map[string]any
	if err := json.Unmarshal([]byte(binary.Must(t, dir, "user", "list", "--json")), &users); err != nil || len(users) != 2 {
		t.Errorf("user list --json: %v %v", users, err)
	}
	var status map[string]any
	if err := json.Unmarshal([]byte(binary.Must(t, dir, "status", "--json")), &status); err != nil || status["users"] != float64(2) {
		t.Errorf("status --json: %v %v", status, err)
	}
	if out := binary.Must(t, dir, "cert", "list", "--json"); strings.Contains(out, "null") || !json.Valid([]byte(out)) {
		t.Errorf("cert list --json with no certificates: %q, want [] and valid JSON", out)
	}

	if v1, v2 := binary.Must(t, dir, "version"), binary.Must(t, dir, "--version"); v1 != v2 || !strings.HasPrefix(v1, "certmaker ") {
		t.Errorf("version %q and --version %q differ", v1, v2)
	}
	if got := oneLine("cert", "show", strings.Repeat("9", 60)); !strings.Contains(got, "too long") {
		t.Errorf("a 60-digit id: %q", got)
	}
	if out := binary.Must(t, dir, "completion", "bash"); !strings.Contains(out, "complete -o") {
		t.Errorf("completion bash: %q", out)
	}
	if out := binary.Must(t, dir, "man"); !regexp.MustCompile(`(?m)^\.TH`).MatchString(out) || !strings.Contains(out, "rotate-root") {
		t.Errorf("man page:\n%.300s", out)
	}
}

// TestBinary_CertIDs: cert show and revoke take the decimal id or the hex
// serial as openssl prints it, and revoke says what it did.
func TestBinary_CertIDs(t *testing.T) {
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	code, _, body := srv.Do(t, "POST", "/api/certificate/request", srv.Token, `{"domains":["hex.home.lan"]}`)
	if code != 200 {
		t.Fatalf("issuing: %d %s", code, body)
	}
	id := strings.TrimSpace(body)
	show := binary.Must(t, dir, "cert", "show", id, "--json")
	var d struct {
		ID  string `json:"id"`
		Hex string `json:"serial_hex"`
		PEM string `json:"pem"`
	}
	if err := json.Unmarshal([]byte(show), &d); err != nil || d.ID != id || !strings.Contains(d.PEM, "BEGIN CERTIFICATE") {
		t.Fatalf("cert show --json: %v %+v", err, d)
	}
	if out := binary.Must(t, dir, "cert", "show", d.Hex); !strings.Contains(out, id) {
		t.Errorf("cert show by hex serial %s:\n%s", d.Hex, out)
	}
	if out := binary.Must(t, dir, "cert", "revoke", "0x"+strings.ReplaceAll(d.Hex, ":", ""), "--reason", "superseded"); !strings.Contains(out, id+" revoked (superseded)") {
		t.Errorf("cert revoke said %q", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "certmaker.db")); err != nil {
		t.Fatal(err)
	}
}

// TestBinary_RotateRootAsks: on a terminal (util-linux's script gives the
// command one), rotate-root asks first and does nothing on "n"; --yes
// skips the question.
func TestBinary_RotateRootAsks(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) to run a command on a terminal")
	}
	dir := t.TempDir()
	binary.Must(t, dir, "init")
	before := binary.Must(t, dir, "root", "export")
	cmd := exec.Command(scriptBin, "-qec", string(binary)+" rotate-root", "/dev/null")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("n\n")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Rotate the root? [y/N]") || !strings.Contains(string(out), "nothing changed") {
		t.Errorf("rotate-root answered n on a terminal: %v\n%s", err, out)
	}
	if after := binary.Must(t, dir, "root", "export"); after != before {
		t.Error("rotate-root rotated after the operator said no")
	}
	cmd = exec.Command(scriptBin, "-qec", string(binary)+" rotate-root --yes", "/dev/null")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), "[y/N]") || !strings.Contains(string(out), "Next: give every device") {
		t.Errorf("rotate-root --yes on a terminal: %v\n%s", err, out)
	}
}

func TestUsageErrorsAreOneLine(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"user", "list", "--bogus"}, {"--nope"}, {"cert", "revoke", "1", "--reason"}} {
		_, errOut, err := binary.Run(t, dir, args...)
		if err == nil || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.HasPrefix(errOut, "certmaker: ") {
			t.Errorf("%v: err %v, stderr %q; want one line", args, err, errOut)
		}
	}
}
