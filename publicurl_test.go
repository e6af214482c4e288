package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"certmaker/internal/binarytest"
)

// TestBinary_PublicURLFromListen: serve --listen on a concrete address
// without --public-url hands out URLs of that address, in the Location
// headers, the certificates and the startup lines, not localhost:8880;
// a public URL that misses the listener is warned about in one line.
func TestBinary_PublicURLFromListen(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	want := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(string(binary), "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Dir = dir
	srv := binarytest.StartCmd(t, cmd, want)
	code, hdr, body := srv.Do(t, "POST", "/api/certificate/request", srv.Token, `{"domains":["nas.home.lan"]}`)
	if code != 200 {
		t.Fatalf("request: %d %s", code, body)
	}
	if loc := hdr.Get("X-Certificate-Location"); !strings.HasPrefix(loc, want+"/api/certificate/") {
		t.Errorf("X-Certificate-Location %q, want it under %s", loc, want)
	}
	_, _, chain := srv.Do(t, "GET", "/api/certificate/"+strings.TrimSpace(body)+"/obtain", srv.Token, "")
	if leaf := pemCert(t, chain); len(leaf.OCSPServer) != 1 || leaf.OCSPServer[0] != want+"/api/ocsp" {
		t.Errorf("OCSP URL in the certificate %v, want %s/api/ocsp", leaf.OCSPServer, want)
	}
	if _, _, dirJSON := srv.Do(t, "GET", "/acme/directory", "", ""); !strings.Contains(dirJSON, want+"/acme/new-order") && !strings.Contains(dirJSON, want+"/acme/") {
		t.Errorf("ACME directory names other URLs:\n%s", dirJSON)
	}
	log := srv.Stderr.String()
	if !strings.Contains(log, "public_url="+want) || !strings.Contains(log, "Download: "+want+"/roots.pem") || strings.Contains(log, "localhost:8880") {
		t.Errorf("startup lines do not name %s:\n%s", want, log)
	}
	if strings.Contains(log, "level=WARN") {
		t.Errorf("a derived public URL was warned about:\n%s", log)
	}
	srv.Stop(t)

	// A public URL on another port than the listener's: one warning line.
	dir = t.TempDir()
	port = freePort(t)
	cmd = exec.Command(string(binary), "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--public-url", "http://localhost:8880")
	cmd.Dir = dir
	srv = binarytest.StartCmd(t, cmd, fmt.Sprintf("http://127.0.0.1:%d", port))
	var warns []string
	for _, l := range strings.Split(srv.Stderr.String(), "\n") {
		if strings.Contains(l, "level=WARN") {
			warns = append(warns, l)
		}
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "public_url http://localhost:8880 names port 8880") {
		t.Errorf("want one warning about the public URL's port, got %q", warns)
	}
}
