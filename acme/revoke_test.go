package acme_test

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func (c *client) revoke(cert *x509.Certificate, reason *int, o jwsOptions) response {
	c.t.Helper()
	payload := map[string]any{"certificate": base64.RawURLEncoding.EncodeToString(cert.Raw)}
	if reason != nil {
		payload["reason"] = *reason
	}
	return c.post("/acme/revoke-cert", payload, o)
}

func TestRevokeCert(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.newClient(newECKey(t), jose.ES256)
	alice.register("alice")
	bob := e.newClient(newECKey(t), jose.ES256)
	bob.register("bob")

	revoked := func(t *testing.T, cert *x509.Certificate, reason int) {
		t.Helper()
		c, err := e.db.Certificate(cert.SerialNumber)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Revoked || c.Reason != reason {
			t.Errorf("stored revoked=%v reason=%d, want reason %d", c.Revoked, c.Reason, reason)
		}
	}
	reason := func(n int) *int { return &n }

	t.Run("ByAccount", func(t *testing.T) {
		alice.t, bob.t = t, t
		_, chain, _ := alice.obtain(dns("app.test"))
		// Another user's account may not...
		bob.revoke(chain[0], nil, jwsOptions{}).wantProblem(t, http.StatusForbidden, "unauthorized")
		// ...nor a reason certmaker never revokes for (certificateHold)...
		alice.revoke(chain[0], reason(6), jwsOptions{}).wantProblem(t, http.StatusBadRequest, "badRevocationReason")
		// ...the owner's account may, once.
		alice.revoke(chain[0], reason(4), jwsOptions{}).want(t, http.StatusOK)
		revoked(t, chain[0], 4)
		alice.revoke(chain[0], nil, jwsOptions{}).wantProblem(t, http.StatusBadRequest, "alreadyRevoked")
	})
	t.Run("ByCertificateKey", func(t *testing.T) {
		alice.t, bob.t = t, t
		_, chain, key := alice.obtain(dns("www.app.test"))
		// Signed with a jwk that is not the certificate's key: refused.
		bob.revoke(chain[0], nil, jwsOptions{embedJWK: true}).wantProblem(t, http.StatusForbidden, "unauthorized")
		// Signed with the certificate's own key, by anyone: revoked.
		thief := e.newClient(key, jose.ES256)
		thief.t = t
		thief.revoke(chain[0], reason(1), jwsOptions{embedJWK: true}).want(t, http.StatusOK)
		revoked(t, chain[0], 1)
	})
	t.Run("SameUserOtherAccount", func(t *testing.T) {
		alice.t = t
		_, chain, _ := alice.obtain(dns("app.test"))
		other := e.newClient(newECKey(t), jose.ES256)
		other.t = t
		other.register("alice")
		other.revoke(chain[0], nil, jwsOptions{}).want(t, http.StatusOK)
		revoked(t, chain[0], 0)
	})
	t.Run("NotIssuedHere", func(t *testing.T) {
		alice.t = t
		alice.revoke(e.root(), nil, jwsOptions{}).wantProblem(t, http.StatusNotFound, "malformed")
	})
	t.Run("KeyOfAnotherCertificate", func(t *testing.T) {
		alice.t = t
		_, a, _ := alice.obtain(dns("app.test"))
		_, _, keyB := alice.obtain(dns("app.test"))
		c := e.newClient(keyB.(crypto.Signer), jose.ES256)
		c.t = t
		c.revoke(a[0], nil, jwsOptions{embedJWK: true}).wantProblem(t, http.StatusForbidden, "unauthorized")
	})
}
