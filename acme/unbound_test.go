package acme_test

import (
	"crypto/x509"
	"net/http"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"certmaker/ca"
	"certmaker/core"
)

// registerUnbound makes an account without a binding (require_eab = false).
func (c *client) registerUnbound() {
	c.t.Helper()
	r := c.post("/acme/new-account", map[string]any{"termsOfServiceAgreed": true}, jwsOptions{embedJWK: true}).want(c.t, http.StatusCreated)
	c.kid = r.header.Get("Location")
}

// TestRevokeCert_Unbound: accounts without a binding all act for the
// default user, and anyone may make one; so such an account revokes only
// what it ordered itself (or what its own key certifies, as anyone may),
// never another stranger's certificate or the default user's from the
// API. An account bound to the user still acts on all of the user's.
func TestRevokeCert_Unbound(t *testing.T) {
	e := newEnv(t, envOptions{noEAB: true, defaultUser: "bob"})
	a := e.newClient(newECKey(t), jose.ES256)
	a.registerUnbound()
	b := e.newClient(newECKey(t), jose.ES256)
	b.registerUnbound()

	orderA, chainA, _ := a.obtain(dns("app.test"))
	_, chainB, keyB := b.obtain(dns("other.test"))
	issued, err := e.app.Core.Issue(t.Context(), core.Actor{Door: core.DoorAPI, User: "bob"}, &ca.Request{DNSNames: []string{"api.test"}}, ca.KeyECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	apiCert, err := x509.ParseCertificate(issued.DER)
	if err != nil {
		t.Fatal(err)
	}

	// Another unbound account: neither A's certificate nor the API's.
	b.revoke(chainA[0], nil, jwsOptions{}).wantProblem(t, http.StatusForbidden, "unauthorized")
	b.revoke(apiCert, nil, jwsOptions{}).wantProblem(t, http.StatusForbidden, "unauthorized")
	// Nor may it download A's certificate.
	b.post(orderA.Certificate, nil, jwsOptions{}).wantProblem(t, http.StatusForbidden, "unauthorized")
	for _, c := range []*x509.Certificate{chainA[0], apiCert} {
		if stored, _ := e.db.Certificate(c.SerialNumber); stored.Revoked {
			t.Fatalf("certificate %s revoked by a stranger's account", c.SerialNumber)
		}
	}
	// The account that ordered it may.
	a.revoke(chainA[0], nil, jwsOptions{}).want(t, http.StatusOK)
	// The certificate's own key may, whoever holds it.
	holder := e.newClient(keyB, jose.ES256)
	holder.revoke(chainB[0], nil, jwsOptions{embedJWK: true}).want(t, http.StatusOK)
	// An account bound to the default user acts on all of its certificates.
	bound := e.newClient(newECKey(t), jose.ES256)
	bound.register("bob")
	bound.revoke(apiCert, nil, jwsOptions{}).want(t, http.StatusOK)
}
