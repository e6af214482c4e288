package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"certmaker/ca"
	"certmaker/internal/dnstest"
)

type dnsAnswer struct {
	Token    string `json:"token"`
	Location string `json:"challenge_location"`
	DNS      []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"dns"`
}

// TestChallenge_DNSProof: a request may prove its names with DNS instead
// of HTTP, wildcards included: the 202 answer is JSON with the token, the
// solve URL (also in X-Challenge-Location) and the TXT records to
// publish; the solve looks them up.
func TestChallenge_DNSProof(t *testing.T) {
	srv := dnstest.Serve(t, "127.0.0.2")
	e := newEnv(t, envOptions{challenge: true, dns: srv.Addr})
	r := e.do("POST", "/api/v1/certificate/request", "alice", `{"domains":["*.wild.test","wild.test"],"challenge":"dns"}`).want(t, 202)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	var a dnsAnswer
	if err := json.Unmarshal([]byte(r.body), &a); err != nil {
		t.Fatal(err)
	}
	if a.Location != r.header.Get("X-Challenge-Location") || !strings.HasPrefix(a.Location, "http://ca.test:8880/api/v1/challenge/") || a.Token == "" {
		t.Fatalf("answer %+v, header %q", a, r.header.Get("X-Challenge-Location"))
	}
	if len(a.DNS) != 1 || a.DNS[0].Name != "_acme-challenge.wild.test" || a.DNS[0].Value != a.Token {
		t.Fatalf("records %+v", a.DNS)
	}
	solve := e.path(a.Location)

	// Not published yet: 417 naming the record; then a wrong value.
	r = e.do("GET", solve, "alice", "").want(t, 417)
	if !strings.Contains(r.body, "no TXT record at _acme-challenge.wild.test") {
		t.Errorf("417 body %q", r.body)
	}
	srv.TXT("_acme-challenge.wild.test", "SOMETHING-ELSE")
	r = e.do("GET", solve, "alice", "").want(t, 417)
	if !strings.Contains(r.body, "wrong TXT value") || strings.Contains(r.body, "SOMETHING-ELSE") {
		t.Errorf("417 body %q", r.body)
	}

	srv.TXT("_acme-challenge.wild.test", a.Token)
	r = e.do("GET", solve, "alice", "").want(t, 200)
	leaf := e.cert("alice", e.path(r.header.Get("X-Certificate-Location")))
	if !slices.Equal(leaf.DNSNames, []string{"*.wild.test", "wild.test"}) {
		t.Errorf("names %v", leaf.DNSNames)
	}
	if r.header.Get("X-Privatekey-Location") == "" {
		t.Error("no key location for a simple request")
	}
	// Solving again: the same answer.
	if again := e.do("GET", solve, "alice", "").want(t, 200); again.header.Get("X-Certificate-Location") != r.header.Get("X-Certificate-Location") {
		t.Error("a second solve answered differently")
	}

	// A CSR asks with ?challenge=dns.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"*.lab.wild.test"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	r = e.do("POST", "/api/certificate/request-with-csr?challenge=dns&days=3", "alice", string(ca.CSRPEM(der))).want(t, 202)
	var c dnsAnswer
	if err := json.Unmarshal([]byte(r.body), &c); err != nil || len(c.DNS) != 1 || c.DNS[0].Name != "_acme-challenge.lab.wild.test" {
		t.Fatalf("CSR answer %q (%v)", r.body, err)
	}
	srv.TXT("_acme-challenge.lab.wild.test", c.Token)
	r = e.do("POST", e.path(c.Location), "alice", "").want(t, 200)
	if r.header.Get("X-Privatekey-Location") != "" {
		t.Error("a key location for a CSR")
	}
}

// TestChallenge_DNSProof_Refused: what a DNS proof cannot do, and a proof
// nobody offers, are 400 before any challenge is stored.
func TestChallenge_DNSProof_Refused(t *testing.T) {
	e := newEnv(t, envOptions{challenge: true})
	for _, body := range []string{
		`{"domains":["nas.test"],"ips":["192.0.2.1"],"challenge":"dns"}`,
		`{"domains":["nas.test"],"challenge":"carrier-pigeon"}`,
		`{"domains":["nas.test"],"challenge":5}`,
		`{"domains":["*.nas.test"],"challenge":"http"}`,
		`{"domains":["*.nas.test"]}`,
	} {
		e.do("POST", "/api/certificate/request", "alice", body).want(t, 400)
	}
	e.do("POST", "/api/certificate/request-with-csr?challenge=smoke", "alice", "").want(t, 400)
	if n, err := e.db.DeleteChallengesExpiredBefore(time.Now().Add(24 * time.Hour)); err != nil || n != 0 {
		t.Errorf("%d challenges stored (%v)", n, err)
	}
}

// TestChallenge_DNSProof_ChallengesOff: with challenges off nothing is
// proven, whatever the request asks for: issued at once.
func TestChallenge_DNSProof_ChallengesOff(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.do("POST", "/api/certificate/request", "alice", `{"domains":["*.wild.test"],"challenge":"dns"}`).want(t, 200)
}
