package acme_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"certmaker/admin"
	"certmaker/config"
	"certmaker/internal/testlog"
)

// TestNewOrder_UnboundExemptNames: localhost, 127.0.0.1 and ::1 need no
// proof, so an account without a binding (which anyone can make with
// require_eab = false) may not order them: it would get certificates
// for nothing. An account bound to the user may, and so may an unbound
// one once the default user's policy allows such a name by an allow rule.
func TestNewOrder_UnboundExemptNames(t *testing.T) {
	e := newEnv(t, envOptions{noEAB: true, defaultUser: "bob"})
	stranger := e.newClient(newECKey(t), jose.ES256)
	stranger.registerUnbound()
	for _, ids := range [][]identifier{dns("localhost"), {{"ip", "127.0.0.1"}}, {{"ip", "::1"}}, append(dns("app.test"), identifier{"dns", "LOCALHOST"})} {
		t.Run(ids[len(ids)-1].Value, func(t *testing.T) {
			stranger.t = t
			p := stranger.post("/acme/new-order", map[string]any{"identifiers": ids}, jwsOptions{}).
				wantProblem(t, http.StatusBadRequest, "rejectedIdentifier")
			if !strings.Contains(p.Detail, "External Account Binding") || strings.Contains(p.Detail, "bob") {
				t.Errorf("detail %q", p.Detail)
			}
		})
	}
	stranger.t = t
	bound := e.newClient(newECKey(t), jose.ES256)
	bound.register("bob")
	if o := bound.newOrder(dns("localhost")); o.Status != "ready" {
		t.Errorf("a bound account's order for localhost is %s, want ready", o.Status)
	}
	if _, err := e.ops.SetPolicy(t.Context(), "bob", admin.PolicyChange{Allow: &[]string{"localhost", "app.test"}}); err != nil {
		t.Fatal(err)
	}
	if o := stranger.newOrder(dns("localhost")); o.Status != "ready" {
		t.Errorf("with localhost allowed by the policy the order is %s, want ready", o.Status)
	}
	// The policy allows no address: refused by it, as for a bound account.
	stranger.post("/acme/new-order", map[string]any{"identifiers": []identifier{{"ip", "127.0.0.1"}}}, jwsOptions{}).
		wantProblem(t, http.StatusForbidden, "rejectedIdentifier")
}

// TestUnbound_DefaultUserUnsaid: an account without a binding acts for
// the default user, and anyone may make one; so nothing it is told names
// that user or says what the user's policy allows: a refusal names only
// the refused identifiers. A bound account is told all.
func TestUnbound_DefaultUserUnsaid(t *testing.T) {
	e := newEnv(t, envOptions{noEAB: true, defaultUser: "bob"})
	if _, err := e.ops.SetPolicy(t.Context(), "bob", admin.PolicyChange{Allow: &[]string{"nas.home.lan", "app.test"}, Deny: &[]string{"vault.home.lan"}}); err != nil {
		t.Fatal(err)
	}
	stranger := e.newClient(newECKey(t), jose.ES256)
	r := stranger.post("/acme/new-account", map[string]any{"termsOfServiceAgreed": true}, jwsOptions{embedJWK: true}).want(t, http.StatusCreated)
	stranger.kid = r.header.Get("Location")
	bound := e.newClient(newECKey(t), jose.ES256)
	bound.register("bob")
	for _, c := range []*client{stranger, bound} {
		unbound := c == stranger
		acct := c.post(c.kid, nil, jwsOptions{}).want(t, http.StatusOK)
		if strings.Contains(string(acct.body), "bob") == unbound {
			t.Errorf("account (unbound %v): %s", unbound, acct.body)
		}
		for _, name := range []string{"vault.home.lan", "other.test"} {
			p := c.post("/acme/new-order", map[string]any{"identifiers": dns(name)}, jwsOptions{}).
				wantProblem(t, http.StatusForbidden, "rejectedIdentifier")
			told := strings.Contains(p.Detail, "bob") || strings.Contains(p.Detail, "nas.home.lan") || strings.Contains(p.Detail, "denied by")
			if !strings.Contains(p.Detail, name) || told == unbound {
				t.Errorf("refusal (unbound %v): %q", unbound, p.Detail)
			}
		}
	}
	if err := e.ops.SetDisabled(t.Context(), "bob", true); err != nil {
		t.Fatal(err)
	}
	p := stranger.post("/acme/new-order", map[string]any{"identifiers": dns("app.test")}, jwsOptions{}).wantProblem(t, http.StatusForbidden, "unauthorized")
	if strings.Contains(p.Detail, "bob") {
		t.Errorf("refusal while the default user is disabled: %q", p.Detail)
	}
}

// TestUnbound_CertificateCap: accounts without a binding get at most
// [acme] max_unbound_certificates certificates in all, for good (they are
// kept: the CA's record): past it newOrder is rateLimited with
// Retry-After, and so is the finalize of an order made before; that
// order stays ready. One warning is logged however many are refused;
// accounts with a binding are not held back.
func TestUnbound_CertificateCap(t *testing.T) {
	logs := &testlog.Buffer{}
	e := newEnv(t, envOptions{noEAB: true, defaultUser: "bob", log: logs,
		configure: func(c *config.Config) { c.ACME.MaxUnboundCertificates = 2 }})
	a := e.newClient(newECKey(t), jose.ES256)
	a.registerUnbound()
	b := e.newClient(newECKey(t), jose.ES256)
	b.registerUnbound()
	a.obtain(dns("app.test"))
	waiting := b.newOrder(dns("www.app.test"))
	b.answer(waiting)
	b.obtain(dns("other.test"))

	for _, c := range []*client{a, b} {
		r := c.post("/acme/new-order", map[string]any{"identifiers": dns("app.test")}, jwsOptions{})
		p := r.wantProblem(t, http.StatusTooManyRequests, "rateLimited")
		if !strings.Contains(p.Detail, "max_unbound_certificates") {
			t.Errorf("detail %q does not name the setting", p.Detail)
		}
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
		}
	}
	der, _ := csr(t, "", []string{"www.app.test"}, nil)
	r := b.finalize(waiting, der)
	r.wantProblem(t, http.StatusTooManyRequests, "rateLimited")
	if r.header.Get("Retry-After") == "" {
		t.Error("finalize past the cap: no Retry-After")
	}
	if o := b.order(waiting.url); o.Status != "ready" {
		t.Errorf("the order refused at finalize is %s, want ready", o.Status)
	}
	if n := len(logs.Messages(t, "ACME certificates of accounts without a binding reached [acme] max_unbound_certificates: their orders are refused (raise it, or hand out EAB keys with `certmaker user acme-eab`)")); n != 1 {
		t.Errorf("%d warnings logged for the cap, want 1", n)
	}
	bound := e.newClient(newECKey(t), jose.ES256)
	bound.register("bob")
	bound.obtain(dns("app.test"))
	if n, _ := e.db.CountUnboundACMECertificates(); n != 2 {
		t.Errorf("%d certificates counted for accounts without a binding, want 2", n)
	}
}

// TestSweep_Unbound: what an account without a binding leaves goes: its
// finalized order once the certificate has expired (the certificate
// stays, in the CA's record), and the account once nothing of it has
// lasted for 7 days, so that strangers cannot hold max_unbound_accounts
// for good; until then a new account past the cap is refused with
// Retry-After.
func TestSweep_Unbound(t *testing.T) {
	clk := &clock{}
	e := newEnv(t, envOptions{noEAB: true, defaultUser: "bob", clock: clk,
		configure: func(c *config.Config) { c.ACME.MaxUnboundAccounts = 2 }})
	a := e.newClient(newECKey(t), jose.ES256)
	a.registerUnbound()
	done, chain, _ := a.obtain(dns("app.test"))
	idle := e.newClient(newECKey(t), jose.ES256)
	idle.registerUnbound()
	late := e.newClient(newECKey(t), jose.ES256)
	r := late.postFrom("127.0.0.2", "/acme/new-account", map[string]any{"termsOfServiceAgreed": true}, jwsOptions{embedJWK: true})
	r.wantProblem(t, http.StatusTooManyRequests, "rateLimited")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("the cap's Retry-After %q", r.header.Get("Retry-After"))
	}

	// Eight days on, the idle account goes; the one holding a
	// certificate stays, and its certificate downloads.
	clk.advance(8 * 24 * time.Hour)
	if _, err := e.app.Core.SweepACME(t.Context()); err != nil {
		t.Fatal(err)
	}
	idle.post(idle.kid, nil, jwsOptions{}).wantProblem(t, http.StatusBadRequest, "accountDoesNotExist")
	if got := a.download(done.Certificate); got[0].SerialNumber.Cmp(chain[0].SerialNumber) != 0 {
		t.Error("the certificate of a kept account is gone")
	}
	late.postFrom("127.0.0.2", "/acme/new-account", map[string]any{"termsOfServiceAgreed": true}, jwsOptions{embedJWK: true}).want(t, http.StatusCreated)

	// Past the certificate's end and 7 days more, its order and the
	// account go too; the certificate stays.
	clk.advance(30 * 24 * time.Hour)
	if _, err := e.app.Core.SweepACME(t.Context()); err != nil {
		t.Fatal(err)
	}
	a.post(a.kid, nil, jwsOptions{}).wantProblem(t, http.StatusBadRequest, "accountDoesNotExist")
	if _, err := e.db.Certificate(chain[0].SerialNumber); err != nil {
		t.Errorf("the certificate of a swept order: %v", err)
	}
	if n, _ := e.db.CountUnboundACMEAccounts(); n != 0 {
		t.Errorf("%d accounts without a binding left, want none (the late one never ordered)", n)
	}
	e.close()
	if counts, _ := records(t, e.dbPath); counts["acme_orders"] != 0 || counts["acme_authzs"] != 0 || counts["acme_accounts"] != 0 || counts["acme_certs"] != 0 {
		t.Errorf("left %v", fmt.Sprint(counts))
	}
}
