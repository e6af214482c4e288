package ocsp

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// The cost the cache counts for an entry is at least the heap it takes,
// headers included, so that MaxCacheBytes bounds what it says.
func TestCache_CostCoversHeap(t *testing.T) {
	f := newFixture(t, Config{})
	const n = 2000
	reqs := make([]*http.Request, n+1)
	for i := range reqs {
		// 20 octets, as the CA's leaf serials have: the costliest key.
		b := make([]byte, 20)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		b[0] = b[0]&0x7f | 0x40
		serial := new(big.Int).SetBytes(b)
		f.source.set(serial, Status{Issued: true, IssuerFingerprint: f.a.fp})
		der := buildRequest(t, crypto.SHA256, f.a.cert, nil, serial)
		reqs[i] = httptest.NewRequest(http.MethodGet, "/api/ocsp/"+escapeAll(base64.StdEncoding.EncodeToString(der)), nil)
	}
	serve := func(req *http.Request) {
		w := httptest.NewRecorder()
		f.r.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
	}
	serve(reqs[n]) // the root's hashes and the like, made once
	before, counted := liveHeap(), f.r.cache.size()
	for _, req := range reqs[:n] {
		serve(req)
	}
	grown := liveHeap() - before
	counted = f.r.cache.size() - counted
	runtime.KeepAlive(reqs)
	t.Logf("per entry: %d bytes on the heap, %d counted", grown/n, counted/n)
	if int64(counted) < grown {
		t.Errorf("%d entries counted as %d bytes, took %d; raise entryOverhead", n, counted, grown)
	}
	if int64(counted) > 2*grown {
		t.Errorf("%d entries counted as %d bytes, took only %d; lower entryOverhead", n, counted, grown)
	}
}

func TestCache_Bytes(t *testing.T) {
	t.Run("Bounded", func(t *testing.T) {
		const limit = 8 * entryOverhead
		f := newFixture(t, Config{MaxCacheBytes: limit})
		for range 50 {
			leaf := f.good(t, f.a, randomSerial(t))
			if _, _, err := f.r.Respond(requestFor(t, leaf, f.a.cert, crypto.SHA1)); err != nil {
				t.Fatal(err)
			}
		}
		if n, size := f.r.cache.len(), f.r.cache.size(); size > limit || n < 1 || n >= 8 {
			t.Errorf("%d responses of %d bytes cached, want 1 to 7 within %d bytes", n, size, limit)
		}
	})

	t.Run("CountsReplacedOnce", func(t *testing.T) {
		f := newFixture(t, Config{})
		leaf := f.good(t, f.a, randomSerial(t))
		der := requestFor(t, leaf, f.a.cert, crypto.SHA1)
		for range 3 {
			if _, _, err := f.r.Respond(der); err != nil {
				t.Fatal(err)
			}
			f.clock.Add(testValidity) // stale: signed again, in the same place
		}
		want := 0
		for k, e := range f.r.cache.entries {
			want += entryCost(k, e)
		}
		if n, size := f.r.cache.len(), f.r.cache.size(); n != 1 || size != want {
			t.Errorf("%d responses of %d bytes after renewals, want 1 of %d", n, size, want)
		}
	})

	t.Run("TooBigNotCached", func(t *testing.T) {
		f := newFixture(t, Config{MaxCacheBytes: entryOverhead})
		leaf := f.good(t, f.a, randomSerial(t))
		resp, _, err := f.r.Respond(requestFor(t, leaf, f.a.cert, crypto.SHA1))
		if err != nil {
			t.Fatal(err)
		}
		checkStatus(t, resp, 0)
		if n, size := f.r.cache.len(), f.r.cache.size(); n != 0 || size != 0 {
			t.Errorf("%d responses of %d bytes cached, want none", n, size)
		}
	})
}
