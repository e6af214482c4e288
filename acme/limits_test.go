package acme_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"certmaker/ca"
)

// manyNames returns n distinct short DNS names: aaa, aab, ...
func manyNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string([]byte{'a' + byte(i/676%26), 'a' + byte(i/26%26), 'a' + byte(i%26)})
	}
	return out
}

// TestFinalize_ManyNames: a CSR with thousands of names (as many as fit
// in a request) is refused with badCSR for the count, and the answer does
// not list them back.
func TestFinalize_ManyNames(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	o := c.newOrder(dns("app.test"))
	c.answer(o)
	der, _ := csr(t, "", append([]string{"app.test"}, manyNames(6500)...), nil)
	if len(der) > 36<<10 {
		t.Fatalf("CSR of %d bytes would not fit in a request", len(der))
	}
	r := c.finalize(o, der)
	p := r.wantProblem(t, http.StatusBadRequest, "badCSR")
	if !strings.Contains(p.Detail, "at most 100") {
		t.Errorf("detail %.300q does not name the limit", p.Detail)
	}
	if len(r.body) > 2048 {
		t.Errorf("answer of %d bytes for a refused CSR", len(r.body))
	}
	// The order is still ready for a proper CSR.
	good, _ := csr(t, "", []string{"app.test"}, nil)
	c.finalize(o, good).want(t, http.StatusOK)
}

// TestNewOrder_ManyIdentifiers: over the limit is refused at once, and
// the answer does not list them back.
func TestNewOrder_ManyIdentifiers(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	for _, n := range []int{101, 1500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c.t = t
			r := c.post("/acme/new-order", map[string]any{"identifiers": dns(manyNames(n)...)}, jwsOptions{})
			p := r.wantProblem(t, http.StatusBadRequest, "rejectedIdentifier")
			if !strings.Contains(p.Detail, "at most 100") || len(r.body) > 2048 {
				t.Errorf("%d bytes, detail %.300q", len(r.body), p.Detail)
			}
		})
	}
	// 100 names, the same one 100 times: fine.
	c.t = t
	same := make([]string, 100)
	for i := range same {
		same[i] = "app.test"
	}
	if o := c.newOrder(dns(same...)); len(o.Identifiers) != 1 {
		t.Errorf("identifiers %v", o.Identifiers)
	}
}

// TestNewOrder_NameConstraints: with a root constrained to some names,
// an order for any other is refused at newOrder with rejectedIdentifier,
// and no authorization is made for it.
func TestNewOrder_NameConstraints(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.rotateTo(ca.NameConstraints{
		PermittedDNSDomains: []string{"app.test"},
		PermittedIPRanges:   []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	if !e.root().PermittedDNSDomainsCritical {
		t.Fatal("the active root has no name constraints")
	}
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	for name, ids := range map[string][]identifier{
		"DNS":          dns("other.test"),
		"IP":           {{"ip", "10.1.2.3"}},
		"OneOfTwo":     dns("app.test", "www.bank.example"),
		"SuffixNotDot": dns("evilapp.test"),
	} {
		t.Run(name, func(t *testing.T) {
			c.t = t
			p := c.post("/acme/new-order", map[string]any{"identifiers": ids}, jwsOptions{}).
				wantProblem(t, http.StatusBadRequest, "rejectedIdentifier")
			if !strings.Contains(p.Detail, "permitted") {
				t.Errorf("detail %q", p.Detail)
			}
		})
	}
	c.t = t
	e.close()
	counts, _ := records(t, e.dbPath)
	if counts["acme_authzs"] != 0 || counts["acme_orders"] != 0 {
		t.Errorf("refused orders left %d orders and %d authorizations", counts["acme_orders"], counts["acme_authzs"])
	}
	e.open()
	// Inside the constraints, orders go through.
	c.nonce = ""
	c.obtain([]identifier{{"dns", "www.app.test"}, {"ip", "127.0.0.3"}})
}
