package ocsp

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"errors"
	"math/big"
	"runtime"
	"testing"

	xocsp "golang.org/x/crypto/ocsp"
)

// Unauthenticated clients may ask about any serial, with or without a nonce;
// none of that may grow memory without bound or make the server sign
// without bound.
func TestResponder_Flood(t *testing.T) {
	t.Run("LongSerialsMalformed", func(t *testing.T) {
		f := newFixture(t, Config{})
		for _, n := range []int{21, 22, 100, 9000} {
			serial := new(big.Int).SetBytes(bytes.Repeat([]byte{0x5a}, n))
			_, body := post(t, f.srv.URL+"/api/ocsp", buildRequest(t, crypto.SHA1, f.a.cert, nil, serial))
			checkErrorResponse(t, body, xocsp.Malformed)
		}
		if n := f.a.signer.n.Load(); n != 0 {
			t.Errorf("%d signatures for serials longer than 20 octets, want 0", n)
		}
		if n := f.source.calls.Load(); n != 0 {
			t.Errorf("source asked %d times for serials longer than 20 octets, want 0", n)
		}
	})

	t.Run("Serial20OctetsAnswered", func(t *testing.T) {
		f := newFixture(t, Config{})
		// The largest serial RFC 5280 allows: 20 octets, top bit set, so
		// DER adds a sign octet.
		serial := new(big.Int).SetBytes(bytes.Repeat([]byte{0xff}, 20))
		leaf := f.good(t, f.a, serial)
		_, body := post(t, f.srv.URL+"/api/ocsp", requestFor(t, leaf, f.a.cert, crypto.SHA1))
		if parsed, err := xocsp.ParseResponseForCert(body, leaf, f.a.cert); err != nil || parsed.Status != xocsp.Good {
			t.Errorf("got %v, %+v; want good", err, parsed)
		}
	})

	t.Run("RandomSerials", func(t *testing.T) {
		f := newFixture(t, Config{})
		leaf := f.good(t, f.a, randomSerial(t))
		known := requestFor(t, leaf, f.a.cert, crypto.SHA1)
		if _, _, err := f.r.Respond(known); err != nil {
			t.Fatal(err)
		}
		before := liveHeap()
		const n = 20000
		for i := range n {
			if _, _, err := f.r.Respond(buildRequest(t, crypto.SHA1, f.a.cert, nil, shortSerial(t, i))); err != nil {
				t.Fatal(err)
			}
		}
		grown := liveHeap() - before
		t.Logf("live heap grew %d KiB over %d requests for unknown serials", grown>>10, n)
		if n := f.r.cache.len(); n != 1 {
			t.Errorf("%d responses in the cache of known answers, want 1", n)
		}
		if n, size := f.r.unknown.len(), f.r.unknown.size(); n > maxUnknownCache || size > maxUnknownCacheBytes {
			t.Errorf("cache of unknown answers holds %d responses, %d bytes; want at most %d and %d", n, size, maxUnknownCache, maxUnknownCacheBytes)
		}
		// The bound on unknown answers is 1 MiB; the rest is slack for
		// the map and the runtime.
		if grown > 4<<20 {
			t.Errorf("live heap grew %d KiB, want at most 4096", grown>>10)
		}
		signed := f.a.signer.n.Load()
		if _, _, err := f.r.Respond(known); err != nil {
			t.Fatal(err)
		}
		if f.a.signer.n.Load() != signed {
			t.Error("the flood evicted the known answer")
		}
	})
}

// shortSerial is a random serial of 1 to 20 octets, never 0.
func shortSerial(t testing.TB, i int) *big.Int {
	t.Helper()
	b := make([]byte, 1+i%20)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[0] |= 1
	return new(big.Int).SetBytes(b)
}

// liveHeap is the heap in use after a full collection.
func liveHeap() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

func checkErrorResponse(t *testing.T, body []byte, want xocsp.ResponseStatus) {
	t.Helper()
	_, err := xocsp.ParseResponse(body, nil)
	var re xocsp.ResponseError
	if !errors.As(err, &re) || re.Status != want {
		t.Errorf("ParseResponse: %v, want ResponseError %v", err, want)
	}
}

// checkStatus checks that resp is a signed answer with the given status.
func checkStatus(t *testing.T, resp []byte, want int) {
	t.Helper()
	parsed, err := xocsp.ParseResponse(resp, nil)
	if err != nil || parsed.Status != want {
		t.Errorf("got %v, %+v; want status %d", err, parsed, want)
	}
}
