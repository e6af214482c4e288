package acme_test

import (
	"crypto/ecdsa"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestFailedChallenge: a wrong answer, an unreachable host and a missing
// token each leave the challenge invalid with a problem document naming
// the identifier and why, and the order invalid.
func TestFailedChallenge(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	cases := []struct {
		name   string
		id     string
		answer func(token string) string // "" serves nothing
		typ    string
		detail string
	}{
		{"WrongKeyAuthorization", "app.test", func(token string) string { return token + ".not-the-thumbprint" }, "incorrectResponse", "wrong token"},
		{"OtherAccountsKey", "app.test", func(token string) string {
			return e.newClient(newECKey(t), jose.ES256).keyAuthorization(token)
		}, "incorrectResponse", "wrong token"},
		{"NotServed", "other.test", func(string) string { return "" }, "unauthorized", "HTTP 404"},
		{"ConnectionRefused", "down.test", func(string) string { return "" }, "connection", "connection refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			o := c.newOrder(dns(tc.id))
			az := c.authz(o.Authorizations[0])
			ch := http01(t, az)
			if body := tc.answer(ch.Token); body != "" {
				e.solver.set(ch.Token, body)
			}
			var got challengeDoc
			c.post(ch.URL, struct{}{}, jwsOptions{}).want(t, http.StatusOK).json(t, &got)
			if got.Status != "invalid" || got.Error == nil {
				t.Fatalf("challenge %+v", got)
			}
			if got.Error.Type != "urn:ietf:params:acme:error:"+tc.typ || !strings.Contains(got.Error.Detail, tc.id) || !strings.Contains(got.Error.Detail, tc.detail) {
				t.Errorf("challenge error %+v, want %s naming %s and %q", got.Error, tc.typ, tc.id, tc.detail)
			}
			if az := c.authz(o.Authorizations[0]); az.Status != "invalid" {
				t.Errorf("authorization %s, want invalid", az.Status)
			}
			after := c.order(o.url)
			if after.Status != "invalid" || after.Error == nil || after.Error.Type != got.Error.Type {
				t.Errorf("order %+v", after)
			}
			// A second answer does not validate again; the challenge stays as it is.
			e.solver.set(ch.Token, c.keyAuthorization(ch.Token))
			var again challengeDoc
			c.post(ch.URL, struct{}{}, jwsOptions{}).want(t, http.StatusOK).json(t, &again)
			if again.Status != "invalid" {
				t.Errorf("challenge answered again: %s", again.Status)
			}
			der, _ := csr(t, "", []string{tc.id}, nil)
			c.finalize(after, der).wantProblem(t, http.StatusForbidden, "orderNotReady")
		})
	}
}

// TestOtherAccount: an order, its authorizations, challenges, finalize
// and certificate are only for the account that made the order.
func TestOtherAccount(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.newClient(newECKey(t), jose.ES256)
	alice.register("alice")
	bob := e.newClient(newECKey(t), jose.ES256)
	bob.register("bob")
	// Another account of the same user is still another account.
	alice2 := e.newClient(newECKey(t), jose.ES256)
	alice2.register("alice")

	pending := alice.newOrder(dns("app.test"))
	az := alice.authz(pending.Authorizations[0])
	ch := http01(t, az)
	done, _, _ := alice.obtain(dns("www.app.test"))
	der, _ := csr(t, "", []string{"app.test"}, nil)
	for name, c := range map[string]*client{"OtherUser": bob, "SameUserOtherAccount": alice2} {
		t.Run(name, func(t *testing.T) {
			c.t = t
			for _, url := range []string{pending.url, pending.Authorizations[0], ch.URL, done.Certificate} {
				c.post(url, nil, jwsOptions{}).wantProblem(t, http.StatusForbidden, "unauthorized")
			}
			c.post(ch.URL, struct{}{}, jwsOptions{}).wantProblem(t, http.StatusForbidden, "unauthorized")
			c.finalize(pending, der).wantProblem(t, http.StatusForbidden, "unauthorized")
			c.post(pending.Authorizations[0], map[string]string{"status": "deactivated"}, jwsOptions{}).
				wantProblem(t, http.StatusForbidden, "unauthorized")
		})
	}
	// Nothing bob tried changed alice's challenge.
	if got := http01(t, alice.authz(pending.Authorizations[0])); got.Status != "pending" {
		t.Errorf("alice's challenge is %s after bob's attempts", got.Status)
	}
	t.Run("Unknown", func(t *testing.T) {
		alice.t = t
		alice.post(e.url+"/acme/order/nope", nil, jwsOptions{}).wantProblem(t, http.StatusNotFound, "malformed")
		alice.post(e.url+"/acme/cert/12345", nil, jwsOptions{}).wantProblem(t, http.StatusNotFound, "malformed")
	})
}

// TestFinalize_BadCSR: the CSR must name exactly the order's identifiers.
func TestFinalize_BadCSR(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	o := c.newOrder([]identifier{{"dns", "app.test"}, {"ip", "127.0.0.3"}})
	if st := c.order(o.url).Status; st != "pending" {
		t.Fatalf("new order is %s", st)
	}
	good, _ := csr(t, "", []string{"app.test"}, []string{"127.0.0.3"})
	c.finalize(o, good).wantProblem(t, http.StatusForbidden, "orderNotReady")
	c.answer(o)
	if st := c.order(o.url).Status; st != "ready" {
		t.Fatalf("answered order is %s", st)
	}

	accountKey := c.key.(*ecdsa.PrivateKey)
	names := func(cn string, dnsNames ...string) []byte {
		d, _ := csr(t, cn, dnsNames, []string{"127.0.0.3"})
		return d
	}
	missingIP, _ := csr(t, "", []string{"app.test"}, nil)
	cases := []struct {
		name string
		der  []byte
	}{
		{"MissingIP", missingIP},
		{"ExtraName", names("", "app.test", "www.app.test")},
		{"OtherName", names("", "other.test")},
		{"CommonNameOutsideOrder", names("evil.test", "app.test")},
		{"AccountKey", csrWithKey(t, accountKey, "", []string{"app.test"}, []string{"127.0.0.3"})},
		{"Garbage", []byte("not a csr")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.finalize(o, tc.der).wantProblem(t, http.StatusBadRequest, "badCSR")
		})
	}
	t.Run("NotBase64url", func(t *testing.T) {
		c.t = t
		c.post(o.Finalize, map[string]string{"csr": base64.StdEncoding.EncodeToString(good) + "=="}, jwsOptions{}).
			wantProblem(t, http.StatusBadRequest, "badCSR")
	})
	// The refusals left the order ready; the right CSR (in any order, with
	// the CN one of the names) is issued, once.
	t.Run("Good", func(t *testing.T) {
		c.t = t
		der, _ := csr(t, "127.0.0.3", []string{"APP.test"}, []string{"127.0.0.3"})
		var fin orderDoc
		c.finalize(o, der).want(t, http.StatusOK).json(t, &fin)
		if fin.Status != "valid" || fin.Certificate == "" {
			t.Fatalf("order %+v", fin)
		}
		c.finalize(o, der).wantProblem(t, http.StatusForbidden, "orderNotReady")
	})
}

// TestDeactivateAuthz: a deactivated authorization makes its order invalid.
func TestDeactivateAuthz(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	o := c.newOrder(dns("app.test"))
	var az authzDoc
	c.post(o.Authorizations[0], map[string]string{"status": "deactivated"}, jwsOptions{}).want(t, http.StatusOK).json(t, &az)
	if az.Status != "deactivated" {
		t.Errorf("authorization %s", az.Status)
	}
	if st := c.order(o.url).Status; st != "invalid" {
		t.Errorf("order %s, want invalid", st)
	}
}
