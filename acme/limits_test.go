package acme_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
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
