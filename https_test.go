package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certmaker/ca"
)

// TestBinary_HTTPS: with tls = "self" the server speaks HTTPS with a
// certificate of its own CA; a client bootstraps trust from the plain
// listener's /roots.pem checked against the fingerprint serve printed
// (curl --cacert, Go, certmaker get --cacert or --fingerprint); OCSP and
// CRLs stay on plain HTTP; the rest of plain HTTP redirects to HTTPS.
func TestBinary_HTTPS(t *testing.T) {
	dir := t.TempDir()
	srv := binary.StartTLS(t, dir, "self", "")
	fp := strings.TrimSpace(binary.Must(t, dir, "root", "fingerprint"))
	if !strings.Contains(srv.Stderr.String(), "fingerprint: "+fp) {
		t.Fatalf("serve did not print the root's fingerprint:\n%s", srv.Stderr)
	}
	// HSTS covers every port of the CA's host: a browser that has been
	// to the HTTPS dashboard asks for https on the plain port too, so the
	// startup lines give browsers the HTTPS downloads, and the plain one
	// for the first download, before the root is trusted.
	if log := srv.Stderr.String(); !strings.Contains(log, "Download: "+srv.URL+"/roots.pem") ||
		!strings.Contains(log, srv.PlainURL+"/roots.pem") || !strings.Contains(log, srv.URL+"/trust") {
		t.Errorf("startup lines do not name the HTTPS downloads, the trust page and the plain-HTTP root:\n%s", log)
	}
	// Bootstrap: the root over plain HTTP, checked by its fingerprint.
	resp, err := http.Get(srv.PlainURL + "/roots.pem")
	if err != nil {
		t.Fatal(err)
	}
	rootPEM := readAll(t, resp)
	root := pemCert(t, rootPEM)
	if ca.Colons(ca.Fingerprint(root.Raw)) != fp {
		t.Fatal("the root served over plain HTTP is not the one whose fingerprint serve printed")
	}
	rootFile := filepath.Join(dir, "root.pem")
	os.WriteFile(rootFile, []byte(rootPEM), 0o600)

	pool := x509.NewCertPool()
	pool.AddCert(root)
	srv.Client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	if code, _, body := srv.Do(t, "GET", "/healthz", "", ""); code != 200 {
		t.Fatalf("HTTPS /healthz with the root trusted: %d %s", code, body)
	}
	if _, err := http.Get(srv.URL + "/healthz"); err == nil {
		t.Error("HTTPS verified without the root trusted")
	}
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sS", "--cacert", rootFile, srv.URL+"/healthz").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			t.Errorf("curl --cacert: %v %s", err, out)
		}
		if out, err := exec.Command(curl, "-sS", srv.URL+"/healthz").CombinedOutput(); err == nil {
			t.Errorf("curl trusted the server without the root: %s", out)
		}
		// Everything but OCSP, CRLs and CA certificates redirects.
		out, _ = exec.Command(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", srv.PlainURL+"/api/certificate/request").CombinedOutput()
		if want := "308 " + srv.URL + "/api/certificate/request"; string(out) != want {
			t.Errorf("plain HTTP API request: %q, want %q", out, want)
		}
	}

	// certmaker get over HTTPS, trusting the root by file and by fingerprint.
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte(srv.Token), 0o600)
	get := func(extra ...string) (string, error) {
		args := append([]string{"get", "--server", srv.URL, "--token-file", token, "--name", "app.home.lan",
			"--cert", filepath.Join(dir, "app.crt"), "--key", filepath.Join(dir, "app.key")}, extra...)
		out, errOut, err := binary.Run(t, dir, args...)
		return out + errOut, err
	}
	// Without trusting the root, the error says what to pass: over
	// HTTPS, and over the plain-HTTP address clients used before HTTPS
	// was turned on, which redirects there.
	for _, server := range []string{srv.URL, srv.PlainURL} {
		out, err := get("--server", server)
		if err == nil || !strings.Contains(out, "--cacert") || !strings.Contains(out, "--fingerprint") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("get --server %s without trusting the root: %v, %q; want one line naming --cacert and --fingerprint", server, err, out)
		}
	}
	if out, err := get("--cacert", rootFile); err != nil {
		t.Fatalf("get --cacert: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(dir, "app.crt"))
	// Both forms: as serve and openssl print it, and as URLs hold it.
	for _, form := range []string{fp, ca.Fingerprint(root.Raw)} {
		os.Remove(filepath.Join(dir, "app.crt"))
		if out, err := get("--fingerprint", form); err != nil {
			t.Fatalf("get --fingerprint %s: %v\n%s", form, err, out)
		}
	}
	if out, err := get("--fingerprint", strings.Repeat("ab", 32)); err == nil || !strings.Contains(out, "no root with that fingerprint") {
		t.Errorf("get with a wrong fingerprint: %v %s", err, out)
	}
	chain := mustRead(t, filepath.Join(dir, "app.crt"))
	opensslVerify(t, dir, rootPEM, string(chain))

	// OCSP of the server's own certificate, over plain HTTP, by openssl.
	if _, err := exec.LookPath("openssl"); err == nil {
		_, _, inter := srv.Do(t, "GET", "/intermediate.pem", "", "")
		interFile, certFile := filepath.Join(dir, "inter.pem"), filepath.Join(dir, "app.crt")
		os.WriteFile(interFile, []byte(inter), 0o600)
		out, err := exec.Command("openssl", "ocsp", "-issuer", interFile, "-cert", certFile, "-url", srv.PlainURL+"/api/ocsp", "-CAfile", rootFile).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Response verify OK") || !strings.Contains(string(out), ": good") {
			t.Errorf("openssl ocsp over plain HTTP: %v\n%s", err, out)
		}
	}
	srv.Stop(t)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", resp.Request.URL, resp.StatusCode, b.String())
	}
	return b.String()
}
