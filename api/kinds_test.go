package api

import (
	"net/http"
	"testing"

	"certmaker/core"
	"certmaker/internal/kindtest"
)

// TestStatuses_EveryKind: the API's table answers every kind the core has,
// and only an internal error is a 500.
func TestStatuses_EveryKind(t *testing.T) {
	kindtest.Covers(t, statuses, func(k core.Kind, want int) {
		if got := StatusOf(core.Errorf(k, "x")); got != want {
			t.Errorf("kind %s: status %d, table says %d", k, got, want)
		}
		if (want == http.StatusInternalServerError) != (k == core.Internal) {
			t.Errorf("kind %s: status %d", k, want)
		}
	})
}
