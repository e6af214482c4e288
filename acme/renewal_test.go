package acme_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"certmaker/ca"
)

// certID is RFC 9773's name of a certificate, made here from the
// certificate alone.
func certID(c *x509.Certificate) string {
	serial := c.SerialNumber.Bytes()
	if serial[0]&0x80 != 0 {
		serial = append([]byte{0}, serial...)
	}
	return base64.RawURLEncoding.EncodeToString(c.AuthorityKeyId) + "." + base64.RawURLEncoding.EncodeToString(serial)
}

type renewalDoc struct {
	SuggestedWindow struct {
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
	} `json:"suggestedWindow"`
}

func (e *env) renewalInfo(c *x509.Certificate) (renewalDoc, response) {
	e.t.Helper()
	r := e.do(http.MethodGet, "/acme/renewal-info/"+certID(c), "", nil).want(e.t, http.StatusOK)
	var doc renewalDoc
	r.json(e.t, &doc)
	return doc, r
}

// TestRenewalInfo: a certificate's window is the first half of its last
// third; an operator's renew-soon pulls it forward for everything its CA
// issued until then, not for the renewals; unknown and malformed certIDs
// are refused.
func TestRenewalInfo(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	_, chain, _ := c.obtain(dns("app.test"))
	leaf := chain[0]

	doc, r := e.renewalInfo(leaf)
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	w := doc.SuggestedWindow
	if !w.Start.Equal(leaf.NotBefore.Add(life*2/3)) || !w.End.Equal(leaf.NotBefore.Add(life*5/6)) {
		t.Errorf("window %s..%s for a certificate of %s..%s", w.Start, w.End, leaf.NotBefore, leaf.NotAfter)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra <= 0 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}

	// The operator pulls every certificate of the intermediate forward.
	fp, win, err := e.ops.RenewSoon(t.Context(), e.ca.Active().Fingerprint[:16], time.Hour)
	if err != nil || fp != e.ca.Active().Fingerprint {
		t.Fatalf("RenewSoon: %s, %v", fp, err)
	}
	doc, _ = e.renewalInfo(leaf)
	if w := doc.SuggestedWindow; !w.Start.Equal(win.Start.Truncate(time.Second)) || !w.End.Equal(win.End.Truncate(time.Second)) || w.Start.After(time.Now()) {
		t.Errorf("pulled forward window %s..%s, want %s..%s", w.Start, w.End, win.Start, win.End)
	}
	// Its renewal, issued afterwards, has the usual window again; the
	// window survives a restart.
	_, renewed, _ := c.obtain(dns("app.test"))
	if doc, _ := e.renewalInfo(renewed[0]); doc.SuggestedWindow.Start.Before(time.Now().Add(time.Hour)) {
		t.Errorf("the renewal's window starts at %s", doc.SuggestedWindow.Start)
	}
	e.restart()
	c.nonce = "" // the old process's nonces are gone
	if doc, _ := e.renewalInfo(leaf); !doc.SuggestedWindow.Start.Equal(win.Start.Truncate(time.Second)) {
		t.Errorf("after a restart the window starts at %s", doc.SuggestedWindow.Start)
	}

	// The root's fingerprint pulls its intermediates' certificates too.
	root := e.ca.Active().Parent
	if _, _, err := e.ops.RenewSoon(t.Context(), root.Fingerprint, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if doc, _ := e.renewalInfo(renewed[0]); doc.SuggestedWindow.End.After(time.Now().Add(3 * time.Hour)) {
		t.Errorf("after renew-soon of the root, the renewal's window ends at %s", doc.SuggestedWindow.End)
	}

	// A revoked certificate's window has passed.
	c.post("/acme/revoke-cert", map[string]any{"certificate": base64.RawURLEncoding.EncodeToString(renewed[0].Raw)}, jwsOptions{}).want(t, http.StatusOK)
	if doc, _ := e.renewalInfo(renewed[0]); !doc.SuggestedWindow.End.Before(time.Now().Add(time.Second)) {
		t.Errorf("a revoked certificate's window ends at %s", doc.SuggestedWindow.End)
	}

	unknown := *leaf
	unknown.AuthorityKeyId = []byte("another CA's key id")
	e.do(http.MethodGet, "/acme/renewal-info/"+certID(&unknown), "", nil).wantProblem(t, http.StatusNotFound, "malformed")
	e.do(http.MethodGet, "/acme/renewal-info/"+certID(&x509.Certificate{AuthorityKeyId: leaf.AuthorityKeyId, SerialNumber: big.NewInt(123456789)}), "", nil).wantProblem(t, http.StatusNotFound, "malformed")
	for _, bad := range []string{"nodot", "!!.AQ", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.gA"} {
		e.do(http.MethodGet, "/acme/renewal-info/"+bad, "", nil).wantProblem(t, http.StatusBadRequest, "malformed")
	}
	if _, _, err := e.ops.RenewSoon(t.Context(), "00000000000000000000", time.Hour); err == nil {
		t.Error("RenewSoon of an unknown CA succeeded")
	}
}

// TestNewOrder_Replaces: an order may name the certificate it renews
// (RFC 9773 5) if the account ordered it and the two share an
// identifier; while another order that replaces it is not invalid, it is
// alreadyReplaced (409).
func TestNewOrder_Replaces(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	_, chain, _ := c.obtain(dns("app.test", "www.app.test"))
	id := certID(chain[0])
	c.post("/acme/new-order", map[string]any{"identifiers": dns("other.test"), "replaces": id}, jwsOptions{}).wantProblem(t, http.StatusBadRequest, "malformed")
	first := c.post("/acme/new-order", map[string]any{"identifiers": dns("www.app.test"), "replaces": id}, jwsOptions{}).want(t, http.StatusCreated)
	var replacing orderDoc
	first.json(t, &replacing)
	p := c.post("/acme/new-order", map[string]any{"identifiers": dns("app.test"), "replaces": id}, jwsOptions{}).wantProblem(t, http.StatusConflict, "alreadyReplaced")
	loc := first.header.Get("Location")
	if !strings.Contains(p.Detail, loc[strings.LastIndexByte(loc, '/')+1:]) {
		t.Errorf("detail %q does not name the order that replaces it", p.Detail)
	}
	// Once that order is invalid, another may replace the certificate.
	c.post(replacing.Authorizations[0], map[string]string{"status": "deactivated"}, jwsOptions{}).want(t, http.StatusOK)
	r := c.post("/acme/new-order", map[string]any{"identifiers": dns("app.test"), "replaces": id}, jwsOptions{}).want(t, http.StatusCreated)
	var o struct {
		Replaces string `json:"replaces"`
	}
	r.json(t, &o)
	if o.Replaces != id {
		t.Errorf("order replaces %q, want %q", o.Replaces, id)
	}
	other := e.newClient(newECKey(t), jose.ES256)
	other.register("alice")
	other.post("/acme/new-order", map[string]any{"identifiers": dns("app.test"), "replaces": id}, jwsOptions{}).wantProblem(t, http.StatusBadRequest, "malformed")
	c.post("/acme/new-order", map[string]any{"identifiers": dns("app.test"), "replaces": "garbage"}, jwsOptions{}).wantProblem(t, http.StatusBadRequest, "malformed")
}

// TestCertificate_Accept: the chain is served as PEM; a client that
// accepts only something else gets 406.
func TestCertificate_Accept(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	o, _, _ := c.obtain(dns("app.test"))
	for _, accept := range []string{"application/pem-certificate-chain", "*/*", "application/*;q=0.5", "text/html, application/pem-certificate-chain;q=0.9"} {
		r := c.post(o.Certificate, nil, jwsOptions{accept: accept}).want(t, http.StatusOK)
		if r.header.Get("Content-Type") != "application/pem-certificate-chain" {
			t.Errorf("Accept %q: %q", accept, r.header.Get("Content-Type"))
		}
	}
	for _, accept := range []string{"application/pkix-cert", "application/json", "application/pem-certificate-chain;q=0"} {
		c.post(o.Certificate, nil, jwsOptions{accept: accept}).wantProblem(t, http.StatusNotAcceptable, "malformed")
	}
}

// TestFinalize_MustStaple: a CSR asking for must-staple gets it; one
// asking for another TLS feature is badCSR.
func TestFinalize_MustStaple(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	for _, tc := range []struct {
		name    string
		feature []byte
		ok      bool
	}{
		{"status_request", []byte{0x30, 0x03, 0x02, 0x01, 0x05}, true},
		{"status_request_v2", []byte{0x30, 0x03, 0x02, 0x01, 0x11}, false},
	} {
		o := c.newOrder(dns("app.test"))
		c.answer(o)
		key := newECKey(t)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"app.test"},
			ExtraExtensions: []pkix.Extension{{Id: ca.OIDTLSFeature, Value: tc.feature}}}, key)
		if err != nil {
			t.Fatal(err)
		}
		r := c.finalize(c.order(o.url), der)
		if !tc.ok {
			r.wantProblem(t, http.StatusBadRequest, "badCSR")
			continue
		}
		var fin orderDoc
		r.want(t, http.StatusOK).json(t, &fin)
		leaf := c.download(fin.Certificate)[0]
		if !slices.ContainsFunc(leaf.Extensions, func(x pkix.Extension) bool { return x.Id.Equal(ca.OIDTLSFeature) }) {
			t.Errorf("%s: the leaf has no TLS Feature extension", tc.name)
		}
	}
}
