package acme_test

import (
	"crypto"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"certmaker/admin"
)

func TestEAB(t *testing.T) {
	e := newEnv(t, envOptions{})
	newAccount := e.url + "/acme/new-account"
	cases := []struct {
		name   string
		eab    func(c *client) json.RawMessage
		status int
		typ    string
	}{
		{"Missing", func(*client) json.RawMessage { return nil }, http.StatusBadRequest, "externalAccountRequired"},
		{"WrongMAC", func(c *client) json.RawMessage {
			k := e.eab("alice")
			k.HMACKey = e.eab("alice").HMACKey // another key's secret
			return c.eabJWS(k, newAccount, c.key.Public())
		}, http.StatusForbidden, "unauthorized"},
		{"UnknownKeyID", func(c *client) json.RawMessage {
			k := e.eab("alice")
			k.KeyID = "nobody"
			return c.eabJWS(k, newAccount, c.key.Public())
		}, http.StatusForbidden, "unauthorized"},
		{"OtherKeyBound", func(c *client) json.RawMessage {
			return c.eabJWS(e.eab("alice"), newAccount, newECKey(t).Public())
		}, http.StatusForbidden, "unauthorized"},
		{"WrongURL", func(c *client) json.RawMessage {
			return c.eabJWS(e.eab("alice"), e.url+"/acme/new-order", c.key.Public())
		}, http.StatusForbidden, "unauthorized"},
		{"NotAJWS", func(*client) json.RawMessage { return json.RawMessage(`{"protected":"x"}`) }, http.StatusBadRequest, "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.newClient(newECKey(t), jose.ES256)
			c.t = t
			payload := map[string]any{"termsOfServiceAgreed": true}
			if b := tc.eab(c); b != nil {
				payload["externalAccountBinding"] = b
			}
			c.post(newAccount, payload, jwsOptions{embedJWK: true}).wantProblem(t, tc.status, tc.typ)
		})
	}
	t.Run("ReusableAndBindsToUser", func(t *testing.T) {
		k := e.eab("bob")
		for range 2 {
			c := e.newClient(newECKey(t), jose.ES256)
			c.t = t
			r := c.post(newAccount, map[string]any{"externalAccountBinding": c.eabJWS(k, newAccount, c.key.Public())},
				jwsOptions{embedJWK: true}).want(t, http.StatusCreated)
			var acct struct {
				User string `json:"certmakerUser"`
			}
			r.json(t, &acct)
			if acct.User != "bob" {
				t.Errorf("account acts for %q, want bob", acct.User)
			}
		}
	})
	t.Run("UnknownUser", func(t *testing.T) {
		if _, err := e.ops.ACMEEAB(t.Context(), "nobody"); err == nil {
			t.Error("EAB key made for a user that does not exist")
		}
	})
	t.Run("OnlyReturnExistingUnknown", func(t *testing.T) {
		c := e.newClient(newECKey(t), jose.ES256)
		c.t = t
		c.post(newAccount, map[string]any{"onlyReturnExisting": true}, jwsOptions{embedJWK: true}).
			wantProblem(t, http.StatusBadRequest, "accountDoesNotExist")
	})
	t.Run("BadContact", func(t *testing.T) {
		c := e.newClient(newECKey(t), jose.ES256)
		c.t = t
		for contact, typ := range map[string]string{"tel:+4912345": "unsupportedContact", "mailto:not an address": "invalidContact"} {
			c.post(newAccount, map[string]any{
				"contact":                []string{contact},
				"externalAccountBinding": c.eabJWS(e.eab("alice"), newAccount, c.key.Public()),
			}, jwsOptions{embedJWK: true}).wantProblem(t, http.StatusBadRequest, typ)
		}
	})
}

// TestAccountUpdate changes contacts and reads the account back.
func TestAccountUpdate(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	var acct struct {
		Status  string   `json:"status"`
		Contact []string `json:"contact"`
	}
	c.post(c.kid, map[string]any{"contact": []string{"mailto:ops@example.com"}}, jwsOptions{}).want(t, http.StatusOK).json(t, &acct)
	if len(acct.Contact) != 1 || acct.Contact[0] != "mailto:ops@example.com" {
		t.Errorf("contacts %v", acct.Contact)
	}
	c.post(c.kid, nil, jwsOptions{}).want(t, http.StatusOK).json(t, &acct)
	if acct.Status != "valid" || acct.Contact[0] != "mailto:ops@example.com" {
		t.Errorf("account reads back %+v", acct)
	}
	c.post(c.kid, map[string]any{"status": "valid"}, jwsOptions{}).wantProblem(t, http.StatusBadRequest, "malformed")

	// Another account's URL is not ours to read or change.
	b := e.newClient(newECKey(t), jose.ES256)
	b.register("bob")
	b.post(c.kid, nil, jwsOptions{}).wantProblem(t, http.StatusForbidden, "unauthorized")
}

func TestDeactivation(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	var acct struct {
		Status string `json:"status"`
	}
	c.post(c.kid, map[string]any{"status": "deactivated"}, jwsOptions{}).want(t, http.StatusOK).json(t, &acct)
	if acct.Status != "deactivated" {
		t.Fatalf("status %q", acct.Status)
	}
	// RFC 8555 7.3.6: every later request of the account is unauthorized.
	c.post("/acme/new-order", map[string]any{"identifiers": dns("app.test")}, jwsOptions{}).
		wantProblem(t, http.StatusUnauthorized, "unauthorized")
	c.post(c.kid, nil, jwsOptions{}).wantProblem(t, http.StatusUnauthorized, "unauthorized")
	// And its key cannot come back as a new account.
	c.post("/acme/new-account", map[string]any{"externalAccountBinding": c.eabJWS(e.eab("alice"), e.url+"/acme/new-account", c.key.Public())},
		jwsOptions{embedJWK: true}).wantProblem(t, http.StatusUnauthorized, "unauthorized")
}

// keyChange signs the RFC 8555 7.3.5 inner JWS with newKey.
func (c *client) keyChange(newKey crypto.Signer, account string, oldKey crypto.PublicKey) response {
	c.t.Helper()
	url := c.e.url + "/acme/key-change"
	inner, err := json.Marshal(map[string]any{"account": account, "oldKey": jose.JSONWebKey{Key: oldKey}})
	if err != nil {
		c.t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: newKey},
		&jose.SignerOptions{EmbedJWK: true, ExtraHeaders: map[jose.HeaderKey]any{"url": url}})
	if err != nil {
		c.t.Fatal(err)
	}
	jws, err := s.Sign(inner)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.post(url, []byte(jws.FullSerialize()), jwsOptions{})
}

func TestKeyChange(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	oldKey := c.key
	newKey := newECKey(t)

	t.Run("WrongOldKey", func(t *testing.T) {
		c.t = t
		c.keyChange(newKey, c.kid, newECKey(t).Public()).wantProblem(t, http.StatusForbidden, "unauthorized")
	})
	t.Run("WrongAccount", func(t *testing.T) {
		c.t = t
		c.keyChange(newKey, e.url+"/acme/account/other", oldKey.Public()).wantProblem(t, http.StatusBadRequest, "malformed")
	})
	t.Run("KeyOfAnotherAccount", func(t *testing.T) {
		c.t = t
		other := e.newClient(newECKey(t), jose.ES256)
		other.register("alice")
		r := c.keyChange(other.key, c.kid, oldKey.Public())
		r.wantProblem(t, http.StatusConflict, "malformed")
		if r.header.Get("Location") != other.kid {
			t.Errorf("conflict Location %q, want %q", r.header.Get("Location"), other.kid)
		}
	})
	t.Run("Rollover", func(t *testing.T) {
		c.t = t
		r := c.keyChange(newKey, c.kid, oldKey.Public()).want(t, http.StatusOK)
		if r.header.Get("Location") != c.kid {
			t.Errorf("Location %q", r.header.Get("Location"))
		}
		// The old key no longer signs for the account...
		c.post(c.kid, nil, jwsOptions{}).wantProblem(t, http.StatusBadRequest, "malformed")
		c.post("/acme/new-account", map[string]any{"onlyReturnExisting": true}, jwsOptions{embedJWK: true}).
			wantProblem(t, http.StatusBadRequest, "accountDoesNotExist")
		// ...the new one does, and finds the same account.
		c.key = newKey
		c.post(c.kid, nil, jwsOptions{}).want(t, http.StatusOK)
		found := c.post("/acme/new-account", map[string]any{"onlyReturnExisting": true}, jwsOptions{embedJWK: true}).want(t, http.StatusOK)
		if found.header.Get("Location") != c.kid {
			t.Errorf("new key finds %q, want %q", found.header.Get("Location"), c.kid)
		}
		// Certificates still come: http-01 answers use the new key's thumbprint.
		c.obtain(dns("app.test"))
	})
}

// TestEABOutput: the admin op gives a key id and a 256-bit base64url key.
func TestEABOutput(t *testing.T) {
	e := newEnv(t, envOptions{})
	var k admin.EAB = e.eab("alice")
	if k.KeyID == "" || len(k.HMACKey) != 43 {
		t.Errorf("EAB %+v", k)
	}
}

// TestEABRevoked: once the operator revokes an EAB key, it binds no new
// account, and the accounts it bound are refused from their next request.
func TestEABRevoked(t *testing.T) {
	e := newEnv(t, envOptions{})
	newAccount := e.url + "/acme/new-account"
	k := e.eab("alice")
	c := e.newClient(newECKey(t), jose.ES256)
	r := c.post(newAccount, map[string]any{"externalAccountBinding": c.eabJWS(k, newAccount, c.key.Public())},
		jwsOptions{embedJWK: true}).want(t, http.StatusCreated)
	c.kid = r.header.Get("Location")
	other := e.newClient(newECKey(t), jose.ES256)
	other.register("alice") // another key of alice's: untouched

	if n, err := e.ops.RevokeACMEEAB(t.Context(), k.KeyID); err != nil || n != 1 {
		t.Fatalf("revoke: %d, %v", n, err)
	}
	c.post("/acme/new-order", map[string]any{"identifiers": dns("app.test")}, jwsOptions{}).
		wantProblem(t, http.StatusUnauthorized, "unauthorized")
	again := e.newClient(newECKey(t), jose.ES256)
	again.post(newAccount, map[string]any{"externalAccountBinding": again.eabJWS(k, newAccount, again.key.Public())},
		jwsOptions{embedJWK: true}).wantProblem(t, http.StatusForbidden, "unauthorized")
	other.newOrder(dns("app.test"))
}
