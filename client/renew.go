package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Renewal keeps a certificate and its key in two files fresh: it does
// nothing while the certificate is fresh, and replaces both files when the
// certificate is missing, due, revoked or for other names.
type Renewal struct {
	Client  *Client
	Request Request // the names, days and key type to ask for
	// CSR makes the key on this machine and sends a CSR; the key never
	// leaves it. Otherwise the server makes the key.
	CSR bool
	// CertFile and KeyFile are written atomically, the key 0600.
	CertFile, KeyFile string
	// Chain writes every certificate the server serves for the leaf
	// (leaf first), not only the leaf.
	Chain       bool
	RenewBefore Window
	Solver      Solver
	// PostHook runs with sh -c after the files changed, never otherwise.
	PostHook string
	Now      func() time.Time
	// Out gets one line saying what happened.
	Out io.Writer
}

// Run renews if needed and reports whether the files changed. On any error
// before the files are replaced, the previous pair stays as it was.
func (r *Renewal) Run(ctx context.Context) (bool, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	why, err := r.due(ctx, now())
	if err != nil {
		return false, err
	}
	if why == "" {
		return false, nil
	}
	certPEM, keyPEM, err := r.obtain(ctx)
	if err != nil {
		return false, err
	}
	leaf, err := checkPair(certPEM, keyPEM)
	if err != nil {
		return false, fmt.Errorf("the server's answer: %w", err)
	}
	// The key first: a certificate without its new key is worse than the
	// old certificate with the old key for a moment.
	if err := WriteAtomic(r.KeyFile, keyPEM, 0o600); err != nil {
		return false, err
	}
	if err := WriteAtomic(r.CertFile, certPEM, 0o644); err != nil {
		return false, err
	}
	fmt.Fprintf(r.Out, "%s: %s; new certificate %s valid until %s\n", r.CertFile, why, leaf.SerialNumber, leaf.NotAfter.UTC().Format(time.RFC3339))
	if r.PostHook != "" {
		cmd := exec.CommandContext(ctx, "sh", "-c", r.PostHook)
		cmd.Stdout, cmd.Stderr = r.Out, os.Stderr
		if err := cmd.Run(); err != nil {
			return true, fmt.Errorf("the files were renewed, but the post hook failed: %w", err)
		}
	}
	return true, nil
}

// due says why the certificate must be renewed, or "" (and one line on
// Out) when it is fresh.
func (r *Renewal) due(ctx context.Context, now time.Time) (string, error) {
	certPEM, err := os.ReadFile(r.CertFile)
	if errors.Is(err, os.ErrNotExist) {
		return "no certificate yet", nil
	}
	if err != nil {
		return "", err
	}
	keyPEM, err := os.ReadFile(r.KeyFile)
	if errors.Is(err, os.ErrNotExist) {
		return "no key yet", nil
	}
	if err != nil {
		return "", err
	}
	leaf, err := checkPair(certPEM, keyPEM)
	if err != nil {
		return "the files on disk are unusable (" + err.Error() + ")", nil
	}
	if !sameNames(leaf, r.Request) {
		return "the names asked for changed", nil
	}
	renewAt := r.RenewBefore.RenewAt(leaf.NotBefore, leaf.NotAfter)
	if !now.Before(renewAt) {
		if !now.Before(leaf.NotAfter) {
			return "the certificate expired", nil
		}
		return "the certificate is due (renewing " + r.RenewBefore.String() + " before it ends)", nil
	}
	if revoked, err := r.revoked(ctx, leaf); err != nil {
		fmt.Fprintf(r.Out, "%s: could not ask OCSP (%v); going by the dates\n", r.CertFile, err)
	} else if revoked {
		return "the server says the certificate is revoked", nil
	}
	fmt.Fprintf(r.Out, "%s: fresh until %s; renewing from %s\n", r.CertFile,
		leaf.NotAfter.UTC().Format(time.RFC3339), renewAt.UTC().Format(time.RFC3339))
	return "", nil
}

// revoked asks the certificate's OCSP responder, with its issuer (the
// intermediate, from the leaf's caIssuers URL; the root for a one-tier
// CA's leaf) checked to have signed it; a certificate of an issuer that
// is neither is not asked about.
func (r *Renewal) revoked(ctx context.Context, leaf *x509.Certificate) (bool, error) {
	if len(leaf.OCSPServer) == 0 {
		return false, nil
	}
	issuer, err := r.issuerOf(ctx, leaf)
	if err != nil || issuer == nil {
		return false, err
	}
	req, err := ocsp.CreateRequest(leaf, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return false, err
	}
	hreq, err := httpPost(ctx, leaf.OCSPServer[0], req)
	if err != nil {
		return false, err
	}
	resp, err := r.Client.HTTP().Do(hreq)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return false, err
	}
	answer, err := ocsp.ParseResponseForCert(body, leaf, issuer)
	if err != nil {
		return false, err
	}
	return answer.Status == ocsp.Revoked, nil
}

// issuerOf fetches the certificate that signed leaf, nil if it is
// neither the caIssuers one nor the server's root.
func (r *Renewal) issuerOf(ctx context.Context, leaf *x509.Certificate) (*x509.Certificate, error) {
	if len(leaf.IssuingCertificateURL) > 0 {
		der, err := r.Client.GetDER(ctx, leaf.IssuingCertificateURL[0])
		if err != nil {
			return nil, err
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("the issuer certificate: %w", err)
		}
		if leaf.CheckSignatureFrom(c) == nil {
			return c, nil
		}
		return nil, nil
	}
	rootPEM, err := r.Client.Root(ctx)
	if err != nil {
		return nil, err
	}
	root, err := parseCert(rootPEM)
	if err != nil {
		return nil, err
	}
	if leaf.CheckSignatureFrom(root) != nil {
		return nil, nil // issued by a root since rotated out
	}
	return root, nil
}

// obtain asks for a new certificate (solving a challenge if the server
// wants one) and returns the certificate PEM to write and its key.
func (r *Renewal) obtain(ctx context.Context) (certPEM, keyPEM []byte, err error) {
	var is *Issued
	var pending *Pending
	if r.CSR {
		key, err := newKey(r.Request.KeyType)
		if err != nil {
			return nil, nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		csr, err := newCSR(key, r.Request)
		if err != nil {
			return nil, nil, err
		}
		is, pending, err = r.Client.RequestCSR(ctx, csr, r.Request.Days)
		if err != nil {
			return nil, nil, err
		}
	} else {
		is, pending, err = r.Client.Request(ctx, r.Request)
		if err != nil {
			return nil, nil, err
		}
	}
	if pending != nil {
		if is, err = r.Solver.solve(ctx, r.Client, pending); err != nil {
			return nil, nil, err
		}
	}
	served, err := r.Client.Get(ctx, is.CertURL)
	if err != nil {
		return nil, nil, err
	}
	certPEM = served
	if !r.Chain {
		block, _ := pem.Decode(served)
		if block == nil {
			return nil, nil, errors.New("the server's certificate is not PEM")
		}
		certPEM = pem.EncodeToMemory(block)
	}
	if !r.CSR {
		if is.KeyURL == "" {
			return nil, nil, errors.New("the server sent no private key location")
		}
		if keyPEM, err = r.Client.Get(ctx, is.KeyURL); err != nil {
			return nil, nil, err
		}
	}
	return certPEM, keyPEM, nil
}

// newKey makes a key of a certmaker key type name locally.
func newKey(kt string) (crypto.Signer, error) {
	switch kt {
	case "", "ecdsa-p256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa-p384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa-2048", "rsa-3072", "rsa-4096":
		bits := map[string]int{"rsa-2048": 2048, "rsa-3072": 3072, "rsa-4096": 4096}[kt]
		return rsa.GenerateKey(rand.Reader, bits)
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("key type %q: want ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519", kt)
}

func newCSR(key crypto.Signer, req Request) ([]byte, error) {
	tmpl := &x509.CertificateRequest{DNSNames: req.Domains, EmailAddresses: req.Emails}
	for _, s := range req.IPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("ip %q is not an IP address", s)
		}
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	if len(req.Domains) > 0 {
		tmpl.Subject = pkix.Name{CommonName: req.Domains[0]}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("making the CSR: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// checkPair parses the first certificate of certPEM and checks that keyPEM
// holds its private key.
func checkPair(certPEM, keyPEM []byte) (*x509.Certificate, error) {
	leaf, err := parseCert(certPEM)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("the key is not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the key does not parse: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("the key cannot sign")
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return nil, errors.New("the key does not belong to the certificate")
	}
	return leaf, nil
}

func parseCert(p []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(p)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// sameNames reports whether leaf carries exactly the names asked for, so
// that adding a name to the command renews at once.
func sameNames(leaf *x509.Certificate, req Request) bool {
	norm := func(ss []string) []string {
		out := make([]string, 0, len(ss))
		for _, s := range ss {
			out = append(out, strings.ToLower(strings.TrimSuffix(s, ".")))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	var want []string
	for _, s := range req.IPs {
		if ip := net.ParseIP(s); ip != nil {
			want = append(want, ip.String())
		}
	}
	return slices.Equal(norm(leaf.DNSNames), norm(req.Domains)) &&
		slices.Equal(norm(ips), norm(want)) &&
		slices.Equal(norm(leaf.EmailAddresses), norm(req.Emails))
}

// WriteAtomic replaces path with data (mode mode): a temporary file in the same
// directory, synced, then renamed over it, then the directory synced. A
// crash leaves the old file or the new one, never half of either.
func WriteAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := io.Copy(f, bytes.NewReader(data)); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
