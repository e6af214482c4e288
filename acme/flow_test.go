package acme_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func TestDirectory(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.do(http.MethodGet, "/acme/directory", "", nil).want(t, http.StatusOK)
	var dir map[string]any
	r.json(t, &dir)
	for key, path := range map[string]string{
		"newNonce": "/acme/new-nonce", "newAccount": "/acme/new-account", "newOrder": "/acme/new-order",
		"revokeCert": "/acme/revoke-cert", "keyChange": "/acme/key-change", "renewalInfo": "/acme/renewal-info",
	} {
		if dir[key] != e.url+path {
			t.Errorf("directory %s = %v, want %s", key, dir[key], e.url+path)
		}
	}
	meta, _ := dir["meta"].(map[string]any)
	if meta["externalAccountRequired"] != true {
		t.Errorf("meta = %v, want externalAccountRequired", meta)
	}

	head := e.do(http.MethodHead, "/acme/new-nonce", "", nil).want(t, http.StatusOK)
	get := e.do(http.MethodGet, "/acme/new-nonce", "", nil).want(t, http.StatusNoContent)
	for _, r := range []response{head, get} {
		if r.header.Get("Replay-Nonce") == "" || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("newNonce headers %v", r.header)
		}
		if !slices.Contains(r.header.Values("Link"), "<"+e.url+"/acme/directory>;rel=\"index\"") {
			t.Errorf("no index link: %v", r.header.Values("Link"))
		}
	}
	if head.header.Get("Replay-Nonce") == get.header.Get("Replay-Nonce") {
		t.Error("two nonces alike")
	}

	// Resources are POST-as-GET; a GET is 405 with a problem document.
	e.do(http.MethodGet, "/acme/order/x", "", nil).wantProblem(t, http.StatusMethodNotAllowed, "malformed")
	e.do(http.MethodGet, "/acme/nope", "", nil).wantProblem(t, http.StatusNotFound, "malformed")
}

// TestFlow is the whole RFC 8555 flow for DNS names and an IP address
// (RFC 8738), with every account key type certmaker accepts.
func TestFlow(t *testing.T) {
	e := newEnv(t, envOptions{})
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		key  crypto.Signer
		alg  jose.SignatureAlgorithm
	}{
		{"ES256", newECKey(t), jose.ES256},
		{"ES384", p384, jose.ES384},
		{"RS256", rsaKey, jose.RS256},
		{"EdDSA", edKey, jose.EdDSA},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.newClient(tc.key, tc.alg)
			c.t = t
			r := c.register("alice")
			if r.status != http.StatusCreated {
				t.Fatalf("newAccount: %d", r.status)
			}
			var acct struct {
				Status  string   `json:"status"`
				Contact []string `json:"contact"`
				Orders  string   `json:"orders"`
			}
			r.json(t, &acct)
			if acct.Status != "valid" || !strings.HasPrefix(c.kid, e.url+"/acme/account/") || acct.Orders != c.kid+"/orders" {
				t.Fatalf("account %+v at %q", acct, c.kid)
			}
			// The same key again finds the same account: 200, same Location.
			again := c.post("/acme/new-account", map[string]any{"onlyReturnExisting": true}, jwsOptions{embedJWK: true}).want(t, http.StatusOK)
			if again.header.Get("Location") != c.kid {
				t.Errorf("existing account at %q, want %q", again.header.Get("Location"), c.kid)
			}

			ids := []identifier{{"dns", "app.test"}, {"dns", "WWW.app.test"}, {"ip", "127.0.0.3"}}
			o, chain, key := c.obtain(ids)
			want := []identifier{{"dns", "app.test"}, {"dns", "www.app.test"}, {"ip", "127.0.0.3"}}
			if !slices.Equal(o.Identifiers, want) {
				t.Errorf("identifiers %v, want %v", o.Identifiers, want)
			}
			if len(chain) != 2 {
				t.Fatalf("chain of %d certificates, want leaf and root", len(chain))
			}
			leaf := chain[0]
			if !chain[1].Equal(e.root()) {
				t.Error("second certificate of the chain is not the root")
			}
			pool := x509.NewCertPool()
			pool.AddCert(e.root())
			for _, name := range []string{"app.test", "www.app.test", "127.0.0.3"} {
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
					t.Errorf("leaf does not verify for %s: %v", name, err)
				}
			}
			if !leaf.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
				t.Error("leaf does not carry the CSR's key")
			}
			if days := leaf.NotAfter.Sub(leaf.NotBefore).Hours() / 24; days != 30 {
				t.Errorf("validity %v days, want the configured 30", days)
			}

			// Stored for alice like any certificate: listings, OCSP, CRL.
			stored, err := e.db.Certificate(leaf.SerialNumber)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Owner != "alice" || stored.KeyPKCS8 != nil {
				t.Errorf("stored owner %q, key held %v", stored.Owner, stored.KeyPKCS8 != nil)
			}

			// The order and its authorizations read back as valid.
			got := c.order(o.url)
			if got.Status != "valid" || got.Certificate != o.Certificate {
				t.Errorf("order reads back %+v", got)
			}
			for _, u := range got.Authorizations {
				if az := c.authz(u); az.Status != "valid" || http01(t, az).Validated == "" {
					t.Errorf("authorization %+v", az)
				}
			}
			var list struct {
				Orders []string `json:"orders"`
			}
			c.post(acct.Orders, nil, jwsOptions{}).want(t, http.StatusOK).json(t, &list)
			if !slices.Contains(list.Orders, o.url) {
				t.Errorf("orders list %v lacks %s", list.Orders, o.url)
			}
		})
	}
}

// TestExemptNames: localhost needs no challenge, as in the simple API.
func TestExemptNames(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	o := c.newOrder(dns("localhost"))
	if o.Status != "ready" {
		t.Fatalf("order for localhost is %s, want ready", o.Status)
	}
	der, _ := csr(t, "localhost", []string{"localhost"}, nil)
	c.finalize(o, der).want(t, http.StatusOK)
}

func TestNewOrder_Rejected(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	cases := []struct {
		name    string
		payload any
		typ     string
	}{
		{"DoubleWildcard", map[string]any{"identifiers": dns("*.*.app.test")}, "rejectedIdentifier"},
		{"BadName", map[string]any{"identifiers": dns("bad_name.test")}, "rejectedIdentifier"},
		{"BadIP", map[string]any{"identifiers": []identifier{{"ip", "300.1.1.1"}}}, "rejectedIdentifier"},
		{"Email", map[string]any{"identifiers": []identifier{{"email", "a@b.test"}}}, "unsupportedIdentifier"},
		{"None", map[string]any{"identifiers": []identifier{}}, "malformed"},
		{"NotAfter", map[string]any{"identifiers": dns("app.test"), "notAfter": "2030-01-01T00:00:00Z"}, "malformed"},
		{"NotJSON", []byte("{"), "malformed"},
		{"PostAsGet", nil, "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.post("/acme/new-order", tc.payload, jwsOptions{}).wantProblem(t, http.StatusBadRequest, tc.typ)
		})
	}
}

// TestPersistence: accounts, orders and certificates survive a restart;
// nonces from before it do not (see nonce.go), and the refusal carries one
// that works.
func TestPersistence(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	o, _, _ := c.obtain(dns("app.test"))
	spare := e.freshNonce()
	used := c.nonce
	c.order(o.url) // uses c.nonce
	e.restart()

	r := c.post(o.url, nil, jwsOptions{nonce: spare})
	r.wantProblem(t, http.StatusBadRequest, "badNonce")
	c.nonce = r.header.Get("Replay-Nonce")
	if got := c.order(o.url); got.Status != "valid" {
		t.Errorf("order after restart: %+v", got)
	}
	if chain := c.download(o.Certificate); len(chain) != 2 {
		t.Errorf("chain after restart: %d certificates", len(chain))
	}
	c.post(o.url, nil, jwsOptions{nonce: used}).wantProblem(t, http.StatusBadRequest, "badNonce")
}

// TestDisabledUser: an account acts for its user; a disabled user's
// accounts are refused.
func TestDisabledUser(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	if err := e.ops.SetDisabled(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	p := c.post("/acme/new-order", map[string]any{"identifiers": dns("app.test")}, jwsOptions{}).wantProblem(t, http.StatusForbidden, "unauthorized")
	if !strings.Contains(p.Detail, "disabled") {
		t.Errorf("detail %q", p.Detail)
	}
}

// TestNoEAB: with require_eab off, accounts act for the default user.
func TestNoEAB(t *testing.T) {
	e := newEnv(t, envOptions{noEAB: true, defaultUser: "bob"})
	var dir struct {
		Meta struct {
			ExternalAccountRequired bool `json:"externalAccountRequired"`
		} `json:"meta"`
	}
	e.do(http.MethodGet, "/acme/directory", "", nil).want(t, http.StatusOK).json(t, &dir)
	if dir.Meta.ExternalAccountRequired {
		t.Error("directory says EAB is required")
	}
	c := e.newClient(newECKey(t), jose.ES256)
	r := c.post("/acme/new-account", map[string]any{"termsOfServiceAgreed": true}, jwsOptions{embedJWK: true}).want(t, http.StatusCreated)
	c.kid = r.header.Get("Location")
	_, chain, _ := c.obtain(dns("app.test"))
	stored, err := e.db.Certificate(chain[0].SerialNumber)
	if err != nil || stored.Owner != "bob" {
		t.Errorf("owner %q, %v; want bob", stored.Owner, err)
	}
	// An EAB still binds to its own user.
	a := e.newClient(newECKey(t), jose.ES256)
	a.register("alice")
	_, chain, _ = a.obtain(dns("app.test"))
	if stored, _ := e.db.Certificate(chain[0].SerialNumber); stored.Owner != "alice" {
		t.Errorf("EAB account's certificate owned by %q", stored.Owner)
	}
}
