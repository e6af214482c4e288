package ocsp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// testNow has a fraction of a second, so truncation shows.
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 678900000, time.UTC)

// clock is an injectable, settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingSigner counts signatures, to show what the cache saves.
type countingSigner struct {
	crypto.Signer
	n atomic.Int64
}

func (s *countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.n.Add(1)
	return s.Signer.Sign(r, digest, opts)
}

// root is a CA root made for the test.
type root struct {
	cert   *x509.Certificate
	signer *countingSigner
	fp     string
}

func newRoot(t testing.TB, cn string) *root {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newRootWithKey(t, cn, key)
}

func newRootWithKey(t testing.TB, cn string, key crypto.Signer) *root {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(t),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"certmaker test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return &root{cert: cert, signer: &countingSigner{Signer: key}, fp: hex.EncodeToString(sum[:])}
}

func (r *root) issuer() Issuer { return Issuer{Cert: r.cert, Signer: r.signer} }

// issue makes a leaf with the given serial, signed by r.
func (r *root) issue(t testing.TB, serial *big.Int) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "app.example.com"},
		DNSNames:     []string{"app.example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(0, 0, 7),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, r.cert, key.Public(), r.signer.Signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func randomSerial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatal(err)
	}
	return n.Add(n, big.NewInt(1))
}

// mapSource is the test's store: serial (decimal) to Status.
type mapSource struct {
	mu    sync.Mutex
	m     map[string]Status
	err   error
	calls atomic.Int64
}

func (s *mapSource) Status(serial *big.Int) (Status, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[serial.String()], s.err
}

func (s *mapSource) set(serial *big.Int, st Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]Status)
	}
	s.m[serial.String()] = st
}

// fixture is a responder with two roots (B made by a "rotation"), behind a
// real HTTP server.
type fixture struct {
	clock   *clock
	source  *mapSource
	a, b    *root
	issuers atomic.Pointer[[]Issuer]
	r       *Responder
	srv     *httptest.Server
}

const testValidity = 24 * time.Hour

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{t: testNow}, source: &mapSource{}, a: newRoot(t, "root A"), b: newRoot(t, "root B")}
	f.setIssuers(f.a.issuer(), f.b.issuer())
	cfg.Source = f.source
	cfg.Issuers = func() []Issuer { return *f.issuers.Load() }
	if cfg.Now == nil {
		cfg.Now = f.clock.Now
	}
	if cfg.Validity == 0 {
		cfg.Validity = testValidity
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.r = r
	f.srv = httptest.NewServer(r)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) setIssuers(list ...Issuer) { f.issuers.Store(&list) }

// good issues a leaf from rt and records it as good.
func (f *fixture) good(t testing.TB, rt *root, serial *big.Int) *x509.Certificate {
	t.Helper()
	leaf := rt.issue(t, serial)
	f.source.set(serial, Status{Issued: true, IssuerFingerprint: rt.fp})
	return leaf
}

func hashOIDFor(t testing.TB, h crypto.Hash) asn1.ObjectIdentifier {
	t.Helper()
	oid, err := hashOID(h)
	if err != nil {
		t.Fatal(err)
	}
	return oid
}

// Test-side ASN.1 of an OCSPRequest, since x/crypto/ocsp.CreateRequest can
// neither add a nonce nor ask for two certificates.
type testCertID struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	NameHash      []byte
	IssuerKeyHash []byte
	SerialNumber  *big.Int
}

type testSingleRequest struct{ Cert testCertID }

type testTBSRequest struct {
	Version     int `asn1:"explicit,tag:0,default:0,optional"`
	RequestList []testSingleRequest
	Extensions  []pkix.Extension `asn1:"explicit,tag:2,optional"`
}

type testOCSPRequest struct{ TBSRequest testTBSRequest }

var oidNonceTest = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}

// buildRequest makes a request for serials under issuer, with extnValue as
// the nonce extension's value when not nil.
func buildRequest(t testing.TB, h crypto.Hash, issuer *x509.Certificate, extnValue []byte, serials ...*big.Int) []byte {
	t.Helper()
	var tbs testTBSRequest
	for _, s := range serials {
		der, err := xocsp.CreateRequest(&x509.Certificate{SerialNumber: s}, issuer, &xocsp.RequestOptions{Hash: h})
		if err != nil {
			t.Fatal(err)
		}
		req, err := xocsp.ParseRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		tbs.RequestList = append(tbs.RequestList, testSingleRequest{Cert: testCertID{
			HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: hashOIDFor(t, h), Parameters: asn1.NullRawValue},
			NameHash:      req.IssuerNameHash,
			IssuerKeyHash: req.IssuerKeyHash,
			SerialNumber:  s,
		}})
	}
	if extnValue != nil {
		tbs.Extensions = []pkix.Extension{{Id: oidNonceTest, Value: extnValue}}
	}
	der, err := asn1.Marshal(testOCSPRequest{TBSRequest: tbs})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// nonceValue is a nonce's extnValue as RFC 8954 defines it: an OCTET STRING.
func nonceValue(t testing.TB, nonce []byte) []byte {
	t.Helper()
	v, err := asn1.Marshal(nonce)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func requestFor(t testing.TB, leaf, issuer *x509.Certificate, h crypto.Hash) []byte {
	t.Helper()
	der, err := xocsp.CreateRequest(leaf, issuer, &xocsp.RequestOptions{Hash: h})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// responseNonce returns the nonce in responseExtensions, which x/crypto/ocsp
// does not expose.
func responseNonce(t testing.TB, resp *xocsp.Response) []byte {
	t.Helper()
	var data struct {
		Version     int `asn1:"optional,default:0,explicit,tag:0"`
		ResponderID asn1.RawValue
		ProducedAt  time.Time `asn1:"generalized"`
		Responses   asn1.RawValue
		Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
	}
	if rest, err := asn1.Unmarshal(resp.TBSResponseData, &data); err != nil || len(rest) > 0 {
		t.Fatalf("parsing ResponseData: %v (%d bytes left)", err, len(rest))
	}
	for _, e := range data.Extensions {
		if e.Id.Equal(oidNonceTest) {
			return e.Value
		}
	}
	return nil
}

func get(t testing.TB, url string) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodGet, url, nil)
}

func post(t testing.TB, url string, body []byte) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodPost, url, body)
}

func do(t testing.TB, method, url string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/ocsp-request")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// keyHash is the SHA-1 hash of a root's public key bits: its CertID key hash
// and the ResponderID byKey.
func keyHash(t testing.TB, issuer *x509.Certificate) []byte {
	t.Helper()
	req, err := xocsp.ParseRequest(requestFor(t, &x509.Certificate{SerialNumber: big.NewInt(1)}, issuer, crypto.SHA1))
	if err != nil {
		t.Fatal(err)
	}
	return req.IssuerKeyHash
}

func writePEM(t testing.TB, dir, name string, cert *x509.Certificate) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// escapeAll escapes the base64 characters that a path may otherwise keep.
func escapeAll(b64 string) string {
	return strings.NewReplacer("/", "%2F", "+", "%2B", "=", "%3D").Replace(b64)
}
