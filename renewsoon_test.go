package main

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestBinary_RenewSoon: `certmaker cert renew-soon --root FP` pulls the
// renewal window (RFC 9773) of every certificate under the root forward,
// through the socket of a running server (with an audit line in its log)
// and on the file with no server, and the window survives a restart.
func TestBinary_RenewSoon(t *testing.T) {
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	alice := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	_, file := issueTo(t, srv, alice, dir, "nas.home.lan")
	leaf, err := x509.ParseCertificate(pemBytes(t, mustRead(t, file)))
	if err != nil {
		t.Fatal(err)
	}
	serial := leaf.SerialNumber.Bytes()
	if serial[0]&0x80 != 0 {
		serial = append([]byte{0}, serial...)
	}
	certID := base64.RawURLEncoding.EncodeToString(leaf.AuthorityKeyId) + "." + base64.RawURLEncoding.EncodeToString(serial)
	window := func(srv *server) (time.Time, time.Time) {
		t.Helper()
		code, hdr, body := srv.Do(t, "GET", "/acme/renewal-info/"+certID, "", "")
		var doc struct {
			W struct{ Start, End time.Time } `json:"suggestedWindow"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &doc) != nil || hdr.Get("Retry-After") == "" {
			t.Fatalf("renewal info: %d %q", code, body)
		}
		return doc.W.Start, doc.W.End
	}
	if start, _ := window(srv); !start.After(time.Now().Add(24 * time.Hour)) {
		t.Fatalf("a fresh 7-day certificate's window starts at %s", start)
	}
	fp := strings.TrimSpace(binary.Must(t, dir, "root", "fingerprint"))
	out := binary.Must(t, dir, "cert", "renew-soon", "--root", fp[:23], "--within", "30m")
	if !strings.Contains(out, fp) || !strings.Contains(out, "renewal window") {
		t.Errorf("renew-soon printed %q", out)
	}
	start, end := window(srv)
	if start.After(time.Now()) || end.Sub(start) != 30*time.Minute {
		t.Errorf("the pulled window is %s..%s", start, end)
	}
	if log := srv.Stderr.String(); !strings.Contains(log, "certificate.renew_soon") || !strings.Contains(log, "msg=audit") {
		t.Errorf("no audit line for renew-soon:\n%s", log)
	}
	if _, stderr, err := binary.Run(t, dir, "cert", "renew-soon", "--root", "00112233445566778899"); err == nil || !strings.Contains(stderr, "no root or intermediate") {
		t.Errorf("an unknown fingerprint: %v %q", err, stderr)
	}

	srv.Stop(t)
	binary.Must(t, dir, "cert", "renew-soon", "--root", fp, "--within", "2h")
	srv = binary.Start(t, dir)
	if start, end := window(srv); end.Sub(start) != 2*time.Hour {
		t.Errorf("after renew-soon on the file and a restart: %s..%s", start, end)
	}
}
