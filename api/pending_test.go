package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"certmaker/store"
)

// TestChallenge_PendingCap: one token holder cannot fill the disk with
// pending challenges. Each user may have at most [challenge] max_pending
// (100) waiting; the next is a 429 that says so, for that user only, until
// some expire. What a pending CSR request keeps is its names and public
// key, not the CSR as sent (up to 64 KiB), so the file grows by little.
func TestChallenge_PendingCap(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnv(t, envOptions{challenge: true, clock: clock})

	csr := paddedCSR(t, "big.home.lan", 45<<10)
	if len(csr) < 60<<10 {
		t.Fatalf("the CSR is %d bytes, want about 61 KB", len(csr))
	}
	size := func() int64 {
		t.Helper()
		fi, err := os.Stat(e.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	var last string
	for i := range 100 {
		r := e.do("POST", "/api/certificate/request-with-csr", "alice", csr)
		if r.status != 202 {
			t.Fatalf("challenge %d: %d %q", i+1, r.status, r.body)
		}
		last = r.header.Get("X-Challenge-Location")
	}
	if grown := size() - before; grown > 1<<20 {
		t.Errorf("100 pending CSR requests grew the file by %d bytes: the CSRs are kept as sent", grown)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(e.path(last), "/api/challenge/"), "/solve")
	ch, err := e.db.Challenge(id)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ch.Request) + len(ch.PublicKey); n > 1024 {
		t.Errorf("a pending CSR request keeps %d bytes; want its names and key only", n)
	}

	for _, body := range []string{csr, `{"domains":["small.home.lan"]}`} {
		path := "/api/certificate/request"
		if strings.HasPrefix(body, "-----") {
			path += "-with-csr"
		}
		r := e.do("POST", path, "alice", body).want(t, 429)
		if !strings.Contains(r.body, "100 pending challenges") {
			t.Errorf("the refusal %q does not say what the limit is", r.body)
		}
	}
	// Another user is not held back by alice's.
	e.do("POST", "/api/certificate/request", "bob", `{"domains":["bob.home.lan"]}`).want(t, 202)

	// Once they expire, alice may open challenges again.
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	e.do("POST", "/api/certificate/request", "alice", `{"domains":["again.home.lan"]}`).want(t, 202)
}

// paddedCSR is a CSR for name made as large as a client may send: pad
// bytes in an extension the CA ignores.
func paddedCSR(t *testing.T, name string, pad int) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	junk, err := asn1.Marshal(make([]byte, pad))
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:         pkix.Name{CommonName: name},
		DNSNames:        []string{name},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1}, Value: junk}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// TestChallenge_OldCSRRecord: a pending CSR request stored by an earlier
// version (the CSR as sent) is still solved.
func TestChallenge_OldCSRRecord(t *testing.T) {
	site := newTokenSite(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{IPAddresses: []net.IP{net.ParseIP("127.0.0.2")}}, key)
	if err != nil {
		t.Fatal(err)
	}
	seed := func(db *store.DB) {
		now := time.Now().UTC()
		err := db.PutChallenge(store.Challenge{
			ID: "0123456789abcdef0123456789abcdef", Owner: "alice", Token: "old-token", CSR: true,
			Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			Days:    3, Created: now, Expires: now.Add(time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, envOptions{challenge: true, seed: seed})
	site.serve("127.0.0.2", "old-token")
	r := e.do("GET", "/api/challenge/0123456789abcdef0123456789abcdef/solve", "alice", "", "X-Challenge-Port", strconv.Itoa(site.port)).want(t, 200)
	leaf := e.cert("alice", e.path(r.header.Get("X-Certificate-Location")))
	if !leaf.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) || len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "127.0.0.2" {
		t.Errorf("issued for %v with another key or names", leaf.IPAddresses)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d != 3*24*time.Hour {
		t.Errorf("validity %v, want the stored 3 days", d)
	}
}
