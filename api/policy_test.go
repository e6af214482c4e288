package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"certmaker/admin"
	"certmaker/core"
)

func rules(s ...string) *[]string { return &s }

// TestAPI_Policy: the API holds each user to their policy, for simple
// requests and CSRs alike: a request outside it is 403 with a message
// naming each refused name and what the policy allows, and nothing is
// issued; one inside it is issued; a longer validity is shortened to the
// policy's maximum. With challenges on, the refusal comes before any
// challenge is opened.
func TestAPI_Policy(t *testing.T) {
	for _, challenge := range []bool{false, true} {
		e := newEnv(t, envOptions{challenge: challenge})
		days := 30
		if _, err := e.ops.SetPolicy(context.Background(), "alice", admin.PolicyChange{
			Allow: rules(".home.lan", "192.168.1.0/24"), Deny: rules("vault.home.lan"), MaxDays: &days,
		}); err != nil {
			t.Fatal(err)
		}
		wantRefusal := func(r response, names ...string) {
			t.Helper()
			if r.status != http.StatusForbidden {
				t.Fatalf("challenge %v: status %d, want 403; %q", challenge, r.status, r.body)
			}
			for _, want := range append(names, "allows only .home.lan, 192.168.1.0/24 except vault.home.lan") {
				if !strings.Contains(r.body, want) {
					t.Errorf("challenge %v: %q does not name %q", challenge, r.body, want)
				}
			}
		}
		wantRefusal(e.do("POST", "/api/certificate/request", "alice",
			`{"domains":["nas.home.lan","vault.home.lan","nas.example.com"],"ips":["10.0.0.1","192.168.1.20"]}`),
			"vault.home.lan (denied by vault.home.lan)", "nas.example.com", "10.0.0.1")
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		wantRefusal(e.do("POST", "/api/certificate/request-with-csr", "alice", csrPEM(t, key, "", "nas.home.lan", "vault.home.lan")), "vault.home.lan")
		if n, err := e.db.CountAllCertificates(); err != nil || n != 0 {
			t.Errorf("challenge %v: %d certificates after refusals (%v)", challenge, n, err)
		}
		if pending, _, err := e.app.Core.PendingChallenges(context.Background(), core.Actor{Door: core.DoorAPI, User: "alice"}, 10); err != nil || len(pending) != 0 {
			t.Errorf("challenge %v: %d challenges opened for refused requests (%v)", challenge, len(pending), err)
		}
		// Bob has no policy: the CA's limits only, as before policies.
		if r := e.do("POST", "/api/certificate/request", "bob", `{"domains":["vault.home.lan"]}`); r.status == http.StatusForbidden {
			t.Errorf("challenge %v: bob, without a policy, refused: %q", challenge, r.body)
		}
		if challenge {
			e.do("POST", "/api/certificate/request", "alice", `{"domains":["nas.home.lan"]}`).want(t, http.StatusAccepted)
			continue
		}
		// Wildcards and email addresses: *.home.lan stands for
		// vault.home.lan too, which is denied; an email address needs an
		// email rule once there are allow rules.
		if r := e.do("POST", "/api/certificate/request", "alice", `{"domains":["*.home.lan"]}`); r.status != http.StatusForbidden || !strings.Contains(r.body, "*.home.lan (denied by vault.home.lan)") {
			t.Errorf("a wildcard covering a denied name: %d %q", r.status, r.body)
		}
		e.issue("alice", `{"domains":["*.lab.home.lan"]}`)
		if r := e.do("POST", "/api/certificate/request", "alice", `{"domains":["nas.home.lan"],"email_addresses":["ops@home.lan"]}`); r.status != http.StatusForbidden || !strings.Contains(r.body, "refuses ops@home.lan") {
			t.Errorf("an email address without an email rule: %d %q", r.status, r.body)
		}
		if _, err := e.ops.SetPolicy(context.Background(), "alice", admin.PolicyChange{Allow: rules(".home.lan", "192.168.1.0/24", "@home.lan")}); err != nil {
			t.Fatal(err)
		}
		e.issue("alice", `{"domains":["nas.home.lan"],"email_addresses":["ops@home.lan"]}`)
		if r := e.do("POST", "/api/certificate/request", "alice", `{"domains":["nas.home.lan"],"email_addresses":["ops@mail.home.lan"]}`); r.status != http.StatusForbidden {
			t.Errorf("an email address at another domain: %d %q", r.status, r.body)
		}

		certPath, _ := e.issue("alice", `{"domains":["nas.home.lan"],"ips":["192.168.1.20"],"days":90}`)
		leaf := e.cert("alice", certPath)
		if d := leaf.NotAfter.Sub(leaf.NotBefore).Hours() / 24; d != 30 {
			t.Errorf("90 days asked under a maximum of 30: valid %v days", d)
		}
		r := e.do("POST", "/api/certificate/request-with-csr?days=60", "alice", csrPEM(t, key, "", "nas.home.lan")).want(t, 200)
		leaf = e.cert("alice", e.path(r.header.Get("X-Certificate-Location")))
		if d := leaf.NotAfter.Sub(leaf.NotBefore).Hours() / 24; d != 30 {
			t.Errorf("a CSR for 60 days under a maximum of 30: valid %v days", d)
		}
	}
}

// TestAPI_PolicyChallenge: a user's challenge setting overrides the CA's
// for that user: required opens a challenge (202) where the CA issues at
// once, optional issues at once (200) where the CA asks for a proof.
func TestAPI_PolicyChallenge(t *testing.T) {
	for _, c := range []struct {
		caRequired    bool
		setting       string
		alice, others int
	}{
		{false, "required", http.StatusAccepted, http.StatusOK},
		{true, "optional", http.StatusOK, http.StatusAccepted},
	} {
		e := newEnv(t, envOptions{challenge: c.caRequired})
		if _, err := e.ops.SetPolicy(context.Background(), "alice", admin.PolicyChange{Challenge: &c.setting}); err != nil {
			t.Fatal(err)
		}
		if r := e.do("POST", "/api/certificate/request", "alice", `{"domains":["app.home.lan"]}`); r.status != c.alice {
			t.Errorf("CA required %v, alice %s: %d, want %d", c.caRequired, c.setting, r.status, c.alice)
		}
		if r := e.do("POST", "/api/certificate/request", "bob", `{"domains":["app.home.lan"]}`); r.status != c.others {
			t.Errorf("CA required %v, bob by default: %d, want %d", c.caRequired, r.status, c.others)
		}
	}
}
