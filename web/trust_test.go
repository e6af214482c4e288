package web_test

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
)

func TestTrust_Public(t *testing.T) {
	e := newEnv(t)
	b := e.browser() // never signed in

	page := b.get("/trust")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Trust this CA") || !strings.Contains(page.body, "web test root") {
		t.Fatalf("/trust: %d\n%.300s", page.status, page.body)
	}
	if !strings.Contains(page.body, `src="/trust/qr.png"`) {
		t.Error("the page shows no QR code")
	}

	pemAns := b.get("/trust/root.pem")
	blk, _ := pem.Decode([]byte(pemAns.body))
	if pemAns.status != 200 || blk == nil {
		t.Fatalf("root.pem: %d %q", pemAns.status, pemAns.body)
	}
	der := b.get("/trust/root.crt")
	if der.status != 200 || der.body != string(blk.Bytes) || der.header.Get("Content-Type") != "application/x-x509-ca-cert" {
		t.Errorf("root.crt: %d %s, or not the PEM's DER", der.status, der.header.Get("Content-Type"))
	}
	root, err := x509.ParseCertificate(blk.Bytes)
	if err != nil || !root.IsCA {
		t.Fatalf("the root download is not a CA certificate: %v", err)
	}
	fp := strings.ToLower(strings.ReplaceAll(fingerprintOf(page.body), ":", ""))
	if byFP := b.get("/trust/" + fp + "/root.pem"); byFP.status != 200 || byFP.body != pemAns.body {
		t.Errorf("/trust/<fingerprint>/root.pem: %d", byFP.status)
	}
	if byFP := b.get("/trust/" + strings.ToUpper(fp) + "/root.crt"); byFP.status != 200 {
		t.Errorf("an upper-case fingerprint: %d", byFP.status)
	}
	for _, path := range []string{"/trust/abc/root.pem", "/trust/" + strings.Repeat("0", 64) + "/certmaker.mobileconfig", "/trust/root.der"} {
		if a := b.get(path); a.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, a.status)
		}
	}
	if qr := b.get("/trust/qr.png"); qr.status != 200 || !strings.HasPrefix(qr.body, "\x89PNG") {
		t.Errorf("qr.png: %d", qr.status)
	}
	prof := b.get("/trust/certmaker.mobileconfig")
	if prof.status != 200 || !strings.Contains(prof.body, "<string>com.apple.security.root</string>") ||
		!strings.Contains(prof.header.Get("Content-Disposition"), `filename="certmaker.mobileconfig"`) {
		t.Errorf("mobileconfig: %d %v", prof.status, prof.header)
	}
}

// fingerprintOf finds the active root's fingerprint as the page shows it.
func fingerprintOf(body string) string {
	_, rest, _ := strings.Cut(body, `class="mono fingerprint">`)
	fp, _, _ := strings.Cut(rest, "<")
	return fp
}

func TestList_ExpiresFilter(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"expires_from=2026-05-04", 200},
		{"expires_from=2026-05-04&expires_to=2026-05-11", 200},
		{"expires_to=2026-05-11&status=valid", 200},
		{"expires_from=tomorrow", 400},
		{"expires_to=2026-13-01", 400},
		{"expires_from=2026-05-11&expires_to=2026-05-04", 400},
	} {
		if a := b.get("/certificates?" + tc.query); a.status != tc.want {
			t.Errorf("%s: %d, want %d", tc.query, a.status, tc.want)
		}
	}
}

// TestTrust_RevokedIntermediate: once an intermediate is revoked, the
// public trust page lists it under its root, and the admin status page
// shows it revoked among the intermediates.
func TestTrust_RevokedIntermediate(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	st, err := e.ops.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old, ok := st.ActiveIntermediate()
	if !ok {
		t.Fatal("no active intermediate")
	}
	if _, err := e.ops.RotateIntermediate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if page := e.browser().get("/trust"); strings.Contains(page.body, old.Fingerprint) {
		t.Fatal("the trust page names a retired intermediate that is not revoked")
	}
	if _, err := e.ops.RevokeIntermediate(ctx, old.Fingerprint, "keyCompromise", nil); err != nil {
		t.Fatal(err)
	}
	page := e.browser().get("/trust")
	if page.status != 200 || !strings.Contains(page.body, old.Fingerprint) || !strings.Contains(page.body, "Revoked") || !strings.Contains(page.body, "keyCompromise") {
		t.Errorf("the trust page does not show the revoked intermediate:\n%s", page.body)
	}
	b := e.browser()
	b.signIn("root")
	status := b.get("/admin")
	i := strings.Index(status.body, old.Fingerprint)
	if i < 0 || !strings.Contains(status.body[i:min(len(status.body), i+600)], "Revoked") {
		t.Errorf("the status page does not show the intermediate revoked:\n%s", status.body)
	}
}
