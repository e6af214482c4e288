package acme

import (
	"net/http"
	"strings"
	"testing"

	"certmaker/core"
	"certmaker/internal/kindtest"
	"certmaker/storage"
)

// TestProblems_EveryKind: ACME's table names every kind the core has with
// a problem type and status, for an answer and for what an order or
// challenge keeps; only an internal error is serverInternal.
func TestProblems_EveryKind(t *testing.T) {
	kindtest.Covers(t, problems, func(k core.Kind, want problemType) {
		p := asProblem(core.Errorf(k, "x"))
		if p.Type != want.uri() || p.Status != want.status {
			t.Errorf("kind %s: %s %d, table says %s %d", k, p.Type, p.Status, want.uri(), want.status)
		}
		if kept := problemOf(&storage.ACMEProblem{Kind: string(k), Detail: "x"}); kept.Type != want.uri() || kept.Status != want.status {
			t.Errorf("kind %s kept: %s %d", k, kept.Type, kept.Status)
		}
		if (want.typ == probServerInternal && want.status >= 500) != (k == core.Internal) {
			t.Errorf("kind %s: %s %d", k, want.typ, want.status)
		}
	})
	if p := asProblem(core.Errorf(core.Full, "disk /var/x: no space")); p.Status != http.StatusServiceUnavailable || p.retryAfter == "" || strings.Contains(p.Detail, "/var") {
		t.Errorf("full: %+v", p)
	}
	if p := asProblem(core.Errorf(core.Unavailable, "etcd 10.0.0.5:2379: no leader")); p.Status != http.StatusServiceUnavailable || p.retryAfter == "" ||
		p.Type != "about:blank" || p.Detail != "the CA's storage cluster does not answer; try again shortly" {
		t.Errorf("unavailable: %+v", p)
	}
}
