package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"certmaker/core"
)

// TestStatuses_EveryKind: the admin protocol's table answers every kind
// the core has with its status and the kind itself, so the client gets
// the same kind back; only an internal error is a 500.
func TestStatuses_EveryKind(t *testing.T) {
	for _, k := range core.Kinds() {
		want, ok := statuses[k]
		if !ok {
			t.Errorf("kind %s has no status", k)
			continue
		}
		w := httptest.NewRecorder()
		replyError(w, core.Errorf(k, "x"))
		var body errorResponse
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if w.Code != want || body.Kind != k {
			t.Errorf("kind %s: status %d kind %s, table says %d", k, w.Code, body.Kind, want)
		}
		if got := core.KindOf(&remoteError{msg: body.Error, kind: body.Kind}); got != k {
			t.Errorf("kind %s comes back as %s", k, got)
		}
		if (want == http.StatusInternalServerError) != (k == core.Internal) {
			t.Errorf("kind %s: status %d", k, want)
		}
	}
	if len(statuses) != len(core.Kinds()) {
		t.Errorf("the table has %d entries for %d kinds", len(statuses), len(core.Kinds()))
	}
}
