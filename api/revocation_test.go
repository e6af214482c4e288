package api_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ocspQuery asks the server about leaf by GET (or POST) and parses the
// answer against the issuer, checking its signature.
func (e *env) ocspQuery(t *testing.T, leaf, issuer *x509.Certificate, post bool) *ocsp.Response {
	t.Helper()
	req, err := ocsp.CreateRequest(leaf, issuer, &ocsp.RequestOptions{Hash: 0})
	if err != nil {
		t.Fatal(err)
	}
	var resp *http.Response
	if post {
		resp, err = http.Post(e.srv.URL+"/api/ocsp", "application/ocsp-request", bytes.NewReader(req))
	} else {
		resp, err = http.Get(e.srv.URL + "/api/v1/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(req)))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/ocsp-response" {
		t.Fatalf("OCSP answer %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !post && !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=") {
		t.Errorf("GET answer without max-age: %q", resp.Header.Get("Cache-Control"))
	}
	r, err := ocsp.ParseResponseForCert(body, leaf, issuer)
	if err != nil {
		t.Fatalf("OCSP response does not parse or verify: %v", err)
	}
	return r
}

func (e *env) crl(t *testing.T, path string, issuer *x509.Certificate) *x509.RevocationList {
	t.Helper()
	r := e.do("GET", path, "", "").want(t, 200)
	if ct := r.header.Get("Content-Type"); ct != "application/pkix-crl" {
		t.Fatalf("CRL content type %q", ct)
	}
	crl, err := x509.ParseRevocationList([]byte(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	return crl
}

func listed(crl *x509.RevocationList, serial *big.Int) *x509.RevocationListEntry {
	for i, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(serial) == 0 {
			return &crl.RevokedCertificateEntries[i]
		}
	}
	return nil
}

func TestRevoke(t *testing.T) {
	e := newEnv(t, envOptions{})
	certPath, _ := e.issue("alice", `{"domains":["r.home.lan"]}`)
	revoke := strings.Replace(certPath, "/obtain", "/revoke", 1)
	cases := []struct {
		name, user, body string
		status           int
	}{
		{"OtherUser", "bob", "", 404},
		{"NoToken", "", "", 401},
		{"BadReason", "alice", `{"reason":"boredom"}`, 400},
		{"HoldNotAllowed", "alice", `{"reason":"certificateHold"}`, 400},
		{"MalformedJSON", "alice", `{"reason":`, 400},
		{"ReasonWrongType", "alice", `{"reason":1}`, 400},
		{"Owner", "alice", `{"reason":"keyCompromise"}`, 200},
		{"Again", "alice", ``, 410},
		{"AgainAdmin", "root", ``, 410},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.do("POST", revoke, c.user, c.body).want(t, c.status)
		})
	}
	t.Run("UnknownID", func(t *testing.T) {
		e.do("POST", "/api/certificate/98765432109876543210/revoke", "alice", "").want(t, 404)
		e.do("POST", "/api/certificate/nope/revoke", "alice", "").want(t, 400)
	})
	t.Run("AdminMayRevokeAny", func(t *testing.T) {
		other, _ := e.issue("bob", `{"domains":["b.home.lan"]}`)
		e.do("POST", strings.Replace(other, "/obtain", "/revoke", 1), "root", `{"reason":"superseded"}`).want(t, 200)
	})
	t.Run("Durable", func(t *testing.T) {
		leaf := e.cert("alice", certPath)
		e.restart(envOptions{})
		c, err := e.db.Certificate(leaf.SerialNumber)
		if err != nil || !c.Revoked || c.Reason != ocsp.KeyCompromise {
			t.Errorf("revocation lost across restart: %+v %v", c, err)
		}
	})
}

func TestOCSP(t *testing.T) {
	e := newEnv(t, envOptions{})
	root := e.ca.Active().Cert
	certPath, _ := e.issue("alice", `{"domains":["o.home.lan"]}`)
	leaf := e.cert("alice", certPath)
	if len(leaf.OCSPServer) != 1 || leaf.OCSPServer[0] != "http://ca.test:8880/api/ocsp" {
		t.Errorf("AIA OCSP %v", leaf.OCSPServer)
	}
	for _, post := range []bool{false, true} {
		r := e.ocspQuery(t, leaf, root, post)
		if r.Status != ocsp.Good || r.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
			t.Errorf("post=%v: status %d, want good", post, r.Status)
		}
		if !r.NextUpdate.After(time.Now()) || r.ThisUpdate.After(time.Now()) {
			t.Errorf("times %v..%v", r.ThisUpdate, r.NextUpdate)
		}
	}
	e.do("POST", strings.Replace(certPath, "/obtain", "/revoke", 1), "alice", `{"reason":"keyCompromise"}`).want(t, 200)
	for _, post := range []bool{false, true} {
		r := e.ocspQuery(t, leaf, root, post)
		if r.Status != ocsp.Revoked || r.RevocationReason != ocsp.KeyCompromise {
			t.Errorf("post=%v after revoke: status %d reason %d", post, r.Status, r.RevocationReason)
		}
		if d := time.Since(r.RevokedAt); d < 0 || d > time.Minute {
			t.Errorf("revoked at %v", r.RevokedAt)
		}
	}
	t.Run("Unknown", func(t *testing.T) {
		fake := *leaf
		fake.SerialNumber = big.NewInt(424242)
		if r := e.ocspQuery(t, &fake, root, false); r.Status != ocsp.Unknown {
			t.Errorf("status %d, want unknown", r.Status)
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		r := e.do("POST", "/api/ocsp", "", "garbage")
		if r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
		if _, err := ocsp.ParseResponse([]byte(r.body), nil); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("garbage answered with %v, want malformedRequest", err)
		}
	})
	t.Run("AcrossRotationAndRestart", func(t *testing.T) {
		oldPath, _ := e.issue("alice", `{"domains":["old.home.lan"]}`)
		old := e.cert("alice", oldPath)
		if _, err := e.ops.RotateRoot(t.Context()); err != nil {
			t.Fatal(err)
		}
		e.restart(envOptions{})
		if r := e.ocspQuery(t, old, root, false); r.Status != ocsp.Good {
			t.Errorf("old root's certificate after rotation: status %d", r.Status)
		}
		if r := e.ocspQuery(t, leaf, root, true); r.Status != ocsp.Revoked {
			t.Errorf("revocation after restart: status %d", r.Status)
		}
		newPath, _ := e.issue("alice", `{"domains":["new.home.lan"]}`)
		if r := e.ocspQuery(t, e.cert("alice", newPath), e.ca.Active().Cert, false); r.Status != ocsp.Good {
			t.Errorf("new root's certificate: status %d", r.Status)
		}
	})
}

func TestCRL(t *testing.T) {
	e := newEnv(t, envOptions{})
	root := e.ca.Active().Cert
	fp := e.ca.Active().Fingerprint
	certPath, _ := e.issue("alice", `{"domains":["c.home.lan"]}`)
	leaf := e.cert("alice", certPath)
	if len(leaf.CRLDistributionPoints) != 1 || leaf.CRLDistributionPoints[0] != "http://ca.test:8880/api/crl/"+fp {
		t.Errorf("CRL DP %v", leaf.CRLDistributionPoints)
	}
	first := e.crl(t, "/api/crl", root)
	if listed(first, leaf.SerialNumber) != nil {
		t.Fatal("good certificate listed")
	}
	again := e.crl(t, "/api/v1/crl/"+fp, root)
	if again.Number.Cmp(first.Number) != 0 {
		t.Errorf("unchanged CRL renumbered: %v then %v", first.Number, again.Number)
	}
	e.do("POST", strings.Replace(certPath, "/obtain", "/revoke", 1), "alice", `{"reason":"superseded"}`).want(t, 200)
	second := e.crl(t, "/api/crl", root)
	entry := listed(second, leaf.SerialNumber)
	if entry == nil || entry.ReasonCode != 4 {
		t.Fatalf("revoked certificate not listed with reason superseded: %+v", entry)
	}
	if second.Number.Cmp(first.Number) <= 0 {
		t.Errorf("CRL number %v did not grow past %v", second.Number, first.Number)
	}
	if !second.NextUpdate.After(second.ThisUpdate) {
		t.Error("nextUpdate not after thisUpdate")
	}

	// After a rotation /api/crl is the new root's, and the old one's stays.
	if _, err := e.ops.RotateRoot(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.restart(envOptions{})
	if newCRL := e.crl(t, "/api/crl", e.ca.Active().Cert); len(newCRL.RevokedCertificateEntries) != 0 {
		t.Error("new root's CRL lists the old root's revocations")
	}
	old := e.crl(t, "/api/crl/"+fp, root)
	if listed(old, leaf.SerialNumber) == nil || old.Number.Cmp(second.Number) <= 0 {
		t.Errorf("old root's CRL after rotation and restart: number %v, listed %v", old.Number, listed(old, leaf.SerialNumber) != nil)
	}
	e.do("GET", "/api/crl/"+strings.Repeat("ab", 32), "", "").want(t, 404)
	e.do("GET", "/api/crl/not-a-fingerprint", "", "").want(t, 404)
}

// TestRevocation_ListedUntilNotAfter: a revoked certificate stays on its
// issuer's CRL and among the store's revocations until its own notAfter,
// also when that is minutes away, and leaves them after it.
func TestRevocation_ListedUntilNotAfter(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	e := newEnv(t, envOptions{clock: clock})
	iss := e.ca.Active()
	certPath, _ := e.issue("alice", `{"domains":["short.home.lan"],"days":1}`)
	leaf := e.cert("alice", certPath)
	revoke := func(path string) {
		t.Helper()
		e.do("POST", strings.Replace(path, "/obtain", "/revoke", 1), "alice", `{"reason":"keyCompromise"}`).want(t, 200)
	}
	inStore := func() bool {
		t.Helper()
		_, list, err := e.db.Revocations(iss.Fingerprint, clock())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range list {
			if r.Serial.Cmp(leaf.SerialNumber) == 0 {
				return true
			}
		}
		return false
	}

	set(leaf.NotAfter.Add(-2 * time.Minute))
	revoke(certPath)
	if listed(e.crl(t, "/api/crl", iss.Cert), leaf.SerialNumber) == nil || !inStore() {
		t.Fatal("a certificate revoked two minutes before its end is not listed")
	}
	// A second before the end, in a CRL built afresh (another revocation).
	set(leaf.NotAfter.Add(-time.Second))
	other, _ := e.issue("alice", `{"domains":["other.home.lan"]}`)
	revoke(other)
	if listed(e.crl(t, "/api/crl", iss.Cert), leaf.SerialNumber) == nil || !inStore() {
		t.Error("a revoked certificate left the CRL before its notAfter")
	}
	// After its end it may go: the CRL's size follows what is still valid.
	set(leaf.NotAfter.Add(time.Second))
	if inStore() {
		t.Error("a revoked certificate is still listed after its notAfter")
	}
}
