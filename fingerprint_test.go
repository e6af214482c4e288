package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"certmaker/ca"
)

// TestBinary_Fingerprints: an operator compares one form of a root's
// fingerprint everywhere, the one openssl and phones show (upper-case
// pairs joined by colons): serve's first lines, `root fingerprint`,
// `rotate-root` and openssl agree; --hex is the form URLs hold; and
// `cert show` names the root's and the intermediate's fingerprints
// each under its own name.
func TestBinary_Fingerprints(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	root, inter := trustFiles(t, srv, t.TempDir())
	out, err := exec.Command("openssl", "x509", "-in", root, "-noout", "-fingerprint", "-sha256").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	_, fromOpenSSL, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
	if !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(fromOpenSSL) {
		t.Fatalf("openssl printed %q", out)
	}
	if got := strings.TrimSpace(binary.Must(t, dir, "root", "fingerprint")); got != fromOpenSSL {
		t.Errorf("root fingerprint %q, openssl %q", got, fromOpenSSL)
	}
	if !strings.Contains(srv.Stderr.String(), "fingerprint: "+fromOpenSSL+"\n") {
		t.Errorf("serve did not print the fingerprint as openssl does (%s):\n%s", fromOpenSSL, srv.Stderr)
	}
	hexFP := strings.TrimSpace(binary.Must(t, dir, "root", "fingerprint", "--hex"))
	if hexFP != strings.ToLower(strings.ReplaceAll(fromOpenSSL, ":", "")) {
		t.Errorf("root fingerprint --hex %q", hexFP)
	}
	if code, _, _ := srv.Do(t, "GET", "/api/crl/"+hexFP, "", ""); code != 200 {
		t.Errorf("the root's CRL at /api/crl/$(certmaker root fingerprint --hex): %d", code)
	}

	id, _ := issueTo(t, srv, srv.Token, t.TempDir(), "fp.home.lan")
	show := binary.Must(t, dir, "cert", "show", id)
	b, err := os.ReadFile(inter)
	if err != nil {
		t.Fatal(err)
	}
	interFP := ca.Colons(ca.Fingerprint(pemBytes(t, b)))
	for _, want := range []string{"Root fingerprint:", fromOpenSSL, "Intermediate fingerprint:", interFP} {
		if !strings.Contains(show, want) {
			t.Errorf("cert show lacks %q:\n%s", want, show)
		}
	}
	for _, line := range strings.Split(show, "\n") {
		if strings.HasPrefix(line, "Root fingerprint:") && !strings.HasSuffix(line, fromOpenSSL) {
			t.Errorf("cert show: %q, want the root's %s", line, fromOpenSSL)
		}
	}

	newFP := strings.TrimSpace(binary.Must(t, dir, "rotate-root", "--yes"))
	if active := binary.Must(t, dir, "root", "export"); newFP != ca.Colons(ca.Fingerprint(pemBytes(t, []byte(active)))) {
		t.Errorf("rotate-root printed %q, not the new root's fingerprint in the form openssl shows", newFP)
	}
}
