package powercut

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/ocsp"

	"certmaker/inventory"
)

// loss is one acknowledged write the restarted server does not have.
type loss struct {
	kind kind
	what string
	err  error
}

func (l loss) String() string { return fmt.Sprintf("%s %s: %v", l.kind, l.what, l.err) }

func lostCounts(losses []loss) (c counts) {
	for _, l := range losses {
		c[l.kind]++
	}
	return c
}

// verify asks the server at r.url, running on the file the cut left, for
// everything in the ledger: each certificate (with its key), its entry in
// `cert list` (owner, key, status), each revocation in OCSP and the CRL,
// and each ACME order still valid with its certificate. It returns what is
// missing or wrong; a write counts once however many checks it fails.
func (r *rig) verify(t *testing.T, l *ledger) []loss {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	// The intermediate signs the leaves, their OCSP answers and the CRL.
	root := r.issuer(t)
	listed := r.listed(t)

	var (
		mu     sync.Mutex
		losses []loss
		bad    = map[string]bool{} // kind+id already counted
	)
	lose := func(k kind, what string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if key := fmt.Sprint(k, what); !bad[key] {
			bad[key] = true
			losses = append(losses, loss{k, what, err})
		}
	}
	revoked := map[string]bool{}
	for _, id := range l.revoked {
		revoked[id] = true
	}

	work := make(chan func())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for f := range work {
				f()
			}
		})
	}
	for _, c := range l.certs {
		work <- func() {
			cert, err := r.checkCert(c)
			if err != nil {
				lose(c.kind, c.id, err)
				return
			}
			want := "valid"
			switch {
			case revoked[c.id]:
				want = "revoked"
			case l.revokeTried[c.id]:
				want = "" // cut off: either
			}
			if err := listedAs(listed, cert, c.key == nil, want); err != nil {
				lose(c.kind, c.id, err)
			}
			if revoked[c.id] {
				if err := r.checkOCSPRevoked(cert, root); err != nil {
					lose(kindRevoke, c.id, err)
				}
			}
		}
	}
	for _, o := range l.orders {
		o.client.HTTPClient = r.hc
	}
	for _, o := range l.orders {
		work <- func() {
			cert, err := checkOrder(o)
			if err != nil {
				lose(kindACME, o.url, err)
				return
			}
			if err := listedAs(listed, cert, false, "valid"); err != nil {
				lose(kindACME, o.url, err)
			}
		}
	}
	close(work)
	wg.Wait()

	crl := r.crlSerials(t, root)
	for _, id := range l.revoked {
		if !crl[id] {
			lose(kindRevoke, id, errors.New("not on the CRL"))
		}
	}
	return losses
}

// get is an authenticated GET that must answer 200.
func (r *rig) get(path string) ([]byte, error) {
	req, err := http.NewRequest("GET", r.url+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Auth-Token", r.token)
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return b, nil
}

func parsePEM(b []byte, what string) ([]byte, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s is not PEM", what)
	}
	return block.Bytes, nil
}

// issuer is the intermediate that signs: the leaves' issuer for OCSP, and
// the signer of the CRL of their revocations.
func (r *rig) issuer(t *testing.T) *x509.Certificate {
	t.Helper()
	b, err := r.get("/intermediate.pem")
	if err != nil {
		t.Fatal(err)
	}
	der, err := parsePEM(b, "the intermediate")
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// checkCert obtains the certificate and, for a simple request, its key,
// and checks that they belong together.
func (r *rig) checkCert(c issued) (*x509.Certificate, error) {
	b, err := r.get("/api/certificate/" + c.id + "/obtain")
	if err != nil {
		return nil, err
	}
	der, err := parsePEM(b, "the certificate")
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if len(cert.DNSNames) != 1 || cert.DNSNames[0] != c.name {
		return nil, fmt.Errorf("certificate names %v, want %s", cert.DNSNames, c.name)
	}
	key := c.key
	if key == nil {
		b, err := r.get("/api/privatekey/" + c.id + "/obtain")
		if err != nil {
			return nil, err
		}
		der, err := parsePEM(b, "the private key")
		if err != nil {
			return nil, err
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, err
		}
		signer, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("private key of type %T", k)
		}
		key = signer
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, errors.New("the key does not match the certificate")
	}
	return cert, nil
}

// checkOrder asks for the order with its account and downloads its
// certificate again.
func checkOrder(o order) (*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := o.client.GetOrder(ctx, o.url)
	if err != nil {
		return nil, err
	}
	if got.Status != acme.StatusValid || got.CertURL != o.certURL {
		return nil, fmt.Errorf("order is %s with certificate %q, want valid with %q", got.Status, got.CertURL, o.certURL)
	}
	chain, err := o.client.FetchCert(ctx, o.certURL, false)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(chain[0], o.leaf) {
		return nil, errors.New("the order's certificate differs from the one downloaded before the cut")
	}
	cert, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, err
	}
	if len(cert.DNSNames) != 1 || cert.DNSNames[0] != o.name {
		return nil, fmt.Errorf("certificate names %v, want %s", cert.DNSNames, o.name)
	}
	return cert, nil
}

// listed is `certmaker cert list --json` by id: the listing walks the
// indexes, so a certificate missing there lost an index entry.
func (r *rig) listed(t *testing.T) map[string]inventory.Certificate {
	t.Helper()
	var page inventory.Page
	if err := json.Unmarshal([]byte(r.cli(t, r.disk, "cert", "list", "--json")), &page); err != nil {
		t.Fatalf("cert list --json: %v", err)
	}
	byID := map[string]inventory.Certificate{}
	for _, c := range page.Certificates {
		byID[c.ID] = c
	}
	return byID
}

// listedAs checks a certificate's entry in the listing; status "" takes
// any.
func listedAs(listed map[string]inventory.Certificate, cert *x509.Certificate, hasKey bool, status string) error {
	c, ok := listed[cert.SerialNumber.String()]
	switch {
	case !ok:
		return errors.New("not in cert list")
	case c.Owner != "alice":
		return fmt.Errorf("cert list says owner %q, want alice", c.Owner)
	case c.HasPrivateKey != hasKey:
		return fmt.Errorf("cert list says has_private_key %v, want %v", c.HasPrivateKey, hasKey)
	case status != "" && c.Status != status:
		return fmt.Errorf("cert list says %s, want %s", c.Status, status)
	}
	return nil
}

func (r *rig) checkOCSPRevoked(cert, root *x509.Certificate) error {
	req, err := ocsp.CreateRequest(cert, root, nil)
	if err != nil {
		return err
	}
	resp, err := r.hc.Post(r.url+"/api/ocsp", "application/ocsp-request", bytes.NewReader(req))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	o, err := ocsp.ParseResponseForCert(b, cert, root)
	if err != nil {
		return fmt.Errorf("OCSP answer: %w", err)
	}
	if o.Status != ocsp.Revoked {
		return fmt.Errorf("OCSP says status %d, want revoked", o.Status)
	}
	return nil
}

// crlSerials is the set of serials (decimal) on the intermediate's CRL,
// checked against its signature.
func (r *rig) crlSerials(t *testing.T, root *x509.Certificate) map[string]bool {
	t.Helper()
	b, err := r.get("/api/crl")
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(b)
	if err != nil {
		t.Fatalf("CRL: %v", err)
	}
	if err := crl.CheckSignatureFrom(root); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	set := map[string]bool{}
	for _, e := range crl.RevokedCertificateEntries {
		set[e.SerialNumber.String()] = true
	}
	return set
}

// checkFile runs bbolt's consistency check on the file the cut left,
// before any certmaker opens it again.
func checkFile(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("opening %s after the cut: %v", path, err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	if err != nil {
		t.Fatalf("bbolt check of %s after the cut: %v", path, err)
	}
}
