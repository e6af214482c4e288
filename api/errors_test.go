package api

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/storage"
	"certmaker/store"
)

func TestStatusOf(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{badRequest("x"), 400},
		{fmt.Errorf("storing: %w", store.ErrNotFound), 404},
		{fmt.Errorf("%w: bad", ca.ErrInvalid), 400},
		{errTooLarge, 413},
		{fmt.Errorf("generating key: %w", context.Canceled), statusClientClosed},
		// A challenge cut short by its client is still the challenge's answer.
		{&challenge.Error{Identifier: "a.lan", Reason: "canceled", Err: context.Canceled}, 417},
		{errors.New("disk on fire"), 500},
	}
	for _, c := range cases {
		if got := StatusOf(c.err); got != c.want {
			t.Errorf("StatusOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"two\r\nlines\n", "two  lines "},
		{strings.Repeat("a", maxMessage), strings.Repeat("a", maxMessage)},
		{strings.Repeat("a", maxMessage+1), strings.Repeat("a", maxMessage) + "..."},
	}
	for _, c := range cases {
		if got := oneLine(c.in); got != c.want {
			t.Errorf("oneLine(%.20q) = %.20q (%d bytes), want %.20q", c.in, got, len(got), c.want)
		}
	}
	// Never cut inside a rune.
	got := oneLine(strings.Repeat("ü", maxMessage))
	if !utf8.ValidString(got) || len(got) > maxMessage+3 {
		t.Errorf("oneLine of long UTF-8: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}

// An unreachable storage cluster is not a full disk: 503 with Retry-After
// and words that say which, without the endpoints (they stay in the log).
func TestError_Unavailable(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/api/certificate/request", nil)
	Error(w, r, fmt.Errorf("storing: %w: etcd 10.0.0.5:2379: context deadline exceeded", storage.ErrUnavailable))
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	if got := w.Body.String(); got != "the CA's storage cluster does not answer; try again shortly\n" {
		t.Errorf("body %q", got)
	}
}
