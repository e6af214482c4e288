package ocsp

import (
	"crypto"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// BenchmarkRespondCached is the flood case: the same certificate asked
// again and again, answered from the cache after one signature.
func BenchmarkRespondCached(b *testing.B) {
	f := newFixture(b, Config{})
	leaf := f.good(b, f.a, randomSerial(b))
	der := requestFor(b, leaf, f.a.cert, crypto.SHA1)

	b.Run("Respond", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := f.r.Respond(der); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ServeHTTP-GET", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, "/api/ocsp/"+escapeAll(base64.StdEncoding.EncodeToString(der)), nil)
		for b.Loop() {
			w := httptest.NewRecorder()
			f.r.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := f.r.Respond(der); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	if n := f.a.signer.n.Load(); n != 1 {
		b.Errorf("%d signatures, want 1", n)
	}
}

// BenchmarkRespondNonce costs a signature per request, as it must.
func BenchmarkRespondNonce(b *testing.B) {
	f := newFixture(b, Config{})
	leaf := f.good(b, f.a, randomSerial(b))
	der := buildRequest(b, crypto.SHA1, f.a.cert, nonceValue(b, []byte("0123456789abcdef")), leaf.SerialNumber)
	for b.Loop() {
		if _, _, err := f.r.Respond(der); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRespondUnknown is a flood of made-up serials: a signature each,
// and no memory kept past the small cache of unknown answers. heap-KiB is
// how much the live heap grew over the timed run: about nothing, however
// long it runs.
func BenchmarkRespondUnknown(b *testing.B) {
	f := newFixture(b, Config{})
	reqs := make([][]byte, 1<<14)
	for i := range reqs {
		reqs[i] = buildRequest(b, crypto.SHA1, f.a.cert, nil, randomSerial(b))
	}
	// Untimed: fill the cache of unknown answers, so that what grows after
	// is what a longer flood would add.
	for _, der := range reqs[:2*maxUnknownCache] {
		if _, _, err := f.r.Respond(der); err != nil {
			b.Fatal(err)
		}
	}
	before := liveHeap()
	i := 0
	for b.Loop() {
		if _, _, err := f.r.Respond(reqs[i%len(reqs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	grown := liveHeap() - before
	runtime.KeepAlive(reqs) // counted in before, so in after too
	b.ReportMetric(float64(grown)/1024, "heap-KiB")
}
