package acme

import (
	"net/http"
	"strings"
	"testing"

	"certmaker/core"
	"certmaker/storage"
)

// TestProblems_EveryKind: ACME's table names every kind the core has with
// a problem type and status, for an answer and for what an order or
// challenge keeps; only an internal error is serverInternal.
func TestProblems_EveryKind(t *testing.T) {
	for _, k := range core.Kinds() {
		want, ok := problems[k]
		if !ok {
			t.Errorf("kind %s has no problem type", k)
			continue
		}
		p := asProblem(core.Errorf(k, "x"))
		if p.Type != want.uri() || p.Status != want.status {
			t.Errorf("kind %s: %s %d, table says %s %d", k, p.Type, p.Status, want.uri(), want.status)
		}
		if stored := problemOf(&storage.ACMEProblem{Kind: string(k), Detail: "x"}); stored.Type != want.uri() || stored.Status != want.status {
			t.Errorf("kind %s kept: %s %d", k, stored.Type, stored.Status)
		}
		if (want.typ == probServerInternal && want.status >= 500) != (k == core.Internal) {
			t.Errorf("kind %s: %s %d", k, want.typ, want.status)
		}
		if !strings.HasPrefix(p.Type, problemPrefix) && p.Type != probAboutBlank {
			t.Errorf("kind %s: type %q", k, p.Type)
		}
	}
	if len(problems) != len(core.Kinds()) {
		t.Errorf("the table has %d entries for %d kinds", len(problems), len(core.Kinds()))
	}
	if p := asProblem(core.Errorf(core.Full, "disk /var/x: no space")); p.Status != http.StatusServiceUnavailable || p.retryAfter == "" || strings.Contains(p.Detail, "/var") {
		t.Errorf("full: %+v", p)
	}
}
