package ca_test

import (
	"crypto"
	"crypto/x509"
	"testing"
	"time"

	"certmaker/ca"
)

// testNow is the fixed clock of most tests: a whole second, in UTC, so that
// NotBefore can be compared exactly.
var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// testURL is the public URL the test authorities put into certificates.
const testURL = "http://ca.example.com:8880"

// mustRoot makes a ten-year two-tier root of key type kt valid from now.
func mustRoot(t testing.TB, kt ca.KeyType, now time.Time) *ca.Issuer {
	t.Helper()
	r, err := ca.NewRoot(ca.RootConfig{
		KeyType:      kt,
		Days:         3650,
		CommonName:   "certmaker Test Root",
		Organization: "certmaker tests",
		Country:      "DE",
	}, now)
	if err != nil {
		t.Fatalf("NewRoot(%s): %v", kt, err)
	}
	return r
}

// mustIssuer makes an intermediate of key type kt, valid from now for three
// years, under a new root of the same type: what signs leaves.
func mustIssuer(t testing.TB, kt ca.KeyType, now time.Time) *ca.Issuer {
	t.Helper()
	i, err := ca.NewIntermediate(mustRoot(t, kt, now), ca.RootConfig{
		KeyType:          kt,
		IntermediateDays: 1095,
		IntermediateName: "certmaker Test Intermediate",
		Organization:     "certmaker tests",
		Country:          "DE",
	}, testURL, now)
	if err != nil {
		t.Fatalf("NewIntermediate(%s): %v", kt, err)
	}
	return i
}

// mustAuthority returns an authority with the default bounds (7 days, 1..182)
// whose clock always reads now, and, unless root is nil, root (and its
// parent) with root as its active issuer.
func mustAuthority(t testing.TB, now time.Time, root *ca.Issuer) *ca.Authority {
	t.Helper()
	a, err := ca.New(ca.Config{
		PublicURL:   testURL,
		DefaultDays: 7,
		MinDays:     1,
		MaxDays:     182,
		Now:         func() time.Time { return now },
	})
	if err != nil {
		t.Fatalf("ca.New: %v", err)
	}
	if root != nil {
		add(a, root, true)
	}
	return a
}

// mustKey generates a private key of type kt.
func mustKey(t testing.TB, kt ca.KeyType) crypto.Signer {
	t.Helper()
	k, err := ca.GenerateKey(kt)
	if err != nil {
		t.Fatalf("GenerateKey(%s): %v", kt, err)
	}
	return k
}

// mustNormalize normalizes req and fails the test if it is refused.
func mustNormalize(t testing.TB, req *ca.Request) *ca.Request {
	t.Helper()
	if err := req.Normalize(); err != nil {
		t.Fatalf("Normalize(%+v): %v", req, err)
	}
	return req
}

// mustSign signs req (normalizing it first) for pub.
func mustSign(t testing.TB, a *ca.Authority, req *ca.Request, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	mustNormalize(t, req)
	iss, err := a.Sign(req, pub)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return parsed(t, iss)
}

// parsed parses an issued leaf, checking that Issued describes it.
func parsed(t testing.TB, iss *ca.Issued) *x509.Certificate {
	t.Helper()
	c, err := iss.Parse()
	if err != nil {
		t.Fatalf("parsing the issued leaf: %v", err)
	}
	if c.SerialNumber.Cmp(iss.Serial) != 0 || !c.NotBefore.Equal(iss.NotBefore) || !c.NotAfter.Equal(iss.NotAfter) {
		t.Fatalf("Issued says serial %s, %s-%s; the leaf says %s, %s-%s", iss.Serial, iss.NotBefore, iss.NotAfter, c.SerialNumber, c.NotBefore, c.NotAfter)
	}
	return c
}

// add makes iss, and the root above it, known to a.
func add(a *ca.Authority, iss *ca.Issuer, active bool) {
	if iss.Parent != nil {
		a.Add(iss.Parent, false)
	}
	a.Add(iss, active)
}
