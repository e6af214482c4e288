package acme_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestOrder_ReusedAuthzDeactivated: an order that reused a valid
// authorization is ready at once; when that authorization is deactivated
// (through either order), the order turns invalid (RFC 8555 7.1.6), as
// read and at finalize, which signs nothing.
func TestOrder_ReusedAuthzDeactivated(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	first := c.newOrder(dns("app.test"))
	c.answer(first)
	reused := c.newOrder(dns("app.test"))
	if reused.Status != "ready" || reused.Authorizations[0] != first.Authorizations[0] {
		t.Fatalf("second order %+v, want ready with the first's authorization", reused)
	}
	c.post(reused.Authorizations[0], map[string]string{"status": "deactivated"}, jwsOptions{}).want(t, http.StatusOK)

	for name, o := range map[string]orderDoc{"the order that made it": first, "the order that reused it": reused} {
		if got := c.order(o.url); got.Status != "invalid" || got.Error == nil {
			t.Errorf("%s after the deactivation: %s (error %+v), want invalid with its reason", name, got.Status, got.Error)
		}
	}
	der, _ := csr(t, "", []string{"app.test"}, nil)
	p := c.finalize(reused, der).wantProblem(t, http.StatusForbidden, "orderNotReady")
	if !strings.Contains(p.Detail, "deactivated") || !strings.Contains(p.Detail, "invalid") || strings.Contains(p.Detail, "not ready") {
		t.Errorf("detail %q, want it to say the order is invalid for a deactivated authorization", p.Detail)
	}
	if got := c.order(reused.url); got.Status != "invalid" || got.Certificate != "" {
		t.Errorf("order after the refused finalize: %+v", got)
	}
}

// TestOrder_ReusedAuthzExpires: an order that reused an authorization
// lives no longer than it, and is refused once it has expired.
func TestOrder_ReusedAuthzExpires(t *testing.T) {
	clk := &clock{}
	e := newEnv(t, envOptions{clock: clk})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	first := c.newOrder(dns("app.test"))
	c.answer(first)
	clk.advance(time.Hour)
	reused := c.newOrder(dns("app.test", "localhost"))
	if reused.Status != "ready" || reused.Authorizations[0] != first.Authorizations[0] {
		t.Fatalf("second order %+v, want ready with the first's authorization", reused)
	}
	var az struct {
		Expires string `json:"expires"`
	}
	c.post(reused.Authorizations[0], nil, jwsOptions{}).want(t, http.StatusOK).json(t, &az)
	azExpires, err := time.Parse(time.RFC3339, az.Expires)
	if err != nil {
		t.Fatal(err)
	}
	orderExpires, err := time.Parse(time.RFC3339, reused.Expires)
	if err != nil {
		t.Fatal(err)
	}
	if orderExpires.After(azExpires) {
		t.Errorf("the order expires %v, after its reused authorization (%v)", orderExpires, azExpires)
	}

	clk.advance(time.Until(azExpires) + time.Minute)
	if got := c.order(reused.url); got.Status != "invalid" {
		t.Errorf("order %s once its authorization expired, want invalid", got.Status)
	}
	der, _ := csr(t, "", []string{"app.test", "localhost"}, nil)
	c.finalize(reused, der).wantProblem(t, http.StatusForbidden, "orderNotReady")
	// An expired authorization is final: it is not deactivated (nor
	// written again: the sweep deletes it and its order).
	c.post(reused.Authorizations[0], map[string]string{"status": "deactivated"}, jwsOptions{}).wantProblem(t, http.StatusBadRequest, "malformed")
}
