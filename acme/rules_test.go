package acme_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"certmaker/internal/testlog"
)

// TestOrder_PendingUntilEveryAuthorization: an order of two names stays
// pending while one of them is proven, finalize is orderNotReady until
// then, and the second proof makes it ready.
func TestOrder_PendingUntilEveryAuthorization(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	o := c.newOrder(dns("app.test", "www.app.test"))
	if o.Status != "pending" || len(o.Authorizations) != 2 {
		t.Fatalf("new order %+v", o)
	}
	der, _ := csr(t, "", []string{"app.test", "www.app.test"}, nil)
	answer := func(authz string) {
		t.Helper()
		ch := http01(t, c.authz(authz))
		e.solver.set(ch.Token, c.keyAuthorization(ch.Token))
		var got challengeDoc
		c.post(ch.URL, struct{}{}, jwsOptions{}).want(t, http.StatusOK).json(t, &got)
		if got.Status != "valid" {
			t.Fatalf("challenge %+v", got)
		}
	}
	answer(o.Authorizations[0])
	if got := c.order(o.url); got.Status != "pending" {
		t.Fatalf("order %s with one of two names proven, want pending", got.Status)
	}
	c.finalize(o, der).wantProblem(t, http.StatusForbidden, "orderNotReady")
	answer(o.Authorizations[1])
	if got := c.order(o.url); got.Status != "ready" {
		t.Fatalf("order %s with both names proven, want ready", got.Status)
	}
	var fin orderDoc
	c.finalize(o, der).want(t, http.StatusOK).json(t, &fin)
	if fin.Status != "valid" {
		t.Errorf("finalized %+v", fin)
	}
}

// TestOrder_ReadyStillExpires: an order that became ready turns invalid
// when its time is up, and finalize is refused.
func TestOrder_ReadyStillExpires(t *testing.T) {
	clk := &clock{}
	e := newEnv(t, envOptions{clock: clk})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	o := c.newOrder(dns("app.test"))
	c.answer(o)
	if got := c.order(o.url); got.Status != "ready" {
		t.Fatalf("order %s, want ready", got.Status)
	}
	expires, err := time.Parse(time.RFC3339, o.Expires)
	if err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Until(expires) + time.Minute)
	if got := c.order(o.url); got.Status != "invalid" {
		t.Errorf("order %s after it expired, want invalid", got.Status)
	}
	der, _ := csr(t, "", []string{"app.test"}, nil)
	c.finalize(o, der).wantProblem(t, http.StatusForbidden, "orderNotReady")
	if got := c.order(o.url); got.Status != "invalid" || got.Certificate != "" {
		t.Errorf("order after a refused finalize: %+v", got)
	}
}

// TestOrder_ReusesValidAuthorization: an account that proved a name gets
// the same valid authorization in its next order of the name (ready at
// once, no second fetch), while it is fresh; another account proves it
// for itself.
func TestOrder_ReusesValidAuthorization(t *testing.T) {
	clk := &clock{}
	e := newEnv(t, envOptions{clock: clk})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	first, _, _ := c.obtain(dns("app.test"))
	fetches := e.solver.fetches

	again := c.newOrder(dns("app.test", "www.app.test"))
	if again.Authorizations[0] != first.Authorizations[0] || again.Status != "pending" {
		t.Fatalf("second order %+v, want the first's authorization of app.test", again)
	}
	if az := c.authz(again.Authorizations[0]); az.Status != "valid" {
		t.Errorf("reused authorization %s", az.Status)
	}
	if o := c.newOrder(dns("app.test")); o.Status != "ready" {
		t.Errorf("an order of a proven name: %s, want ready at once", o.Status)
	}
	if e.solver.fetches != fetches {
		t.Errorf("%d fetches for names already proven", e.solver.fetches-fetches)
	}

	bob := e.newClient(newECKey(t), jose.ES256)
	bob.register("alice") // same user, another account
	if o := bob.newOrder(dns("app.test")); o.Status != "pending" || o.Authorizations[0] == first.Authorizations[0] {
		t.Errorf("another account's order %+v reuses the first account's proof", o)
	}

	// Past half an order's lifetime the proof is too old to lend an order
	// its whole lifetime: a new one.
	clk.advance(13 * time.Hour)
	if o := c.newOrder(dns("app.test")); o.Status != "pending" || o.Authorizations[0] == first.Authorizations[0] {
		t.Errorf("an order after 13 hours %+v, want a new authorization", o)
	}
}

// TestFinalize_ConcurrentSignsOnce: finalize sent many times at once signs
// one certificate: one answer is the valid order, the others say it is
// not ready (processing, or valid already), and the audit trail has one
// certificate.issue line.
func TestFinalize_ConcurrentSignsOnce(t *testing.T) {
	log := &testlog.Buffer{}
	e := newEnv(t, envOptions{log: log})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	o := c.newOrder(dns("app.test"))
	c.answer(o)
	der, _ := csr(t, "", []string{"app.test"}, nil)
	payload := []byte(`{"csr":"` + b64(der) + `"}`)
	const n = 8
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = c.sign(o.Finalize, payload, jwsOptions{nonce: e.freshNonce()})
	}
	statuses := make([]int, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Go(func() {
			start.Wait()
			resp, err := http.Post(o.Finalize, "application/jose+json", bytes.NewReader(bodies[i]))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	start.Done()
	wg.Wait()
	slices.Sort(statuses)
	want := append(slices.Repeat([]int{http.StatusOK}, 1), slices.Repeat([]int{http.StatusForbidden}, n-1)...)
	if !slices.Equal(statuses, want) {
		t.Errorf("statuses %v, want one 200 and %d orderNotReady", statuses, n-1)
	}
	if lines := log.Audit(t, "certificate.issue"); len(lines) != 1 || lines[0]["result"] != "ok" {
		t.Errorf("certificate.issue lines %v, want one", lines)
	}
	if got := c.order(o.url); got.Status != "valid" || got.Certificate == "" {
		t.Errorf("order %+v", got)
	}
}

// TestPayload_DuplicateKeys: a payload that names a key twice is refused
// as malformed, as the API refuses such a body, whichever spelling the
// second uses: encoding/json would take the last.
func TestPayload_DuplicateKeys(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	for _, p := range []string{
		`{"identifiers":[{"type":"dns","value":"app.test"}],"identifiers":[{"type":"dns","value":"other.test"}]}`,
		`{"identifiers":[{"type":"dns","value":"app.test"}],"Identifiers":[{"type":"dns","value":"other.test"}]}`,
		`{"identifiers":[{"type":"dns","value":"app.test","value":"other.test"}]}`,
	} {
		c.post("/acme/new-order", []byte(p), jwsOptions{}).wantProblem(t, http.StatusBadRequest, "malformed")
	}
	o := c.newOrder(dns("app.test"))
	c.answer(o)
	der, _ := csr(t, "", []string{"app.test"}, nil)
	c.post(o.Finalize, []byte(`{"csr":"`+b64(der)+`","csr":"`+b64(der)+`"}`), jwsOptions{}).wantProblem(t, http.StatusBadRequest, "malformed")
	if got := c.order(o.url); got.Status != "ready" {
		t.Errorf("order %s after a refused finalize", got.Status)
	}
}

// TestAudit_EveryStateChange: each ACME state change writes one audit line
// through the core, with the account and its user, whichever object it
// changes.
func TestAudit_EveryStateChange(t *testing.T) {
	log := &testlog.Buffer{}
	e := newEnv(t, envOptions{log: log})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	c.post(c.kid, map[string]any{"contact": []string{"mailto:ops@example.com"}}, jwsOptions{}).want(t, http.StatusOK)
	o, chain, _ := c.obtain(dns("app.test"))
	c.post("/acme/revoke-cert", map[string]any{"certificate": b64(chain[0].Raw)}, jwsOptions{}).want(t, http.StatusOK)
	other := c.newOrder(dns("www.app.test"))
	c.post(other.Authorizations[0], map[string]string{"status": "deactivated"}, jwsOptions{}).want(t, http.StatusOK)
	newKey := newECKey(t)
	c.keyChange(newKey, c.kid, c.key.Public()).want(t, http.StatusOK)
	c.key = newKey
	c.post(c.kid, map[string]string{"status": "deactivated"}, jwsOptions{}).want(t, http.StatusOK)

	account := c.kid[len(e.url+"/acme/account/"):]
	for action, target := range map[string]string{
		"acme.account.create":     account,
		"acme.account.update":     account,
		"acme.order.create":       "",
		"acme.challenge.validate": o.Authorizations[0][len(e.url+"/acme/authz/"):],
		"certificate.issue":       chain[0].SerialNumber.String(),
		"certificate.revoke":      chain[0].SerialNumber.String(),
		"acme.authz.deactivate":   other.Authorizations[0][len(e.url+"/acme/authz/"):],
		"acme.account.key":        account,
		"acme.account.deactivate": account,
	} {
		lines := log.Audit(t, action)
		want := 1
		if action == "acme.order.create" {
			want = 2
		}
		if len(lines) != want {
			t.Errorf("%s: %d audit lines, want %d", action, len(lines), want)
			continue
		}
		l := lines[0]
		if l["door"] != "acme" || l["actor"] != "alice" || l["account"] != account || l["result"] != "ok" || (target != "" && l["target"] != target) {
			t.Errorf("%s: audit line %v", action, l)
		}
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
