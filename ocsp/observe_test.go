package ocsp

import (
	"crypto"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestObserve(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	f := newFixture(t, Config{Observe: func(kind string, cached bool) {
		mu.Lock()
		defer mu.Unlock()
		if cached {
			kind += "/cached"
		}
		seen = append(seen, kind)
	}})
	serial := randomSerial(t)
	leaf := f.good(t, f.a, serial)
	req := requestFor(t, leaf, f.a.cert, crypto.SHA1)
	f.r.Respond(req)
	f.r.Respond(req)
	f.source.set(serial, Status{Issued: true, IssuerFingerprint: f.a.fp, Revoked: true, RevokedAt: testNow.Add(-time.Hour), Reason: 1})
	f.r.Respond(req)
	f.r.Respond([]byte("junk"))
	unknown := f.a.issue(t, randomSerial(t))
	f.r.Respond(requestFor(t, unknown, f.a.cert, crypto.SHA1))
	want := "good good/cached revoked malformed unknown"
	if got := strings.Join(seen, " "); got != want {
		t.Errorf("observed %q, want %q", got, want)
	}
}
