package web

import (
	"net/http"
	"testing"

	"certmaker/core"
)

// TestStatuses_EveryKind: the dashboard's table answers every kind the
// core has, and only an internal error is a 500.
func TestStatuses_EveryKind(t *testing.T) {
	for _, k := range core.Kinds() {
		want, ok := statuses[k]
		if !ok {
			t.Errorf("kind %s has no status", k)
			continue
		}
		if got := statusOf(core.Errorf(k, "x")); got != want {
			t.Errorf("kind %s: status %d, table says %d", k, got, want)
		}
		if (want == http.StatusInternalServerError) != (k == core.Internal) {
			t.Errorf("kind %s: status %d", k, want)
		}
	}
	if len(statuses) != len(core.Kinds()) {
		t.Errorf("the table has %d entries for %d kinds", len(statuses), len(core.Kinds()))
	}
}
