package ocsp

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"errors"
	"io"
	"math/big"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// slowSigner takes a while per signature and records how many it made at
// once.
type slowSigner struct {
	crypto.Signer
	inflight, most atomic.Int64
}

func (s *slowSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	time.Sleep(2 * time.Millisecond)
	return s.Signer.Sign(r, digest, opts)
}

func TestResponder_SigningBounded(t *testing.T) {
	t.Run("MadeUpSerialsAndNonces", func(t *testing.T) {
		f := newFixture(t, Config{MaxSigning: 2})
		slow := &slowSigner{Signer: f.a.signer}
		f.setIssuers(Issuer{Cert: f.a.cert, Signer: slow})
		leaf := f.good(t, f.a, randomSerial(t))
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				for i := range 4 {
					der := buildRequest(t, crypto.SHA1, f.a.cert, nil, shortSerial(t, g*4+i))
					if i%2 == 1 {
						der = buildRequest(t, crypto.SHA1, f.a.cert, nonceValue(t, []byte("0123456789abcdef")), leaf.SerialNumber)
					}
					if _, _, err := f.r.Respond(der); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if most := slow.most.Load(); most > 2 {
			t.Errorf("%d signatures at once, want at most 2", most)
		}
	})

	t.Run("TryLaterWhenBusy", func(t *testing.T) {
		var kinds []string
		var mu sync.Mutex
		f := newFixture(t, Config{MaxSigning: 1, Observe: func(kind string, cached bool) {
			mu.Lock()
			defer mu.Unlock()
			kinds = append(kinds, kind)
		}})
		gate := newGateSigner(t, f.a.signer)
		f.setIssuers(Issuer{Cert: f.a.cert, Signer: gate})
		leaf := f.good(t, f.a, randomSerial(t))
		known := requestFor(t, leaf, f.a.cert, crypto.SHA1)
		if _, _, err := f.r.Respond(known); err != nil { // cached while the gate is open
			t.Fatal(err)
		}
		held := gate.hold(t, f.r, buildRequest(t, crypto.SHA1, f.a.cert, nil, big.NewInt(1001)))

		for name, der := range map[string][]byte{
			"unknown":           buildRequest(t, crypto.SHA1, f.a.cert, nil, big.NewInt(1002)),
			"unknown and nonce": buildRequest(t, crypto.SHA1, f.a.cert, nonceValue(t, []byte("0123456789abcdef")), big.NewInt(1003)),
		} {
			resp, maxAge, err := respondWithin(t, f.r, der)
			if err != nil || maxAge != 0 {
				t.Errorf("%s: error %v maxAge %v, want none", name, err, maxAge)
			}
			checkErrorResponse(t, resp, xocsp.TryLater)
		}
		// A nonce the signer has no time for is left out of a known
		// answer, which comes from the cache.
		signed := f.a.signer.n.Load()
		nonce := buildRequest(t, crypto.SHA1, f.a.cert, nonceValue(t, []byte("0123456789abcdef")), leaf.SerialNumber)
		resp, _, err := respondWithin(t, f.r, nonce)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := xocsp.ParseResponseForCert(resp, leaf, f.a.cert)
		if err != nil || parsed.Status != xocsp.Good {
			t.Fatalf("nonce request while busy: %v, %+v; want good", err, parsed)
		}
		if got := responseNonce(t, parsed); got != nil {
			t.Errorf("nonce %x echoed while every signer was busy", got)
		}
		if n := f.a.signer.n.Load() - signed; n != 0 {
			t.Errorf("%d signatures while every signer was busy", n)
		}

		gate.release()
		checkStatus(t, <-held, xocsp.Unknown)
		mu.Lock()
		defer mu.Unlock()
		if got, want := strings.Join(kinds, " "), "good trylater trylater good unknown"; got != want {
			t.Errorf("observed %q, want %q", got, want)
		}
	})

	t.Run("KnownWaitsPastMadeUp", func(t *testing.T) {
		f := newFixture(t, Config{MaxSigning: 1})
		gate := newGateSigner(t, f.a.signer)
		f.setIssuers(Issuer{Cert: f.a.cert, Signer: gate})
		leaf := f.good(t, f.a, randomSerial(t))
		held := gate.hold(t, f.r, buildRequest(t, crypto.SHA1, f.a.cert, nil, big.NewInt(1001)))
		known := make(chan []byte)
		go func() {
			resp, _, _ := f.r.Respond(requestFor(t, leaf, f.a.cert, crypto.SHA1))
			known <- resp
		}()
		// Longer than a made-up answer waits, far shorter than a known one.
		time.Sleep(3 * madeUpWait)
		gate.release()
		checkStatus(t, <-held, xocsp.Unknown)
		checkStatus(t, <-known, xocsp.Good)
	})
}

// gateSigner holds every signature, once shut, until released.
type gateSigner struct {
	crypto.Signer
	shut     atomic.Bool
	entered  chan struct{} // a value per signature held
	open     chan struct{}
	openOnce sync.Once
}

// newGateSigner makes a gate that the test's end releases, so that a
// failing test leaves no request hanging.
func newGateSigner(t *testing.T, s crypto.Signer) *gateSigner {
	g := &gateSigner{Signer: s, entered: make(chan struct{}, 64), open: make(chan struct{})}
	t.Cleanup(g.release)
	return g
}

func (s *gateSigner) release() { s.openOnce.Do(func() { close(s.open) }) }

func (s *gateSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.shut.Load() {
		s.entered <- struct{}{}
		<-s.open
	}
	return s.Signer.Sign(r, digest, opts)
}

// hold shuts the gate and sends der, whose signature then takes the one
// signing slot until the gate opens; the response comes on the channel.
func (s *gateSigner) hold(t *testing.T, r *Responder, der []byte) <-chan []byte {
	t.Helper()
	s.shut.Store(true)
	out := make(chan []byte, 1)
	go func() {
		resp, _, err := r.Respond(der)
		if err != nil {
			t.Error(err)
		}
		out <- resp
	}()
	<-s.entered
	return out
}

// respondWithin is Respond, failing the test if the answer does not come
// within a generous time: a request that should be answered at once but
// waits for a held signature would otherwise hang the test.
func respondWithin(t *testing.T, r *Responder, der []byte) ([]byte, time.Duration, error) {
	t.Helper()
	type answer struct {
		resp   []byte
		maxAge time.Duration
		err    error
	}
	out := make(chan answer, 1)
	go func() {
		resp, maxAge, err := r.Respond(der)
		out <- answer{resp, maxAge, err}
	}()
	select {
	case a := <-out:
		return a.resp, a.maxAge, a.err
	case <-time.After(10 * time.Second):
		t.Fatal("no answer in 10s while a signature was held")
		return nil, 0, nil
	}
}
