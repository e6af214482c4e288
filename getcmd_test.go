package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// getEnv is a real server and a working directory for `certmaker get`.
type getEnv struct {
	t         *testing.T
	srv       *server
	dir       string
	tokenFile string
}

// newGetEnv starts a server in a new directory, with config as its
// certmaker.toml if not empty.
func newGetEnv(t *testing.T, config string) *getEnv {
	t.Helper()
	dir := t.TempDir()
	if config != "" {
		if err := os.WriteFile(filepath.Join(dir, "certmaker.toml"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv := binary.Start(t, dir)
	if srv.Token == "" {
		t.Fatal("the first start printed no admin token")
	}
	e := &getEnv{t: t, srv: srv, dir: dir, tokenFile: filepath.Join(dir, "token")}
	if err := os.WriteFile(e.tokenFile, []byte(srv.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *getEnv) get(args ...string) (string, error) {
	e.t.Helper()
	args = append([]string{"get", "--server", e.srv.URL, "--token-file", e.tokenFile,
		"--cert", filepath.Join(e.dir, "app.crt"), "--key", filepath.Join(e.dir, "app.key")}, args...)
	out, errOut, err := binary.Run(e.t, e.dir, args...)
	if err != nil {
		return out + errOut, err
	}
	return out, nil
}

func (e *getEnv) mustGet(args ...string) string {
	e.t.Helper()
	out, err := e.get(args...)
	if err != nil {
		e.t.Fatalf("certmaker get %v: %v\n%s", args, err, out)
	}
	return out
}

func (e *getEnv) files() (cert *x509.Certificate, certPEM, keyPEM []byte) {
	e.t.Helper()
	certPEM, err := os.ReadFile(filepath.Join(e.dir, "app.crt"))
	if err != nil {
		e.t.Fatal(err)
	}
	keyPEM, err = os.ReadFile(filepath.Join(e.dir, "app.key"))
	if err != nil {
		e.t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		e.t.Fatalf("cert file is not PEM: %q", certPEM)
	}
	cert, err = x509.ParseCertificate(block.Bytes)
	if err != nil {
		e.t.Fatal(err)
	}
	return cert, certPEM, keyPEM
}

func TestGet_RenewsWhenDue(t *testing.T) {
	e := newGetEnv(t, "")
	hook := filepath.Join(e.dir, "hook-ran")
	args := []string{"--name", "app.home.lan", "--ip", "192.168.1.20", "--post-hook", "echo ran >> " + hook}

	out := e.mustGet(args...)
	if !strings.Contains(out, "no certificate yet") {
		t.Errorf("first run said %q", out)
	}
	first, firstPEM, keyPEM := e.files()
	if first.DNSNames[0] != "app.home.lan" || len(first.IPAddresses) != 1 || first.IPAddresses[0].String() != "192.168.1.20" {
		t.Errorf("names %v %v", first.DNSNames, first.IPAddresses)
	}
	if fi, _ := os.Stat(filepath.Join(e.dir, "app.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", fi.Mode().Perm())
	}
	rootPEM := binary.Must(t, e.dir, "root", "export")
	opensslVerify(t, e.dir, rootPEM, string(firstPEM))
	if b, _ := os.ReadFile(hook); string(b) != "ran\n" {
		t.Errorf("post hook after the first certificate: %q", b)
	}

	// Fresh: nothing changes, one line, the hook does not run.
	out = e.mustGet(append(args, "--now", time.Now().Format(time.RFC3339))...)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.Contains(out, "fresh until") {
		t.Errorf("a fresh certificate: %q, want one line saying it is fresh", out)
	}
	_, samePEM, sameKey := e.files()
	if !bytes.Equal(samePEM, firstPEM) || !bytes.Equal(sameKey, keyPEM) {
		t.Error("a fresh certificate was replaced")
	}
	if b, _ := os.ReadFile(hook); string(b) != "ran\n" {
		t.Errorf("the post hook ran without a change: %q", b)
	}

	// In the last third of its 7 days: renewed, the hook runs once more.
	due := first.NotAfter.Add(-24 * time.Hour)
	out = e.mustGet(append(args, "--now", due.Format(time.RFC3339))...)
	if !strings.Contains(out, "is due") {
		t.Errorf("a due certificate: %q", out)
	}
	second, _, _ := e.files()
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("a due certificate was not renewed")
	}
	if b, _ := os.ReadFile(hook); string(b) != "ran\nran\n" {
		t.Errorf("post hook after the renewal: %q", b)
	}

	// Revoked: renewed at once, though fresh by its dates.
	if status, _, body := e.srv.Do(t, "POST", "/api/certificate/"+second.SerialNumber.String()+"/revoke", e.srv.Token, `{"reason":"keyCompromise"}`); status != 200 {
		t.Fatalf("revoking: %d %s", status, body)
	}
	out = e.mustGet(args...)
	if !strings.Contains(out, "revoked") {
		t.Errorf("a revoked certificate: %q", out)
	}
	third, _, _ := e.files()
	if third.SerialNumber.Cmp(second.SerialNumber) == 0 {
		t.Fatal("a revoked certificate was not renewed")
	}

	// Another name asked for: renewed.
	e.mustGet("--name", "app.home.lan", "--name", "www.home.lan", "--ip", "192.168.1.20")
	fourth, _, _ := e.files()
	if len(fourth.DNSNames) != 2 {
		t.Errorf("names after adding one: %v", fourth.DNSNames)
	}
}

func TestGet_KeepsThePairOnError(t *testing.T) {
	e := newGetEnv(t, "")
	e.mustGet("--name", "app.home.lan")
	_, certPEM, keyPEM := e.files()
	// A bad token, and a name the server refuses: errors, nothing touched.
	good := e.tokenFile
	e.tokenFile = filepath.Join(e.dir, "bad-token")
	os.WriteFile(e.tokenFile, []byte("not-a-token"), 0o600)
	if out, err := e.get("--name", "other.home.lan"); err == nil || !strings.Contains(out, "404") {
		t.Errorf("a bad token: %v %q, want an error naming the 404", err, out)
	}
	e.tokenFile = good
	if out, err := e.get("--name", "bad name!"); err == nil || !strings.Contains(out, "400") {
		t.Errorf("a bad name: %v %q, want an error naming the 400", err, out)
	}
	_, certAfter, keyAfter := e.files()
	if !bytes.Equal(certAfter, certPEM) || !bytes.Equal(keyAfter, keyPEM) {
		t.Error("a failed renewal touched the files")
	}
	entries, _ := os.ReadDir(e.dir)
	for _, en := range entries {
		if strings.Contains(en.Name(), ".tmp") {
			t.Errorf("a temporary file was left: %s", en.Name())
		}
	}
	for _, args := range [][]string{
		{}, // no names
		{"--name", "a.lan", "--renew-before", "2/1"},
		{"--name", "a.lan", "--serve-challenge", ":80", "--webroot", "/tmp"},
		{"--name", "a.lan", "stray"},
	} {
		if out, err := e.get(args...); err == nil || strings.Count(strings.TrimSpace(out), "\n") > 0 {
			t.Errorf("get %v: %v %q, want one line and an error", args, err, out)
		}
	}
}

func TestGet_CSRKeyStaysHere(t *testing.T) {
	e := newGetEnv(t, "")
	e.mustGet("--name", "csr.home.lan", "--csr", "--key-type", "ed25519", "--days", "3")
	cert, _, _ := e.files()
	if cert.PublicKeyAlgorithm != x509.Ed25519 {
		t.Errorf("key algorithm %v, want Ed25519", cert.PublicKeyAlgorithm)
	}
	if d := cert.NotAfter.Sub(cert.NotBefore); d != 3*24*time.Hour {
		t.Errorf("validity %v, want 3 days", d)
	}
	// The server never held the key.
	if status, _, _ := e.srv.Do(t, "GET", "/api/privatekey/"+cert.SerialNumber.String()+"/obtain", e.srv.Token, ""); status != 404 {
		t.Errorf("the server has a key for a CSR certificate: %d", status)
	}
}

// TestGet_Challenge: with challenges required, get serves the token itself
// on a loopback address, or writes it into a web root served there.
func TestGet_Challenge(t *testing.T) {
	// --webroot: a web server on 127.0.0.3 serves a directory.
	root := filepath.Join(t.TempDir(), "www")
	os.Mkdir(root, 0o755)
	web := serveDir(t, "127.0.0.3:0", root)
	_, webPort, _ := net.SplitHostPort(web)
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	// Unprivileged ports are refused unless listed.
	e := newGetEnv(t, fmt.Sprintf("[challenge]\nrequired = true\ndefault_port = %d\nallowed_ports = [%d, %s]\n", port, port, webPort))
	out := e.mustGet("--ip", "127.0.0.2", "--serve-challenge", fmt.Sprintf("127.0.0.2:%d", port))
	if !strings.Contains(out, "new certificate") {
		t.Errorf("serve-challenge: %q", out)
	}
	if out, err := e.get("--ip", "127.0.0.3"); err == nil || !strings.Contains(out, "--serve-challenge") {
		t.Errorf("a challenge without a way to answer: %v %q", err, out)
	}

	out = e.mustGet("--ip", "127.0.0.3", "--webroot", root, "--challenge-port", webPort)
	if !strings.Contains(out, "new certificate") {
		t.Errorf("webroot: %q", out)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, ".well-known", "certmaker-challenge")); len(entries) != 0 {
		t.Errorf("the token was left in the web root: %v", entries)
	}
}

// serveDir serves dir over HTTP on addr (port 0 picks one) for the test's
// lifetime and returns the address it listens on.
func serveDir(t *testing.T, addr, dir string) string {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("listening on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir))}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// TestGet_WebrootRefusesSymlinks: get runs as root (the README's unit) and
// writes into a web root that someone else owns. A symbolic link planted
// there, as the token file itself or as a directory on its way, must not
// make it write anywhere else: it refuses, says why, and the file the link
// points to is unchanged.
func TestGet_WebrootRefusesSymlinks(t *testing.T) {
	web := filepath.Join(t.TempDir(), "www")
	tokenDir := filepath.Join(web, ".well-known", "certmaker-challenge")
	if err := os.MkdirAll(tokenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "shadow")
	const secret = "root:$6$precious:19000:0:99999:7:::\n"
	if err := os.WriteFile(outside, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	e := newGetEnv(t, fmt.Sprintf("[challenge]\nrequired = true\ndefault_port = %d\nallowed_ports = [%d]\n", port, port))

	check := func(what string) {
		t.Helper()
		out, err := e.get("--ip", "127.0.0.2", "--webroot", web, "--challenge-port", strconv.Itoa(port))
		if err == nil || !strings.Contains(out, "symbolic link") {
			t.Errorf("%s: %v %q, want an error saying a symbolic link was refused", what, err, out)
		}
		if b, _ := os.ReadFile(outside); string(b) != secret {
			t.Fatalf("%s: the file outside the web root was written: %q", what, b)
		}
	}

	// The token file itself is a link to a file outside.
	link := filepath.Join(tokenDir, "token.txt")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	check("a symlinked token file")
	if target, err := os.Readlink(link); err != nil || target != outside {
		t.Errorf("the planted link was changed: %q %v", target, err)
	}

	// A directory on the way is a link to a directory outside.
	os.RemoveAll(filepath.Join(web, ".well-known"))
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(web, ".well-known")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(elsewhere, "certmaker-challenge"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(elsewhere, "certmaker-challenge", "token.txt")); err != nil {
		t.Fatal(err)
	}
	check("a symlinked directory")
	if entries, _ := os.ReadDir(filepath.Join(elsewhere, "certmaker-challenge")); len(entries) != 1 {
		t.Errorf("files were written through the symlinked directory: %v", entries)
	}
}

// TestGet_RenewalWindow: the default window is the last third of the
// certificate's life counted from its notBefore, and --renew-before moves
// it either way: a 30-day certificate is fresh on day 19 and due on day 21
// by default; with 10d it is fresh on day 5 and due on day 25.
func TestGet_RenewalWindow(t *testing.T) {
	e := newGetEnv(t, "")
	args := []string{"--name", "win.home.lan", "--days", "30"}
	e.mustGet(args...)
	first, _, _ := e.files()
	if d := first.NotAfter.Sub(first.NotBefore); d != 30*24*time.Hour {
		t.Fatalf("validity %v, want 30 days", d)
	}
	day := func(n float64) string {
		return first.NotBefore.Add(time.Duration(n * float64(24*time.Hour))).Format(time.RFC3339)
	}
	// The due cases come last: a renewal is issued now, with the first
	// certificate's dates to within a second.
	for _, tc := range []struct {
		name string
		at   float64
		more []string
		due  bool
	}{
		{"DefaultDay19", 19.9, nil, false},
		{"TenDaysDay5", 5, []string{"--renew-before", "10d"}, false},
		{"TenDaysDay19", 19.9, []string{"--renew-before", "10d"}, false},
		{"DefaultDay21", 20.1, nil, true},
		{"TenDaysDay25", 25, []string{"--renew-before", "10d"}, true},
	} {
		before, _, _ := e.files()
		out := e.mustGet(append(append(append([]string{}, args...), "--now", day(tc.at)), tc.more...)...)
		after, _, _ := e.files()
		renewed := after.SerialNumber.Cmp(before.SerialNumber) != 0
		if renewed != tc.due || tc.due != strings.Contains(out, "is due") {
			t.Errorf("%s: renewed %v, said %q; want due %v", tc.name, renewed, out, tc.due)
		}
	}
}

// TestGet_CSRFailureKeepsKey: with --csr the new key is made before the
// request; when the request fails, the key file on disk is the old one.
func TestGet_CSRFailureKeepsKey(t *testing.T) {
	e := newGetEnv(t, "")
	e.mustGet("--name", "csr.home.lan", "--csr")
	_, certPEM, keyPEM := e.files()
	for _, args := range [][]string{
		{"--name", "csr.home.lan", "--name", "bad name!", "--csr"},     // refused by the server: 400
		{"--name", "csr2.home.lan", "--csr", "--key-type", "rsa-1024"}, // refused here
	} {
		if out, err := e.get(args...); err == nil {
			t.Errorf("get %v: succeeded (%q), want an error", args, out)
		}
		_, certAfter, keyAfter := e.files()
		if !bytes.Equal(keyAfter, keyPEM) || !bytes.Equal(certAfter, certPEM) {
			t.Errorf("get %v failed but replaced the files", args)
		}
	}
	good := e.tokenFile
	e.tokenFile = filepath.Join(e.dir, "bad-token")
	os.WriteFile(e.tokenFile, []byte("not-a-token"), 0o600)
	if out, err := e.get("--name", "other.home.lan", "--csr"); err == nil || !strings.Contains(out, "404") {
		t.Errorf("a bad token with --csr: %v %q", err, out)
	}
	e.tokenFile = good
	if _, _, keyAfter := e.files(); !bytes.Equal(keyAfter, keyPEM) {
		t.Error("a refused CSR request replaced the key file")
	}
}
