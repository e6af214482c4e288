package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"certmaker/core"
	"certmaker/internal/kindtest"
)

// TestStatuses_EveryKind: the admin protocol's table answers every kind
// the core has with its status and the kind itself, so the client gets
// the same kind back; only an internal error is a 500.
func TestStatuses_EveryKind(t *testing.T) {
	kindtest.Covers(t, statuses, func(k core.Kind, want int) {
		w := httptest.NewRecorder()
		replyError(w, core.Errorf(k, "x"))
		var body errorResponse
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if w.Code != want || body.Kind != k || (want == http.StatusInternalServerError) != (k == core.Internal) {
			t.Errorf("kind %s: status %d kind %s, table says %d", k, w.Code, body.Kind, want)
		}
		if got := core.KindOf(&remoteError{msg: body.Error, kind: body.Kind}); got != k {
			t.Errorf("kind %s comes back as %s", k, got)
		}
	})
}
