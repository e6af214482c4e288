package ocsp

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// trickySerial finds a serial whose SHA-1 request under issuer encodes, in
// standard base64, with "+", "//" and "=" padding: what path cleaning and
// query-style decoding break.
func trickySerial(t testing.TB, issuer *x509.Certificate) *big.Int {
	t.Helper()
	for range 50000 {
		s := randomSerial(t)
		b64 := base64.StdEncoding.EncodeToString(requestFor(t, &x509.Certificate{SerialNumber: s}, issuer, crypto.SHA1))
		if strings.Contains(b64, "+") && strings.Contains(b64, "//") && strings.HasSuffix(b64, "=") {
			return s
		}
	}
	t.Fatal("no serial found whose request base64 has '+', '//' and '='")
	return nil
}

func TestResponder_ServeHTTP(t *testing.T) {
	f := newFixture(t, Config{})
	a, b := f.a, f.b
	c := newRoot(t, "root C, never configured")

	good := f.good(t, a, trickySerial(t, a.cert))
	fromB := f.good(t, b, randomSerial(t))
	revokedAt := testNow.Add(-2 * time.Hour).Truncate(time.Second)
	revoked := a.issue(t, randomSerial(t))
	f.source.set(revoked.SerialNumber, Status{Issued: true, IssuerFingerprint: a.fp, Revoked: true, RevokedAt: revokedAt, Reason: xocsp.KeyCompromise})
	revokedNoReason := a.issue(t, randomSerial(t))
	f.source.set(revokedNoReason.SerialNumber, Status{Issued: true, IssuerFingerprint: a.fp, Revoked: true, RevokedAt: revokedAt, Reason: xocsp.Unspecified})
	neverIssued := a.issue(t, randomSerial(t)) // signed, but the store has no record
	fromC := c.issue(t, randomSerial(t))

	goodDER := requestFor(t, good, a.cert, crypto.SHA1)
	std := base64.StdEncoding.EncodeToString(goodDER)
	nonce := nonceValue(t, []byte("0123456789abcdef"))
	nonceDER := buildRequest(t, crypto.SHA1, a.cert, nonce, good.SerialNumber)
	twoDER := buildRequest(t, crypto.SHA1, a.cert, nil, good.SerialNumber, fromB.SerialNumber)

	url := f.srv.URL
	getPath := func(p string) func(t *testing.T) (*http.Response, []byte) {
		return func(t *testing.T) (*http.Response, []byte) { return get(t, url+p) }
	}
	getDER := func(der []byte) func(t *testing.T) (*http.Response, []byte) {
		return getPath("/api/ocsp/" + base64.StdEncoding.EncodeToString(der))
	}
	postDER := func(der []byte) func(t *testing.T) (*http.Response, []byte) {
		return func(t *testing.T) (*http.Response, []byte) { return post(t, url+"/api/ocsp", der) }
	}

	tests := []struct {
		name string
		do   func(t *testing.T) (*http.Response, []byte)
		// For signed answers:
		leaf, issuer *x509.Certificate
		hash         crypto.Hash
		status       int
		revokedAt    time.Time
		reason       int
		nonce        []byte
		notSignedBy  *x509.Certificate
		// For error answers (status is then ignored):
		errStatus xocsp.ResponseStatus
		// cacheable: GET headers say max-age and so on.
		cacheable bool
	}{
		{name: "GET/Good/StdBase64WithPlusAndSlashes", do: getPath("/api/ocsp/" + std), leaf: good, issuer: a.cert, status: xocsp.Good, cacheable: true},
		{name: "GET/Good/Escaped", do: getPath("/api/ocsp/" + escapeAll(std)), leaf: good, issuer: a.cert, status: xocsp.Good, cacheable: true},
		{name: "GET/Good/RawStd", do: getPath("/ocsp/" + base64.RawStdEncoding.EncodeToString(goodDER)), leaf: good, issuer: a.cert, status: xocsp.Good, cacheable: true},
		{name: "GET/Good/URLSafe", do: getPath("/ocsp/" + base64.URLEncoding.EncodeToString(goodDER)), leaf: good, issuer: a.cert, status: xocsp.Good, cacheable: true},
		{name: "GET/Good/RawURLSafe", do: getPath("/ocsp/" + base64.RawURLEncoding.EncodeToString(goodDER)), leaf: good, issuer: a.cert, status: xocsp.Good, cacheable: true},
		{name: "GET/Good/SHA256", do: getDER(requestFor(t, good, a.cert, crypto.SHA256)), leaf: good, issuer: a.cert, hash: crypto.SHA256, status: xocsp.Good, cacheable: true},
		{name: "GET/Revoked", do: getDER(requestFor(t, revoked, a.cert, crypto.SHA1)), leaf: revoked, issuer: a.cert, status: xocsp.Revoked, revokedAt: revokedAt, reason: xocsp.KeyCompromise, cacheable: true},
		{name: "GET/Revoked/UnspecifiedReason", do: getDER(requestFor(t, revokedNoReason, a.cert, crypto.SHA1)), leaf: revokedNoReason, issuer: a.cert, status: xocsp.Revoked, revokedAt: revokedAt, reason: xocsp.Unspecified, cacheable: true},
		{name: "GET/Unknown/NeverIssued", do: getDER(requestFor(t, neverIssued, a.cert, crypto.SHA1)), leaf: neverIssued, issuer: a.cert, status: xocsp.Unknown, cacheable: true},
		{name: "GET/Good/OtherRootAfterRotation", do: getDER(requestFor(t, fromB, b.cert, crypto.SHA1)), leaf: fromB, issuer: b.cert, status: xocsp.Good, notSignedBy: a.cert, cacheable: true},
		{name: "GET/Unknown/NamesRootAForCertOfRootB", do: getDER(requestFor(t, fromB, a.cert, crypto.SHA1)), leaf: fromB, issuer: a.cert, status: xocsp.Unknown, notSignedBy: b.cert, cacheable: true},
		{name: "GET/Nonce", do: getDER(nonceDER), leaf: good, issuer: a.cert, status: xocsp.Good, nonce: nonce},
		{name: "GET/Unauthorized/UnknownIssuer", do: getDER(requestFor(t, fromC, c.cert, crypto.SHA1)), errStatus: xocsp.Unauthorized},
		{name: "GET/Malformed/NotBase64", do: getPath("/ocsp/not*base64!"), errStatus: xocsp.Malformed},
		{name: "GET/Malformed/Empty", do: getPath("/ocsp/"), errStatus: xocsp.Malformed},
		{name: "GET/Malformed/Garbage", do: getDER([]byte("garbage, not DER")), errStatus: xocsp.Malformed},
		{name: "GET/Malformed/TooLong", do: getPath("/ocsp/" + strings.Repeat("A", maxGETPath)), errStatus: xocsp.Malformed},
		{name: "POST/Good", do: postDER(goodDER), leaf: good, issuer: a.cert, status: xocsp.Good},
		{name: "POST/Revoked", do: postDER(requestFor(t, revoked, a.cert, crypto.SHA256)), leaf: revoked, issuer: a.cert, hash: crypto.SHA256, status: xocsp.Revoked, revokedAt: revokedAt, reason: xocsp.KeyCompromise},
		{name: "POST/Nonce", do: postDER(nonceDER), leaf: good, issuer: a.cert, status: xocsp.Good, nonce: nonce},
		{name: "POST/Malformed/Garbage", do: postDER([]byte{0x30, 0x03, 0x02, 0x01, 0x01}), errStatus: xocsp.Malformed},
		{name: "POST/Malformed/Empty", do: postDER([]byte{}), errStatus: xocsp.Malformed},
		{name: "POST/Malformed/Oversized", do: postDER(append(bytes.Clone(goodDER), make([]byte, maxPOSTBody)...)), errStatus: xocsp.Malformed},
		{name: "POST/Malformed/TwoCertificates", do: postDER(twoDER), errStatus: xocsp.Malformed},
		{name: "POST/Unauthorized/UnknownIssuer", do: postDER(requestFor(t, fromC, c.cert, crypto.SHA256)), errStatus: xocsp.Unauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := tt.do(t)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP status %d, want 200", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/ocsp-response" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.errStatus != 0 {
				_, err := xocsp.ParseResponse(body, nil)
				var re xocsp.ResponseError
				if !errors.As(err, &re) || re.Status != tt.errStatus {
					t.Fatalf("ParseResponse: %v, want ResponseError %v", err, tt.errStatus)
				}
				checkNoStore(t, resp)
				return
			}

			parsed, err := xocsp.ParseResponseForCert(body, tt.leaf, tt.issuer)
			if err != nil {
				t.Fatalf("ParseResponseForCert: %v", err)
			}
			checkSigned(t, parsed, tt.leaf, tt.issuer)
			if tt.notSignedBy != nil {
				if _, err := xocsp.ParseResponseForCert(body, tt.leaf, tt.notSignedBy); err == nil {
					t.Error("response also verifies with the other root")
				}
			}
			hash := tt.hash
			if hash == 0 {
				hash = crypto.SHA1
			}
			if parsed.IssuerHash != hash {
				t.Errorf("IssuerHash %v, want %v", parsed.IssuerHash, hash)
			}
			if parsed.Status != tt.status {
				t.Errorf("Status %d, want %d", parsed.Status, tt.status)
			}
			if !parsed.RevokedAt.Equal(tt.revokedAt) || parsed.RevocationReason != tt.reason {
				t.Errorf("revoked at %v reason %d, want %v reason %d", parsed.RevokedAt, parsed.RevocationReason, tt.revokedAt, tt.reason)
			}
			wantThis := testNow.Truncate(time.Second).Add(-backdate)
			if !parsed.ThisUpdate.Equal(wantThis) || !parsed.NextUpdate.Equal(wantThis.Add(testValidity)) {
				t.Errorf("thisUpdate %v nextUpdate %v, want %v and +%v", parsed.ThisUpdate, parsed.NextUpdate, wantThis, testValidity)
			}
			if !parsed.ProducedAt.Equal(testNow.Truncate(time.Second)) {
				t.Errorf("producedAt %v, want %v", parsed.ProducedAt, testNow.Truncate(time.Second))
			}
			if got := responseNonce(t, parsed); !bytes.Equal(got, tt.nonce) {
				t.Errorf("response nonce %x, want %x", got, tt.nonce)
			}
			if len(parsed.Extensions) != 0 {
				t.Errorf("singleExtensions %v, want none", parsed.Extensions)
			}
			if tt.cacheable {
				checkCacheHeaders(t, resp, body, parsed, testNow)
			} else {
				checkNoStore(t, resp)
			}
		})
	}
}

// checkSigned checks what every signed answer shares: the serial asked for,
// the issuer's key as ResponderID, and no embedded certificate.
func checkSigned(t *testing.T, parsed *xocsp.Response, leaf, issuer *x509.Certificate) {
	t.Helper()
	if parsed.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("serial %v, want %v", parsed.SerialNumber, leaf.SerialNumber)
	}
	if parsed.Certificate != nil {
		t.Error("response embeds a certificate")
	}
	if parsed.RawResponderName != nil || !bytes.Equal(parsed.ResponderKeyHash, keyHash(t, issuer)) {
		t.Errorf("responder id: name %x key %x, want key %x", parsed.RawResponderName, parsed.ResponderKeyHash, keyHash(t, issuer))
	}
}

func checkCacheHeaders(t *testing.T, resp *http.Response, body []byte, parsed *xocsp.Response, now time.Time) {
	t.Helper()
	maxAge := int64(parsed.NextUpdate.Sub(now).Truncate(time.Second).Seconds())
	want := fmt.Sprintf("max-age=%d, public, no-transform, must-revalidate", maxAge)
	if got := resp.Header.Get("Cache-Control"); got != want {
		t.Errorf("Cache-Control %q, want %q", got, want)
	}
	if got, want := resp.Header.Get("Last-Modified"), parsed.ThisUpdate.Format(http.TimeFormat); got != want {
		t.Errorf("Last-Modified %q, want %q", got, want)
	}
	if got, want := resp.Header.Get("Expires"), parsed.NextUpdate.Format(http.TimeFormat); got != want {
		t.Errorf("Expires %q, want %q", got, want)
	}
	sum := sha256.Sum256(body)
	if got, want := resp.Header.Get("ETag"), `"`+hex.EncodeToString(sum[:])+`"`; got != want {
		t.Errorf("ETag %q, want %q", got, want)
	}
}

func checkNoStore(t *testing.T, resp *http.Response) {
	t.Helper()
	if got := resp.Header.Get("Cache-Control"); got != "no-cache, no-store" {
		t.Errorf("Cache-Control %q, want no-cache, no-store", got)
	}
	for _, h := range []string{"ETag", "Expires", "Last-Modified"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("%s %q on an uncacheable answer", h, v)
		}
	}
}

func TestResponder_Cache(t *testing.T) {
	t.Run("SignsOnce", func(t *testing.T) {
		f := newFixture(t, Config{})
		leaf := f.good(t, f.a, randomSerial(t))
		path := f.srv.URL + "/ocsp/" + base64.StdEncoding.EncodeToString(requestFor(t, leaf, f.a.cert, crypto.SHA1))
		signed := f.a.signer.n.Load()

		_, first := get(t, path)
		f.clock.Add(time.Hour)
		resp, second := get(t, path)
		if !bytes.Equal(first, second) {
			t.Fatal("second GET returned a different response")
		}
		if n := f.a.signer.n.Load() - signed; n != 1 {
			t.Errorf("%d signatures for two GETs, want 1", n)
		}
		if n := f.source.calls.Load(); n != 2 {
			t.Errorf("source asked %d times, want 2 (once per request)", n)
		}
		// The cached response is an hour older: max-age shrank with it.
		parsed, err := xocsp.ParseResponseForCert(second, leaf, f.a.cert)
		if err != nil {
			t.Fatal(err)
		}
		checkCacheHeaders(t, resp, second, parsed, f.clock.Now())
	})

	t.Run("RevocationShowsAtOnce", func(t *testing.T) {
		f := newFixture(t, Config{})
		leaf := f.good(t, f.a, randomSerial(t))
		der := requestFor(t, leaf, f.a.cert, crypto.SHA1)
		path := f.srv.URL + "/ocsp/" + base64.StdEncoding.EncodeToString(der)
		if status := statusOf(t, f, path, leaf); status != xocsp.Good {
			t.Fatalf("status %d before revocation", status)
		}
		get(t, path) // now surely cached
		f.source.set(leaf.SerialNumber, Status{Issued: true, IssuerFingerprint: f.a.fp, Revoked: true, RevokedAt: testNow.Add(-time.Hour), Reason: xocsp.Superseded})
		if status := statusOf(t, f, path, leaf); status != xocsp.Revoked {
			t.Fatalf("status %d right after revocation, want revoked", status)
		}
		// POST shares the cache: it sees the revocation too, and no new signature.
		signed := f.a.signer.n.Load()
		_, body := post(t, f.srv.URL+"/ocsp", der)
		parsed, err := xocsp.ParseResponseForCert(body, leaf, f.a.cert)
		if err != nil || parsed.Status != xocsp.Revoked || parsed.RevocationReason != xocsp.Superseded {
			t.Fatalf("POST after revocation: %v, %+v", err, parsed)
		}
		if n := f.a.signer.n.Load() - signed; n != 0 {
			t.Errorf("%d signatures for a cached revoked answer, want 0", n)
		}
	})

	t.Run("RenewsAtHalfValidity", func(t *testing.T) {
		f := newFixture(t, Config{})
		leaf := f.good(t, f.a, randomSerial(t))
		der := requestFor(t, leaf, f.a.cert, crypto.SHA1)
		first, _, err := f.r.Respond(der)
		if err != nil {
			t.Fatal(err)
		}
		// thisUpdate is backdated, so half the validity runs out that much sooner.
		f.clock.Add(testValidity/2 - backdate - 2*time.Second)
		same, _, _ := f.r.Respond(der)
		if !bytes.Equal(first, same) {
			t.Fatal("renewed before half the validity")
		}
		f.clock.Add(2 * time.Second)
		renewed, maxAge, _ := f.r.Respond(der)
		if bytes.Equal(first, renewed) {
			t.Fatal("not renewed at half the validity")
		}
		parsed, err := xocsp.ParseResponseForCert(renewed, leaf, f.a.cert)
		if err != nil {
			t.Fatal(err)
		}
		if want := f.clock.Now().Truncate(time.Second).Add(-backdate); !parsed.ThisUpdate.Equal(want) {
			t.Errorf("renewed thisUpdate %v, want %v", parsed.ThisUpdate, want)
		}
		if want := parsed.NextUpdate.Sub(f.clock.Now()).Truncate(time.Second); maxAge != want {
			t.Errorf("maxAge %v, want %v", maxAge, want)
		}
	})

	t.Run("NonceNotCached", func(t *testing.T) {
		f := newFixture(t, Config{})
		leaf := f.good(t, f.a, randomSerial(t))
		signed := f.a.signer.n.Load()
		var bodies [][]byte
		for _, n := range []string{"first nonce 0123", "second nonce 456"} {
			nonce := nonceValue(t, []byte(n))
			resp, _, err := f.r.Respond(buildRequest(t, crypto.SHA1, f.a.cert, nonce, leaf.SerialNumber))
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := xocsp.ParseResponseForCert(resp, leaf, f.a.cert)
			if err != nil {
				t.Fatal(err)
			}
			if got := responseNonce(t, parsed); !bytes.Equal(got, nonce) {
				t.Errorf("nonce %x, want %x", got, nonce)
			}
			bodies = append(bodies, resp)
		}
		if n := f.a.signer.n.Load() - signed; n != 2 {
			t.Errorf("%d signatures for two nonce requests, want 2", n)
		}
		if n := f.r.cache.len(); n != 0 {
			t.Errorf("%d cached responses after nonce requests, want 0", n)
		}
	})

	t.Run("ConcurrentMissSignsOnce", func(t *testing.T) {
		f := newFixture(t, Config{})
		leaf := f.good(t, f.a, randomSerial(t))
		der := requestFor(t, leaf, f.a.cert, crypto.SHA1)
		const n = 32
		out := make(chan []byte, n)
		for range n {
			go func() {
				resp, _, err := f.r.Respond(der)
				if err != nil {
					t.Error(err)
				}
				out <- resp
			}()
		}
		first := <-out
		for range n - 1 {
			if !bytes.Equal(<-out, first) {
				t.Fatal("concurrent requests got different responses")
			}
		}
		if got := f.a.signer.n.Load(); got != 1 {
			t.Errorf("%d signatures for %d concurrent requests, want 1", got, n)
		}
	})

	t.Run("Bounded", func(t *testing.T) {
		f := newFixture(t, Config{MaxCache: 3})
		for range 10 {
			leaf := f.good(t, f.a, randomSerial(t))
			if _, _, err := f.r.Respond(requestFor(t, leaf, f.a.cert, crypto.SHA1)); err != nil {
				t.Fatal(err)
			}
		}
		if n := f.r.cache.len(); n != 3 {
			t.Errorf("%d cached responses, want 3", n)
		}
	})

	t.Run("EvictedIsSignedAgain", func(t *testing.T) {
		f := newFixture(t, Config{MaxCache: 1})
		one := requestFor(t, f.good(t, f.a, big.NewInt(1001)), f.a.cert, crypto.SHA1)
		two := requestFor(t, f.good(t, f.a, big.NewInt(1002)), f.a.cert, crypto.SHA1)
		for _, der := range [][]byte{one, one, two, one} {
			if _, _, err := f.r.Respond(der); err != nil {
				t.Fatal(err)
			}
		}
		if n := f.a.signer.n.Load(); n != 3 {
			t.Errorf("%d signatures, want 3 (one, two, one again after eviction)", n)
		}
	})
}

func statusOf(t *testing.T, f *fixture, path string, leaf *x509.Certificate) int {
	t.Helper()
	_, body := get(t, path)
	parsed, err := xocsp.ParseResponseForCert(body, leaf, f.a.cert)
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Status
}

func TestResponder_Respond(t *testing.T) {
	t.Run("ThisUpdateNotBeforeRevocation", func(t *testing.T) {
		f := newFixture(t, Config{})
		leaf := f.a.issue(t, randomSerial(t))
		revokedAt := testNow.Add(-10 * time.Second)
		f.source.set(leaf.SerialNumber, Status{Issued: true, IssuerFingerprint: f.a.fp, Revoked: true, RevokedAt: revokedAt, Reason: xocsp.CessationOfOperation})
		resp, _, err := f.r.Respond(requestFor(t, leaf, f.a.cert, crypto.SHA1))
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := xocsp.ParseResponseForCert(resp, leaf, f.a.cert)
		if err != nil {
			t.Fatal(err)
		}
		if want := revokedAt.Truncate(time.Second); !parsed.ThisUpdate.Equal(want) || !parsed.RevokedAt.Equal(want) {
			t.Errorf("thisUpdate %v revokedAt %v, want both %v", parsed.ThisUpdate, parsed.RevokedAt, want)
		}
	})

	t.Run("FingerprintCaseIgnored", func(t *testing.T) {
		f := newFixture(t, Config{})
		leaf := f.a.issue(t, randomSerial(t))
		f.source.set(leaf.SerialNumber, Status{Issued: true, IssuerFingerprint: strings.ToUpper(f.a.fp)})
		resp, _, err := f.r.Respond(requestFor(t, leaf, f.a.cert, crypto.SHA1))
		if err != nil {
			t.Fatal(err)
		}
		if parsed, err := xocsp.ParseResponseForCert(resp, leaf, f.a.cert); err != nil || parsed.Status != xocsp.Good {
			t.Errorf("got %v, %+v; want good", err, parsed)
		}
	})

	t.Run("SourceError", func(t *testing.T) {
		f := newFixture(t, Config{})
		leaf := f.good(t, f.a, randomSerial(t))
		errDown := errors.New("database is down")
		f.source.err = errDown
		resp, maxAge, err := f.r.Respond(requestFor(t, leaf, f.a.cert, crypto.SHA1))
		if !errors.Is(err, errDown) {
			t.Errorf("error %v, want it to wrap %v", err, errDown)
		}
		_, perr := xocsp.ParseResponse(resp, nil)
		var re xocsp.ResponseError
		if !errors.As(perr, &re) || re.Status != xocsp.InternalError || maxAge != 0 {
			t.Errorf("response %v maxAge %v, want internalError and 0", perr, maxAge)
		}
	})

	t.Run("SignerDoesNotMatchRoot", func(t *testing.T) {
		f := newFixture(t, Config{})
		leaf := f.good(t, f.a, randomSerial(t))
		f.setIssuers(Issuer{Cert: f.a.cert, Signer: f.b.signer})
		resp, _, err := f.r.Respond(requestFor(t, leaf, f.a.cert, crypto.SHA1))
		if err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("error %v, want a signer mismatch", err)
		}
		var re xocsp.ResponseError
		if _, perr := xocsp.ParseResponse(resp, nil); !errors.As(perr, &re) || re.Status != xocsp.InternalError {
			t.Errorf("response %v, want internalError", perr)
		}
		// Corrected, the same root answers without a restart.
		f.setIssuers(f.a.issuer())
		resp, _, err = f.r.Respond(requestFor(t, leaf, f.a.cert, crypto.SHA1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := xocsp.ParseResponseForCert(resp, leaf, f.a.cert); err != nil {
			t.Errorf("after correcting the signer: %v", err)
		}
	})

	t.Run("RotationAddsRoot", func(t *testing.T) {
		f := newFixture(t, Config{})
		f.setIssuers(f.a.issuer())
		leaf := f.good(t, f.b, randomSerial(t))
		der := requestFor(t, leaf, f.b.cert, crypto.SHA1)
		var re xocsp.ResponseError
		resp, _, _ := f.r.Respond(der)
		if _, err := xocsp.ParseResponse(resp, nil); !errors.As(err, &re) || re.Status != xocsp.Unauthorized {
			t.Fatalf("before rotation: %v, want unauthorized", err)
		}
		f.setIssuers(f.a.issuer(), f.b.issuer())
		resp, _, _ = f.r.Respond(der)
		if parsed, err := xocsp.ParseResponseForCert(resp, leaf, f.b.cert); err != nil || parsed.Status != xocsp.Good {
			t.Fatalf("after rotation: %v, %+v", err, parsed)
		}
	})

	t.Run("RespCopied", func(t *testing.T) {
		f := newFixture(t, Config{})
		leaf := f.good(t, f.a, randomSerial(t))
		der := requestFor(t, leaf, f.a.cert, crypto.SHA1)
		first, _, _ := f.r.Respond(der)
		want := bytes.Clone(first)
		clear(first)
		again, _, _ := f.r.Respond(der)
		if !bytes.Equal(again, want) {
			t.Error("changing a returned response changed the cached one")
		}
	})
}

func TestNew(t *testing.T) {
	src := &mapSource{}
	issuers := func() []Issuer { return nil }
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"NoSource", Config{Issuers: issuers}, "no source"},
		{"NoIssuers", Config{Source: src}, "no issuers"},
		{"NegativeValidity", Config{Source: src, Issuers: issuers, Validity: -time.Second}, "negative validity"},
		{"NegativeCache", Config{Source: src, Issuers: issuers, MaxCache: -1}, "negative cache"},
		{"NegativeCacheBytes", Config{Source: src, Issuers: issuers, MaxCacheBytes: -1}, "negative cache bytes"},
		{"NegativeSigning", Config{Source: src, Issuers: issuers, MaxSigning: -1}, "negative signing"},
		{"Defaults", Config{Source: src, Issuers: issuers}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if r.validity != DefaultValidity || r.cache.max != DefaultMaxCache || r.cache.maxBytes != DefaultMaxCacheBytes || r.now == nil {
					t.Errorf("defaults not applied: validity %v cache %d, %d bytes", r.validity, r.cache.max, r.cache.maxBytes)
				}
				if r.unknown.max != maxUnknownCache || r.unknown.maxBytes != maxUnknownCacheBytes {
					t.Errorf("cache of unknown answers %d, %d bytes; want %d, %d", r.unknown.max, r.unknown.maxBytes, maxUnknownCache, maxUnknownCacheBytes)
				}
				if cap(r.signers) != defaultSigners() || cap(r.signers) < 1 {
					t.Errorf("%d signers, want %d", cap(r.signers), defaultSigners())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// While the status cannot be read (a storage cluster without quorum), a
// certificate asked about before gets the answer last signed for it, until
// that answer's nextUpdate; one never asked about gets internalError.
func TestResponder_StatusUnreadable(t *testing.T) {
	f, good, other, before := unreadable(t, errors.New("the CA's storage cluster does not answer"))

	during, _, err := f.r.Respond(requestFor(t, good, f.a.cert, crypto.SHA1))
	if err != nil || !bytes.Equal(during, before) {
		t.Fatalf("a certificate asked about before: %v, same answer %v", err, bytes.Equal(during, before))
	}
	resp, err := xocsp.ParseResponseForCert(during, good, f.a.cert)
	if err != nil || resp.Status != xocsp.Good {
		t.Fatalf("the answer: %+v, %v", resp, err)
	}
	if der, _, err := f.r.Respond(requestFor(t, other, f.a.cert, crypto.SHA1)); err == nil || !bytes.Equal(der, xocsp.InternalErrorErrorResponse) {
		t.Errorf("a certificate never asked about: %v, %x", err, der)
	}
	f.clock.Add(testValidity + time.Second)
	if der, _, err := f.r.Respond(requestFor(t, good, f.a.cert, crypto.SHA1)); err == nil || !bytes.Equal(der, xocsp.InternalErrorErrorResponse) {
		t.Errorf("past the last answer's nextUpdate: %v, %x", err, der)
	}
}

// A source that says the status cannot be read now (ErrTryLater, its
// storage has lost quorum) has logged that itself: a certificate asked
// about before gets the answer last signed for it, with or without a
// nonce in the request (left out of the answer, as RFC 8954 allows); one
// never asked about gets tryLater; and neither reports an error, which
// would be a log line per request.
func TestResponder_StatusTryLater(t *testing.T) {
	f, good, other, before := unreadable(t, fmt.Errorf("%w: the CA's storage cluster does not answer", ErrTryLater))

	withNonce := buildRequest(t, crypto.SHA1, f.a.cert, nonceValue(t, []byte("0123456789abcdef")), good.SerialNumber)
	for name, req := range map[string][]byte{"without a nonce": requestFor(t, good, f.a.cert, crypto.SHA1), "with a nonce": withNonce} {
		der, _, err := f.r.Respond(req)
		if err != nil || !bytes.Equal(der, before) {
			t.Errorf("%s, a certificate asked about before: %v, the same answer %v", name, err, bytes.Equal(der, before))
		}
	}
	if der, _, err := f.r.Respond(requestFor(t, other, f.a.cert, crypto.SHA1)); err != nil || !bytes.Equal(der, xocsp.TryLaterErrorResponse) {
		t.Errorf("a certificate never asked about: %v, %x; want tryLater", err, der)
	}
}

// unreadable is a responder that answered for good once, then whose
// source fails with err; other was never asked about.
func unreadable(t *testing.T, err error) (f *fixture, good, other *x509.Certificate, before []byte) {
	t.Helper()
	f = newFixture(t, Config{})
	good = f.good(t, f.a, randomSerial(t))
	other = f.good(t, f.a, randomSerial(t))
	before, _, e := f.r.Respond(requestFor(t, good, f.a.cert, crypto.SHA1))
	if e != nil {
		t.Fatal(e)
	}
	f.source.mu.Lock()
	f.source.err = err
	f.source.mu.Unlock()
	return f, good, other, before
}
