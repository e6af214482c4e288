package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"certmaker/ca"
)

// trustFiles writes the active root and intermediate the server publishes
// (token-free) into dir and returns their paths.
func trustFiles(t *testing.T, srv *server, dir string) (root, inter string) {
	t.Helper()
	root, inter = filepath.Join(dir, "roots.pem"), filepath.Join(dir, "intermediate.pem")
	for path, file := range map[string]string{"/roots.pem": root, "/intermediate.pem": inter} {
		code, _, body := srv.Do(t, "GET", path, "", "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root, inter
}

// issueTo requests a certificate for name and writes its chain to dir.
func issueTo(t *testing.T, srv *server, token, dir, name string) (id, file string) {
	t.Helper()
	code, hdr, body := srv.Do(t, "POST", "/api/certificate/request", token, `{"domains":["`+name+`"]}`)
	if code != 200 {
		t.Fatalf("request: %d %s", code, body)
	}
	_, _, chain := srv.Do(t, "GET", strings.TrimPrefix(hdr.Get("X-Certificate-Location"), srv.URL), token, "")
	file = filepath.Join(dir, name+".pem")
	if err := os.WriteFile(file, []byte(chain), 0o600); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(body), file
}

// TestBinary_IntermediateRotate: `certmaker intermediate rotate` on a
// running server makes a new intermediate under the same root (the
// fingerprint devices checked stays), new certificates chain through it
// with openssl, and the old intermediate still signs OCSP answers for its
// certificates.
func TestBinary_IntermediateRotate(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	alice := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	fp := strings.TrimSpace(binary.Must(t, dir, "root", "fingerprint"))
	if len(fp) != 64 || !strings.Contains(srv.Stderr.String(), fp) {
		t.Fatalf("root fingerprint %q, and serve did not print it:\n%s", fp, srv.Stderr)
	}
	oldRoot, oldInter := trustFiles(t, srv, filepath.Join(t.TempDir()))
	_, oldLeaf := issueTo(t, srv, alice, dir, "old.home.lan")

	newFP := strings.TrimSpace(binary.Must(t, dir, "intermediate", "rotate"))
	if len(newFP) != 64 {
		t.Fatalf("intermediate rotate printed %q, want the new intermediate's fingerprint", newFP)
	}
	if again := strings.TrimSpace(binary.Must(t, dir, "root", "fingerprint")); again != fp {
		t.Errorf("the root changed: %s, was %s", again, fp)
	}
	root, inter := trustFiles(t, srv, t.TempDir())
	b, _ := os.ReadFile(inter)
	if ca.Fingerprint(pemBytes(t, b)) != newFP {
		t.Error("/intermediate.pem is not the new intermediate")
	}
	_, newLeaf := issueTo(t, srv, alice, dir, "new.home.lan")
	// The device keeps its root file; the chain comes with the leaf.
	for _, leaf := range []string{newLeaf, oldLeaf} {
		out, err := exec.Command("openssl", "verify", "-CAfile", oldRoot, "-untrusted", leaf, leaf).CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": OK") {
			t.Errorf("openssl verify %s with the root devices already hold: %v\n%s", filepath.Base(leaf), err, out)
		}
	}
	out, err := exec.Command("openssl", "ocsp", "-issuer", oldInter, "-cert", oldLeaf, "-url", srv.URL+"/api/ocsp", "-CAfile", root).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Response verify OK") || !strings.Contains(string(out), ": good") {
		t.Errorf("openssl ocsp for the old intermediate's leaf: %v\n%s", err, out)
	}
	out, err = exec.Command("openssl", "ocsp", "-issuer", inter, "-cert", newLeaf, "-url", srv.URL+"/api/ocsp", "-CAfile", root).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Response verify OK") || !strings.Contains(string(out), ": good") {
		t.Errorf("openssl ocsp for the new intermediate's leaf: %v\n%s", err, out)
	}
	srv.Stop(t)
	// On the file, with no server, too.
	if third := strings.TrimSpace(binary.Must(t, dir, "intermediate", "rotate")); len(third) != 64 || third == newFP {
		t.Errorf("intermediate rotate on the file printed %q", third)
	}
}

// pemBytes is the DER of the first PEM block of b.
func pemBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	c := pemCert(t, string(b))
	return c.Raw
}
