package acme_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestBadJWS sends requests that RFC 8555 6 says a server must refuse,
// each to newOrder from a registered account unless the case says else.
func TestBadJWS(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	order := []byte(`{"identifiers":[{"type":"dns","value":"app.test"}]}`)
	newOrder := e.url + "/acme/new-order"
	weakRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}

	// raw builds a flattened JWS by hand around a valid signature.
	raw := func(t *testing.T, edit func(m map[string]any)) []byte {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(c.sign(newOrder, order, jwsOptions{}), &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		b, _ := json.Marshal(m)
		return b
	}
	cases := []struct {
		name        string
		contentType string
		body        func(t *testing.T) []byte
		status      int
		typ         string
	}{
		{"ContentType", "application/json", func(t *testing.T) []byte { return c.sign(newOrder, order, jwsOptions{}) }, http.StatusUnsupportedMediaType, "malformed"},
		{"NotJSON", "", func(*testing.T) []byte { return []byte("not a jws") }, http.StatusBadRequest, "malformed"},
		{"Compact", "", func(t *testing.T) []byte {
			var f map[string]string
			json.Unmarshal(c.sign(newOrder, order, jwsOptions{}), &f)
			return []byte(f["protected"] + "." + f["payload"] + "." + f["signature"])
		}, http.StatusBadRequest, "malformed"},
		{"General", "", func(t *testing.T) []byte {
			return raw(t, func(m map[string]any) {
				m["signatures"] = []any{map[string]any{"protected": m["protected"], "signature": m["signature"]}}
				delete(m, "protected")
				delete(m, "signature")
			})
		}, http.StatusBadRequest, "malformed"},
		{"UnprotectedHeader", "", func(t *testing.T) []byte {
			return raw(t, func(m map[string]any) { m["header"] = map[string]any{"kid": "x"} })
		}, http.StatusBadRequest, "malformed"},
		{"NoPayload", "", func(t *testing.T) []byte {
			return raw(t, func(m map[string]any) { delete(m, "payload") })
		}, http.StatusBadRequest, "malformed"},
		{"TamperedPayload", "", func(t *testing.T) []byte {
			return raw(t, func(m map[string]any) {
				m["payload"] = base64.RawURLEncoding.EncodeToString([]byte(`{"identifiers":[{"type":"dns","value":"evil.test"}]}`))
			})
		}, http.StatusBadRequest, "malformed"},
		{"NoNonce", "", func(t *testing.T) []byte { return c.sign(newOrder, order, jwsOptions{nonce: "-"}) }, http.StatusBadRequest, "badNonce"},
		{"ForgedNonce", "", func(t *testing.T) []byte {
			return c.sign(newOrder, order, jwsOptions{nonce: base64.RawURLEncoding.EncodeToString(make([]byte, 40))})
		}, http.StatusBadRequest, "badNonce"},
		{"WrongURL", "", func(t *testing.T) []byte {
			return c.sign(newOrder, order, jwsOptions{url: e.url + "/acme/new-account"})
		}, http.StatusForbidden, "unauthorized"},
		{"JWKForAccountResource", "", func(t *testing.T) []byte {
			return c.sign(newOrder, order, jwsOptions{embedJWK: true})
		}, http.StatusBadRequest, "malformed"},
		{"UnknownKID", "", func(t *testing.T) []byte {
			return c.sign(newOrder, order, jwsOptions{kid: e.url + "/acme/account/nobody"})
		}, http.StatusBadRequest, "accountDoesNotExist"},
		{"ForeignKID", "", func(t *testing.T) []byte {
			return c.sign(newOrder, order, jwsOptions{kid: "https://elsewhere.test/acme/account/1"})
		}, http.StatusBadRequest, "accountDoesNotExist"},
		{"HMACAlgorithm", "", func(t *testing.T) []byte {
			s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: make([]byte, 32)},
				&jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"url": newOrder, "nonce": e.freshNonce(), "kid": c.kid}})
			jws, _ := s.Sign(order)
			return []byte(jws.FullSerialize())
		}, http.StatusBadRequest, "badSignatureAlgorithm"},
		{"WeakKey", "", func(t *testing.T) []byte {
			return c.sign(e.url+"/acme/new-account", []byte(`{}`), jwsOptions{embedJWK: true, key: weakRSA, alg: jose.RS256})
		}, http.StatusBadRequest, "badPublicKey"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			ct := tc.contentType
			if ct == "" {
				ct = "application/jose+json"
			}
			url := newOrder
			if tc.name == "WeakKey" {
				url = e.url + "/acme/new-account"
			}
			body := tc.body(t)
			c.nonce = "" // each case signs with a fresh nonce
			e.do(http.MethodPost, url, ct, body).wantProblem(t, tc.status, tc.typ)
		})
	}
	t.Run("BadSignatureAlgorithmListsOurs", func(t *testing.T) {
		c.t = t
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: make([]byte, 32)},
			&jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"url": newOrder, "nonce": e.freshNonce(), "kid": c.kid}})
		jws, _ := s.Sign(order)
		r := e.do(http.MethodPost, newOrder, "application/jose+json", []byte(jws.FullSerialize()))
		var p struct {
			Algorithms []string `json:"algorithms"`
		}
		r.json(t, &p)
		if strings.Join(p.Algorithms, ",") != "ES256,ES384,RS256,EdDSA" {
			t.Errorf("algorithms %v", p.Algorithms)
		}
	})
	t.Run("TooLarge", func(t *testing.T) {
		e.do(http.MethodPost, newOrder, "application/jose+json", []byte(strings.Repeat(" ", 70<<10))).
			wantProblem(t, http.StatusRequestEntityTooLarge, "malformed")
	})
}

// TestReplayedNonce: a nonce works once; the same request sent twice is
// refused the second time, and the refusal carries a nonce that works.
func TestReplayedNonce(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	body := c.sign(e.url+"/acme/new-order", []byte(`{"identifiers":[{"type":"dns","value":"app.test"}]}`), jwsOptions{})
	e.do(http.MethodPost, "/acme/new-order", "application/jose+json", body).want(t, http.StatusCreated)
	r := e.do(http.MethodPost, "/acme/new-order", "application/jose+json", body)
	p := r.wantProblem(t, http.StatusBadRequest, "badNonce")
	if !strings.Contains(p.Detail, "used") {
		t.Errorf("detail %q", p.Detail)
	}
	c.nonce = r.header.Get("Replay-Nonce")
	c.newOrder(dns("app.test"))

	// A nonce of another server (another nonce key) is refused too.
	other := newEnv(t, envOptions{})
	c.post("/acme/new-order", map[string]any{"identifiers": dns("app.test")}, jwsOptions{nonce: other.freshNonce()}).
		wantProblem(t, http.StatusBadRequest, "badNonce")
}

// TestWrongAccountKey: a request naming an account must be signed by
// that account's key.
func TestWrongAccountKey(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.newClient(newECKey(t), jose.ES256)
	alice.register("alice")
	mallory := e.newClient(newECKey(t), jose.ES256)
	mallory.kid = alice.kid
	p := mallory.post("/acme/new-order", map[string]any{"identifiers": dns("app.test")}, jwsOptions{}).
		wantProblem(t, http.StatusBadRequest, "malformed")
	if !strings.Contains(p.Detail, "signature") {
		t.Errorf("detail %q", p.Detail)
	}
	// Same with an RSA key and RS256 against an EC account.
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	mallory.post("/acme/new-order", map[string]any{"identifiers": dns("app.test")}, jwsOptions{key: rsaKey, alg: jose.RS256}).
		wantProblem(t, http.StatusBadRequest, "malformed")
	// And a P-384 key claiming ES256.
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	mallory.post("/acme/new-order", map[string]any{"identifiers": dns("app.test")}, jwsOptions{key: p384, alg: jose.ES384}).
		wantProblem(t, http.StatusBadRequest, "malformed")
}
