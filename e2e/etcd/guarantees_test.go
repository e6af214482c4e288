package etcd

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"certmaker/internal/binarytest"
)

// Each cross-node guarantee, checked through the nodes as a client and an
// operator see them.

// withinASecond is the promise: a change through one node holds on every
// node within a second.
const withinASecond = time.Second

// tokensRefused disables user through node changeOn, and wants node seenOn,
// which has just let the token in (from its cache), to refuse it within a
// second; then it gives the user a new token through changeOn and wants
// seenOn to refuse the old one within a second and take the new one. An
// error says which promise was broken: the negative control expects one.
func tokensRefused(t *testing.T, f *fleet, user, token string, changeOn, seenOn int) (newToken string, err error) {
	t.Helper()
	for range 5 {
		if code, _, b := f.do(seenOn, "GET", "/api/certificates", token, ""); code != 200 {
			t.Fatalf("%s's token on node %d before the change: %d %s", user, seenOn, code, b)
		}
	}
	f.cli(changeOn, "user", "disable", user)
	start := time.Now()
	for {
		began := time.Now()
		if code, _, _ := f.do(seenOn, "GET", "/api/certificates", token, ""); code == http.StatusUnauthorized {
			t.Logf("node %d refused %s, disabled on node %d, after %v", seenOn, user, changeOn, time.Since(start).Round(time.Millisecond))
			break
		}
		if began.Sub(start) > withinASecond {
			return "", fmt.Errorf("node %d still lets %s in %v after node %d disabled the user", seenOn, user, time.Since(start).Round(time.Millisecond), changeOn)
		}
	}
	f.cli(changeOn, "user", "enable", user)
	// Let the cache of seenOn hold the enabled user again.
	within(t, time.Now(), 30*time.Second, user+" enabled again on node "+fmt.Sprint(seenOn), func() bool {
		code, _, _ := f.do(seenOn, "GET", "/api/certificates", token, "")
		return code == 200
	})
	newToken = strings.TrimSpace(f.cli(changeOn, "user", "token", user))
	start = time.Now()
	for {
		began := time.Now()
		// An unknown token is 404 (the API has always answered so).
		if code, _, _ := f.do(seenOn, "GET", "/api/certificates", token, ""); code == http.StatusNotFound {
			t.Logf("node %d refused %s's replaced token after %v", seenOn, user, time.Since(start).Round(time.Millisecond))
			break
		}
		if began.Sub(start) > withinASecond {
			return "", fmt.Errorf("node %d still takes %s's token %v after node %d replaced it", seenOn, user, time.Since(start).Round(time.Millisecond), changeOn)
		}
	}
	if code, _, b := f.do(seenOn, "GET", "/api/certificates", newToken, ""); code != 200 {
		return "", fmt.Errorf("node %d refuses %s's new token: %d %s", seenOn, user, code, b)
	}
	return newToken, nil
}

// issued is a certificate issued through a node, with its chain.
type issued struct {
	binarytest.Acked
	leaf, issuer *x509.Certificate
}

// issue asks node i for a certificate for name and reads it back.
func (f *fleet) issue(i int, token, name string) issued {
	f.t.Helper()
	a, err := binarytest.Issue(noRedirects, f.nodes[i].url, token, name, false)
	if err != nil {
		f.t.Fatalf("issuing %s through node %d: %v", name, i, err)
	}
	code, _, b := f.do(i, "GET", "/api/certificate/"+a.ID+"/obtain", token, "")
	if code != 200 {
		f.t.Fatalf("certificate %s: %d %s", a.ID, code, b)
	}
	chain := parsePEM(f.t, b)
	if len(chain) != 2 {
		f.t.Fatalf("certificate %s comes with %d certificates, want it and its issuer", a.ID, len(chain))
	}
	return issued{Acked: a, leaf: chain[0], issuer: chain[1]}
}

// ocsp asks node i about c, and returns the status and the answer's DER.
func (f *fleet) ocsp(i int, c issued) (int, []byte) {
	f.t.Helper()
	req, err := xocsp.CreateRequest(c.leaf, c.issuer, &xocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		f.t.Fatal(err)
	}
	code, _, b := f.do(i, "GET", "/api/ocsp/"+url.PathEscape(base64.StdEncoding.EncodeToString(req)), "", "")
	if code != 200 {
		f.t.Fatalf("OCSP through node %d: %d %s", i, code, b)
	}
	resp, err := xocsp.ParseResponseForCert(b, c.leaf, c.issuer)
	if err != nil {
		f.t.Fatalf("OCSP answer of node %d: %v", i, err)
	}
	return resp.Status, b
}

// crl fetches a CRL (path /api/crl or /api/crl/FINGERPRINT) from node i.
func (f *fleet) crl(i int, path string) *x509.RevocationList {
	f.t.Helper()
	code, _, b := f.do(i, "GET", path, "", "")
	if code != 200 {
		f.t.Fatalf("%s through node %d: %d %s", path, i, code, b)
	}
	l, err := x509.ParseRevocationList(b)
	if err != nil {
		f.t.Fatal(err)
	}
	return l
}

func lists(l *x509.RevocationList, serial *big.Int) bool {
	for _, e := range l.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(serial) == 0 {
			return true
		}
	}
	return false
}

// roots are node i's /roots.pem (every root), by fingerprint.
func (f *fleet) roots(i int) map[string]*x509.Certificate {
	f.t.Helper()
	code, _, b := f.do(i, "GET", "/roots.pem", "", "")
	if code != 200 {
		f.t.Fatalf("/roots.pem through node %d: %d %s", i, code, b)
	}
	out := map[string]*x509.Certificate{}
	for _, c := range parsePEM(f.t, b) {
		out[fingerprint(c.Raw)] = c
	}
	return out
}

// intermediate is node i's /intermediate.pem: the issuer it signs with,
// as it holds it in memory.
func (f *fleet) intermediate(i int) *x509.Certificate {
	f.t.Helper()
	code, _, b := f.do(i, "GET", "/intermediate.pem", "", "")
	if code != 200 {
		f.t.Fatalf("/intermediate.pem through node %d: %d %s", i, code, b)
	}
	certs := parsePEM(f.t, b)
	if len(certs) != 1 {
		f.t.Fatalf("/intermediate.pem of node %d holds %d certificates", i, len(certs))
	}
	return certs[0]
}

// hexFP is a fingerprint as a command prints it, as URLs hold it.
func hexFP(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
}

// dashboard is a browser's session cookie and CSRF token, sent to any node.
type dashboard struct {
	f              *fleet
	session, csrf  string
	formCookie, fv string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn gets the sign-in form from node formFrom and posts it to node
// postTo, as a balancer may send the two requests.
func (f *fleet) signIn(formFrom, postTo int, token string) *dashboard {
	f.t.Helper()
	d := &dashboard{f: f}
	req, _ := http.NewRequest("GET", f.nodes[formFrom].url+"/signin", nil)
	resp, err := noRedirects.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil || len(resp.Cookies()) == 0 {
		f.t.Fatalf("the sign-in form of node %d: %d", formFrom, resp.StatusCode)
	}
	form := url.Values{"csrf": {string(m[1])}, "token": {token}}
	req, _ = http.NewRequest("POST", f.nodes[postTo].url+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", f.lb.URL)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	resp, err = noRedirects.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "certmaker_session" {
			d.session = c.Value
		}
	}
	if resp.StatusCode != http.StatusSeeOther || d.session == "" {
		f.t.Fatalf("signing in with node %d's form on node %d: %d", formFrom, postTo, resp.StatusCode)
	}
	return d
}

// page gets a dashboard page from node i with the session: its status and
// body (and the page's CSRF token, kept for a post).
func (d *dashboard) page(i int, path string) (int, string) {
	d.f.t.Helper()
	req, _ := http.NewRequest("GET", d.f.nodes[i].url+path, nil)
	req.AddCookie(&http.Cookie{Name: "certmaker_session", Value: d.session})
	resp, err := noRedirects.Do(req)
	if err != nil {
		d.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindSubmatch(b); m != nil {
		d.csrf = string(m[1])
	}
	return resp.StatusCode, string(b)
}

// post posts a dashboard form to node i with the session.
func (d *dashboard) post(i int, path string, form url.Values) int {
	d.f.t.Helper()
	form.Set("csrf", d.csrf)
	req, _ := http.NewRequest("POST", d.f.nodes[i].url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", d.f.lb.URL)
	req.AddCookie(&http.Cookie{Name: "certmaker_session", Value: d.session})
	resp, err := noRedirects.Do(req)
	if err != nil {
		d.f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// jwsPost signs payload for url with key and nonce (RFC 8555 6.2, the key
// as a JWK) and posts it to node i; it returns the status, the problem
// type and the Replay-Nonce of the answer.
func (f *fleet) jwsPost(i int, key *ecdsa.PrivateKey, nonce, path, payload string) (int, string, string) {
	f.t.Helper()
	pad := func(b *big.Int) string { return base64.RawURLEncoding.EncodeToString(b.FillBytes(make([]byte, 32))) }
	hdr, _ := json.Marshal(map[string]any{
		"alg": "ES256", "nonce": nonce, "url": f.lb.URL + path,
		"jwk": map[string]string{"kty": "EC", "crv": "P-256", "x": pad(key.X), "y": pad(key.Y)},
	})
	prot, pl := base64.RawURLEncoding.EncodeToString(hdr), base64.RawURLEncoding.EncodeToString([]byte(payload))
	digest := sha256.Sum256([]byte(prot + "." + pl))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		f.t.Fatal(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	body, _ := json.Marshal(map[string]string{"protected": prot, "payload": pl, "signature": base64.RawURLEncoding.EncodeToString(sig)})
	req, _ := http.NewRequest("POST", f.nodes[i].url+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/jose+json")
	resp, err := noRedirects.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct{ Type string }
	json.NewDecoder(resp.Body).Decode(&p)
	return resp.StatusCode, p.Type, resp.Header.Get("Replay-Nonce")
}

// nonceFrom is a fresh nonce from node i.
func (f *fleet) nonceFrom(i int) string {
	f.t.Helper()
	_, h, _ := f.do(i, "HEAD", "/acme/new-nonce", "", "")
	n := h.Get("Replay-Nonce")
	if n == "" {
		f.t.Fatalf("node %d handed out no nonce", i)
	}
	return n
}

// newECKey is a P-256 key (crypto/rand never fails since Go 1.24).
func newECKey() *ecdsa.PrivateKey {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return k
}
