package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// TestOCSP_StatusRead: the responder reads a certificate's status through
// the store's status-only read, and a revocation is in the very next
// answer, cached signature or not.
func TestOCSP_StatusRead(t *testing.T) {
	e := newLogEnv(t, slog.LevelInfo)
	ask := func() *ocsp.Response {
		t.Helper()
		resp, err := http.Get(e.srv.URL + e.ocsp)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ocsp.ParseResponseForCert(body, e.leaf, e.root.Cert)
		if err != nil {
			t.Fatalf("OCSP answer does not parse or verify: %v", err)
		}
		return r
	}
	for range 3 { // the first signs, the others come from the cache
		if r := ask(); r.Status != ocsp.Good {
			t.Fatalf("status %d, want good", r.Status)
		}
	}
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	if _, err := e.db.Revoke(e.leaf.SerialNumber, at, ocsp.KeyCompromise); err != nil {
		t.Fatal(err)
	}
	r := ask()
	if r.Status != ocsp.Revoked || r.RevocationReason != ocsp.KeyCompromise || !r.RevokedAt.Equal(at) {
		t.Errorf("after revoking: status %d reason %d at %v, want revoked, keyCompromise, %v", r.Status, r.RevocationReason, r.RevokedAt, at)
	}
}
