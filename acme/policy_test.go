package acme_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"certmaker/admin"
)

func rules(s ...string) *[]string { return &s }

// TestPolicy: an ACME account acts under its user's policy. newOrder
// refuses an identifier outside it (rejectedIdentifier, naming it and
// what the policy allows) before any authorization is made; finalize
// refuses a CSR the policy does not allow (badCSR): one that adds a name,
// one whose key type it does not allow, and one for an order whose names
// the policy no longer allows (the change applies to the next request).
// Inside the policy a certificate is issued, for at most its maximum days.
func TestPolicy(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	days := 10
	if _, err := e.ops.SetPolicy(ctx, "alice", admin.PolicyChange{
		Allow: rules("app.test", "www.app.test", "127.0.0.3"), Deny: rules("www.app.test"),
		MaxDays: &days, KeyTypes: rules("ecdsa-p256"),
	}); err != nil {
		t.Fatal(err)
	}
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")

	p := c.post("/acme/new-order", map[string]any{"identifiers": dns("app.test", "other.test")}, jwsOptions{}).
		wantProblem(t, http.StatusForbidden, "rejectedIdentifier")
	if !strings.Contains(p.Detail, "other.test") || strings.Contains(p.Detail, "refuses app.test") || !strings.Contains(p.Detail, "allows only app.test") {
		t.Errorf("newOrder outside the policy: detail %q", p.Detail)
	}
	p = c.post("/acme/new-order", map[string]any{"identifiers": dns("www.app.test")}, jwsOptions{}).
		wantProblem(t, http.StatusForbidden, "rejectedIdentifier")
	if !strings.Contains(p.Detail, "denied by www.app.test") {
		t.Errorf("newOrder for a denied name: detail %q", p.Detail)
	}
	if n, err := e.db.CountAllCertificates(); err != nil || n != 0 {
		t.Fatalf("%d certificates (%v)", n, err)
	}

	// Inside the policy: issued, for 10 days instead of [acme] days (30).
	_, chain, _ := c.obtain([]identifier{{"dns", "app.test"}, {"ip", "127.0.0.3"}})
	if d := chain[0].NotAfter.Sub(chain[0].NotBefore).Hours() / 24; d != 10 {
		t.Errorf("valid for %v days under a policy of at most 10", d)
	}

	o := c.newOrder(dns("app.test"))
	c.answer(o)
	if st := c.order(o.url).Status; st != "ready" {
		t.Fatalf("order is %s", st)
	}
	addsName, _ := csr(t, "", []string{"app.test", "www.app.test"}, nil)
	c.finalize(o, addsName).wantProblem(t, http.StatusBadRequest, "badCSR")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p = c.finalize(o, csrWithKey(t, rsaKey, "", []string{"app.test"}, nil)).wantProblem(t, http.StatusBadRequest, "badCSR")
	if !strings.Contains(p.Detail, "key type rsa-2048") {
		t.Errorf("a CSR key type outside the policy: detail %q", p.Detail)
	}

	// The policy changes while the order is ready: its finalize meets the
	// new one, and a new order too.
	if _, err := e.ops.SetPolicy(ctx, "alice", admin.PolicyChange{Allow: rules("other.test")}); err != nil {
		t.Fatal(err)
	}
	good, _ := csr(t, "", []string{"app.test"}, nil)
	p = c.finalize(o, good).wantProblem(t, http.StatusBadRequest, "badCSR")
	if !strings.Contains(p.Detail, "refuses app.test") {
		t.Errorf("finalize after the policy changed: detail %q", p.Detail)
	}
	c.post("/acme/new-order", map[string]any{"identifiers": dns("app.test")}, jwsOptions{}).
		wantProblem(t, http.StatusForbidden, "rejectedIdentifier")
	if n, err := e.db.CountAllCertificates(); err != nil || n != 1 {
		t.Errorf("%d certificates after the refusals, want the first one only (%v)", n, err)
	}
	// Bob's account, without a policy, is not bound by alice's.
	b := e.newClient(newECKey(t), jose.ES256)
	b.register("bob")
	b.obtain(dns("www.app.test"))
}
