package acme_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// BenchmarkOrder is the server's cost of one whole order through the real
// handler, as autocert and tools/acmeload run it: newOrder, the
// authorization, its http-01 challenge, one poll of each, finalize and the
// certificate download (seven signed requests). The account is new for
// each order, so that no authorization is reused, and made with the timer
// stopped; so is everything the client does (signing, the CSR). ns/op is
// the wall time inside the handler (fsync included); cpu-ns/order is the
// process's CPU time meanwhile (the in-process http-01 responder's small
// share included), the figure to hold against BenchmarkOrderFloor.
func BenchmarkOrder(b *testing.B) {
	e := newEnv(b, envOptions{})
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		c := e.newClient(newECKey(b), jose.ES256)
		c.register("alice")
		der, _ := csr(b, "", []string{"app.test"}, nil)
		cpu += c.benchOrder(der)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/order")
}

// benchOrder runs one order; it is called and returns with the timer
// stopped, and runs it only while the server works.
func (c *client) benchOrder(der []byte) time.Duration {
	var cpu time.Duration
	var o orderDoc
	r := c.serve(c.e.url+"/acme/new-order", map[string]any{"identifiers": dns("app.test")}, &cpu).want(c.t, http.StatusCreated)
	r.json(c.t, &o)
	o.url = r.header.Get("Location")
	var az authzDoc
	c.serve(o.Authorizations[0], nil, &cpu).want(c.t, http.StatusOK).json(c.t, &az)
	ch := http01(c.t, az)
	c.e.solver.set(ch.Token, c.keyAuthorization(ch.Token))
	var got challengeDoc
	c.serve(ch.URL, struct{}{}, &cpu).want(c.t, http.StatusOK).json(c.t, &got)
	if got.Status != "valid" {
		c.t.Fatalf("challenge: %+v", got)
	}
	c.serve(o.Authorizations[0], nil, &cpu).want(c.t, http.StatusOK)
	c.serve(o.url, nil, &cpu).want(c.t, http.StatusOK)
	var fin orderDoc
	c.serve(o.Finalize, map[string]string{"csr": base64.RawURLEncoding.EncodeToString(der)}, &cpu).want(c.t, http.StatusOK).json(c.t, &fin)
	if fin.Certificate == "" {
		c.t.Fatalf("finalize: %+v", fin)
	}
	c.serve(fin.Certificate, nil, &cpu).want(c.t, http.StatusOK)
	return cpu
}

// serve signs payload for url with the timer stopped, then hands the
// request to the application's handler with the timer running, adding the
// process's CPU time during the call to cpu.
func (c *client) serve(url string, payload any, cpu *time.Duration) response {
	c.t.Helper()
	var body []byte
	if payload != nil {
		var err error
		if body, err = json.Marshal(payload); err != nil {
			c.t.Fatal(err)
		}
	}
	req := httptest.NewRequest(http.MethodPost, url, bytes.NewReader(c.sign(url, body, jwsOptions{})))
	req.Header.Set("Content-Type", "application/jose+json")
	w := httptest.NewRecorder()
	b := c.t.(*testing.B)
	before := cpuTime(b)
	b.StartTimer()
	c.e.app.ServeHTTP(w, req)
	b.StopTimer()
	*cpu += cpuTime(b) - before
	c.nonce = w.Header().Get("Replay-Nonce")
	return response{w.Code, w.Header(), w.Body.Bytes()}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOrderFloor is the signatures an order cannot do without on this
// machine: one P-256 verification per signed request of BenchmarkOrder
// (seven) and the certificate's one P-256 signature.
func BenchmarkOrderFloor(b *testing.B) {
	key := newECKey(b)
	digest := sha256.Sum256([]byte("an ACME request"))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for range 7 {
			if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
				b.Fatal("no verification")
			}
		}
		if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}
