package acme_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"certmaker/config"
	"certmaker/internal/alpntest"
	"certmaker/internal/dnstest"
)

// dnsValue is the TXT value that proves a dns-01 challenge (RFC 8555 8.4).
func (c *client) dnsValue(token string) string {
	sum := sha256.Sum256([]byte(c.keyAuthorization(token)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// respond posts a challenge and returns it as answered.
func (c *client) respond(ch challengeDoc) challengeDoc {
	c.t.Helper()
	var got challengeDoc
	c.post(ch.URL, struct{}{}, jwsOptions{}).want(c.t, http.StatusOK).json(c.t, &got)
	return got
}

// TestDNS01_Wildcard: a wildcard and its base name in one order, each
// proven by dns-01 (a TXT record each, at the same name); the wildcard's
// authorization names the base name with wildcard true and offers dns-01
// alone; the certificate holds both. The wildcard's proof is reused for
// the wildcard only.
func TestDNS01_Wildcard(t *testing.T) {
	dnsSrv := dnstest.Serve(t, "127.0.0.2")
	e := newEnv(t, envOptions{dns: dnsSrv})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")

	o := c.newOrder(dns("*.wild.test", "wild.test"))
	if want := dns("*.wild.test", "wild.test"); !slices.Equal(o.Identifiers, want) {
		t.Fatalf("order identifiers %v, want %v", o.Identifiers, want)
	}
	var values []string
	var chs []challengeDoc
	for _, u := range o.Authorizations {
		az := c.authz(u)
		var types []string
		for _, ch := range az.Challenges {
			types = append(types, ch.Type)
		}
		switch {
		case az.Wildcard:
			if az.Identifier != (identifier{"dns", "wild.test"}) || !slices.Equal(types, []string{"dns-01"}) {
				t.Errorf("wildcard authorization %+v offers %v, want wild.test with dns-01 alone", az.Identifier, types)
			}
		default:
			// tls-alpn-01 is not offered: its port, 443, is not allowed here.
			if az.Identifier != (identifier{"dns", "wild.test"}) || !slices.Equal(types, []string{"http-01", "dns-01"}) {
				t.Errorf("authorization %+v offers %v", az.Identifier, types)
			}
		}
		ch := challengeOf(t, az, "dns-01")
		values = append(values, c.dnsValue(ch.Token))
		chs = append(chs, ch)
	}
	dnsSrv.TXT("_acme-challenge.wild.test", values...)
	for _, ch := range chs {
		if got := c.respond(ch); got.Status != "valid" {
			t.Fatalf("dns-01: %+v", got)
		}
	}
	der, _ := csr(t, "", []string{"*.wild.test", "wild.test"}, nil)
	var fin orderDoc
	c.finalize(c.order(o.url), der).want(t, http.StatusOK).json(t, &fin)
	leaf := c.download(fin.Certificate)[0]
	if !slices.Equal(leaf.DNSNames, []string{"*.wild.test", "wild.test"}) {
		t.Errorf("certificate names %v", leaf.DNSNames)
	}
	pool := x509.NewCertPool()
	pool.AddCert(e.root())
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "nas.wild.test"}); err != nil {
		t.Errorf("the wildcard does not verify for nas.wild.test: %v", err)
	}

	// Reused: each proof for its own identifier again.
	if again := c.newOrder(dns("*.wild.test")); again.Status != "ready" {
		t.Errorf("a new order for the proven wildcard is %s, want ready", again.Status)
	}
	if again := c.newOrder(dns("wild.test")); again.Status != "ready" {
		t.Errorf("a new order for the proven base name is %s, want ready", again.Status)
	}
	// Another account proves only the base name: its wildcard is not.
	c2 := e.newClient(newECKey(t), jose.ES256)
	c2.register("alice")
	o2 := c2.newOrder(dns("wild.test"))
	ch := challengeOf(t, c2.authz(o2.Authorizations[0]), "dns-01")
	dnsSrv.TXT("_acme-challenge.wild.test", c2.dnsValue(ch.Token))
	if got := c2.respond(ch); got.Status != "valid" {
		t.Fatalf("dns-01 of the base name: %+v", got)
	}
	w := c2.newOrder(dns("*.wild.test"))
	if w.Status != "pending" {
		t.Errorf("the wildcard after proving only its base name is %s, want pending", w.Status)
	}
	if az := c2.authz(w.Authorizations[0]); !az.Wildcard || az.Status != "pending" {
		t.Errorf("the wildcard's authorization %+v", az)
	}
}

// TestDNS01_Refused: a wrong TXT value, none at all, a wildcard proven
// over http-01 (not offered): each is refused with its reason, and the
// reason repeats nothing the DNS holds.
func TestDNS01_Refused(t *testing.T) {
	dnsSrv := dnstest.Serve(t, "127.0.0.2")
	e := newEnv(t, envOptions{dns: dnsSrv})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")

	o := c.newOrder(dns("app.test"))
	ch := challengeOf(t, c.authz(o.Authorizations[0]), "dns-01")
	const secret = "S3CRET-not-the-value"
	dnsSrv.TXT("_acme-challenge.app.test", secret)
	got := c.respond(ch)
	if got.Status != "invalid" || got.Error == nil || got.Error.Type != "urn:ietf:params:acme:error:incorrectResponse" ||
		got.Error.Detail != "dns-01 for app.test: wrong TXT value at _acme-challenge.app.test" {
		t.Fatalf("a wrong TXT value: %+v %+v", got, got.Error)
	}
	if strings.Contains(got.Error.Detail, secret) {
		t.Errorf("detail %q repeats the TXT value", got.Error.Detail)
	}
	if fo := c.order(o.url); fo.Status != "invalid" || fo.Error == nil || fo.Error.Detail != got.Error.Detail {
		t.Errorf("order after a failed dns-01: %+v %+v", fo, fo.Error)
	}

	o = c.newOrder(dns("www.app.test"))
	got = c.respond(challengeOf(t, c.authz(o.Authorizations[0]), "dns-01"))
	if got.Status != "invalid" || got.Error == nil || got.Error.Type != "urn:ietf:params:acme:error:unauthorized" ||
		!strings.Contains(got.Error.Detail, "no TXT record at _acme-challenge.www.app.test") {
		t.Errorf("no TXT record: %+v %+v", got, got.Error)
	}
}

// TestTLSALPN01: a DNS name and an IP address proven with tls-alpn-01 on
// the configured port.
func TestTLSALPN01(t *testing.T) {
	srv := alpntest.Serve(t, "127.0.0.2:0", alpntest.Proof{Name: "nothing.test", KeyAuth: "x"})
	e := newEnv(t, envOptions{alpn: srv})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	o := c.newOrder([]identifier{{"dns", "app.test"}, {"ip", "127.0.0.2"}})
	var chs []challengeDoc
	for _, u := range o.Authorizations {
		az := c.authz(u)
		ch := challengeOf(t, az, "tls-alpn-01")
		sni := az.Identifier.Value
		hasDNS01 := slices.ContainsFunc(az.Challenges, func(c challengeDoc) bool { return c.Type == "dns-01" })
		if az.Identifier.Type == "ip" {
			sni = "2.0.0.127.in-addr.arpa"
		}
		if hasDNS01 != (az.Identifier.Type == "dns") {
			t.Errorf("%s offers dns-01: %v, want it for DNS names only", az.Identifier.Value, hasDNS01)
		}
		srv.SetFor(sni, alpntest.Proof{Name: az.Identifier.Value, KeyAuth: c.keyAuthorization(ch.Token)})
		chs = append(chs, ch)
	}
	for _, ch := range chs {
		if got := c.respond(ch); got.Status != "valid" {
			t.Fatalf("tls-alpn-01: %+v %+v", got, got.Error)
		}
	}
	der, _ := csr(t, "", []string{"app.test"}, []string{"127.0.0.2"})
	c.finalize(c.order(o.url), der).want(t, http.StatusOK)

	// The wrong key authorization: incorrectResponse.
	o = c.newOrder(dns("www.app.test"))
	ch := challengeOf(t, c.authz(o.Authorizations[0]), "tls-alpn-01")
	srv.SetFor("www.app.test", alpntest.Proof{Name: "www.app.test", KeyAuth: "someone else's"})
	got := c.respond(ch)
	if got.Status != "invalid" || got.Error == nil || got.Error.Type != "urn:ietf:params:acme:error:incorrectResponse" {
		t.Errorf("a wrong digest: %+v %+v", got, got.Error)
	}
}

// TestNewOrder_OffersAllowedPorts: an authorization offers only the
// challenges the checker may carry out: http-01 when [acme] http01_port
// is one of challenge.allowed_ports, tls-alpn-01 when tls_alpn01_port is.
// A client that picks one the checker refuses (Caddy tries tls-alpn-01
// on its own) would fail the whole authorization. A name no offered
// challenge can prove is refused at newOrder.
func TestNewOrder_OffersAllowedPorts(t *testing.T) {
	offered := func(c *client, ids []identifier) map[string][]string {
		c.t.Helper()
		out := map[string][]string{}
		for _, u := range c.newOrder(ids).Authorizations {
			az := c.authz(u)
			for _, ch := range az.Challenges {
				out[az.Identifier.Value] = append(out[az.Identifier.Value], ch.Type)
			}
		}
		return out
	}
	t.Run("HTTPOnly", func(t *testing.T) {
		e := newEnv(t, envOptions{}) // tls_alpn01_port 443 is not allowed
		c := e.newClient(newECKey(t), jose.ES256)
		c.register("alice")
		got := offered(c, []identifier{{"dns", "app.test"}, {"ip", "127.0.0.2"}})
		if !slices.Equal(got["app.test"], []string{"http-01", "dns-01"}) || !slices.Equal(got["127.0.0.2"], []string{"http-01"}) {
			t.Errorf("offered %v", got)
		}
	})
	t.Run("TLSOnly", func(t *testing.T) {
		srv := alpntest.Serve(t, "127.0.0.2:0", alpntest.Proof{Name: "nothing.test", KeyAuth: "x"})
		e := newEnv(t, envOptions{alpn: srv, configure: func(c *config.Config) { c.Challenge.AllowedPorts, c.Challenge.DefaultPort = []int{srv.Port}, srv.Port }})
		c := e.newClient(newECKey(t), jose.ES256)
		c.register("alice")
		got := offered(c, []identifier{{"dns", "app.test"}, {"ip", "127.0.0.2"}})
		if !slices.Equal(got["app.test"], []string{"dns-01", "tls-alpn-01"}) || !slices.Equal(got["127.0.0.2"], []string{"tls-alpn-01"}) {
			t.Errorf("offered %v", got)
		}
	})
	t.Run("None", func(t *testing.T) {
		e := newEnv(t, envOptions{configure: func(c *config.Config) {
			c.Challenge.AllowedPorts, c.Challenge.DefaultPort, c.ACME.HTTP01Port = []int{8}, 8, 9
		}})
		c := e.newClient(newECKey(t), jose.ES256)
		c.register("alice")
		p := c.post("/acme/new-order", map[string]any{"identifiers": []identifier{{"dns", "app.test"}, {"ip", "127.0.0.2"}}}, jwsOptions{}).
			wantProblem(t, http.StatusBadRequest, "rejectedIdentifier")
		if !strings.Contains(p.Detail, "127.0.0.2") || !strings.Contains(p.Detail, "allowed_ports") {
			t.Errorf("detail %q", p.Detail)
		}
		// A DNS name is still proven in DNS.
		if got := offered(c, dns("app.test")); !slices.Equal(got["app.test"], []string{"dns-01"}) {
			t.Errorf("offered %v", got)
		}
	})
}
