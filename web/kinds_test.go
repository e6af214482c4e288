package web

import (
	"net/http"
	"testing"

	"certmaker/core"
	"certmaker/internal/kindtest"
)

// TestStatuses_EveryKind: the dashboard's table gives every kind the core
// has a page status, and only an internal error is a 500.
func TestStatuses_EveryKind(t *testing.T) {
	kindtest.Covers(t, statuses, func(k core.Kind, want int) {
		if got := statusOf(core.Errorf(k, "x")); got != want || (want == http.StatusInternalServerError) != (k == core.Internal) {
			t.Errorf("kind %s: page status %d, table says %d", k, got, want)
		}
	})
}
