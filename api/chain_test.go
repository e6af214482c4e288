package api_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"certmaker/ca"
)

// pemBlocks parses every CERTIFICATE block of s, in order.
func pemBlocks(t *testing.T, s string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			t.Fatalf("PEM block %q in a chain", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("trailing bytes after the PEM blocks: %q", rest)
	}
	return out
}

// TestObtain_Chain: a certificate is served with its intermediate, never
// with the root, and the chain verifies with only the root trusted: in Go,
// in openssl (root as -CAfile, intermediate as -untrusted), and with the
// intermediate fetched from the leaf's caIssuers URL without a token.
func TestObtain_Chain(t *testing.T) {
	e := newEnv(t, envOptions{})
	iss := e.ca.Active()
	root := e.ca.ActiveRoot()
	if iss.IsRoot() || iss.Parent != root {
		t.Fatalf("the active issuer is not an intermediate under the active root")
	}
	certPath, _ := e.issue("alice", `{"domains":["chain.home.lan"]}`)
	for _, prefix := range []string{"/api", "/api/v1"} {
		body := e.do("GET", strings.Replace(certPath, "/api", prefix, 1), "alice", "").want(t, 200).body
		chain := pemBlocks(t, body)
		if len(chain) != 2 || !chain[1].Equal(iss.Cert) {
			t.Fatalf("%s: chain of %d certificates, want the leaf and the intermediate", prefix, len(chain))
		}
		for _, c := range chain {
			if c.Equal(root.Cert) {
				t.Errorf("%s: the root is in the chain", prefix)
			}
		}
		roots, inter := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(root.Cert)
		inter.AddCert(chain[1])
		if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: "chain.home.lan"}); err != nil {
			t.Errorf("%s: the served chain does not verify under the root: %v", prefix, err)
		}
		if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: "chain.home.lan"}); err == nil {
			t.Errorf("%s: the leaf verifies under the root without its intermediate", prefix)
		}
	}
	leaf := e.cert("alice", certPath)

	// caIssuers names the intermediate, served as DER without a token.
	want := "http://ca.test:8880/api/issuer/" + iss.Fingerprint + ".crt"
	if len(leaf.IssuingCertificateURL) != 1 || leaf.IssuingCertificateURL[0] != want {
		t.Fatalf("caIssuers %q, want %q", leaf.IssuingCertificateURL, want)
	}
	r := e.do("GET", e.path(want), "", "").want(t, 200)
	if ct := r.header.Get("Content-Type"); ct != "application/pkix-cert" || !bytes.Equal([]byte(r.body), iss.Cert.Raw) {
		t.Errorf("caIssuers answer %q, %d bytes; want the intermediate's DER", ct, len(r.body))
	}
	e.do("GET", "/api/issuer/"+strings.Repeat("0", 64)+".crt", "", "").want(t, 404)
	if r := e.do("GET", "/api/issuer/"+root.Fingerprint+".crt", "", "").want(t, 200); !bytes.Equal([]byte(r.body), root.Cert.Raw) {
		t.Error("the root's caIssuers URL (in the intermediate) does not serve the root")
	}

	// The public downloads, without a token.
	if got := pemBlocks(t, e.do("GET", "/roots.pem", "", "").want(t, 200).body); len(got) != 1 || !got[0].Equal(root.Cert) {
		t.Errorf("/roots.pem holds %d certificates, want the root", len(got))
	}
	if got := pemBlocks(t, e.do("GET", "/intermediate.pem", "", "").want(t, 200).body); len(got) != 1 || !got[0].Equal(iss.Cert) {
		t.Errorf("/intermediate.pem holds %d certificates, want the intermediate", len(got))
	}

	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rootFile := write("root.pem", ca.CertPEM(root.Cert.Raw))
	interFile := write("intermediate.pem", ca.CertPEM(iss.Cert.Raw))
	leafFile := write("leaf.pem", ca.CertPEM(leaf.Raw))
	out, err := exec.Command(openssl, "verify", "-x509_strict", "-CAfile", rootFile, "-untrusted", interFile,
		"-purpose", "sslserver", "-verify_hostname", "chain.home.lan", leafFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Errorf("openssl verify: %v\n%s", err, out)
	}

	// Both CRLs, the intermediate's (of leaves) and the root's (of
	// intermediates), checked by openssl for the whole chain.
	leafCRL := e.crl(t, "/api/crl/"+iss.Fingerprint, iss.Cert)
	rootCRL := e.crl(t, "/api/crl/"+root.Fingerprint, root.Cert)
	if len(leafCRL.RevokedCertificateEntries)+len(rootCRL.RevokedCertificateEntries) != 0 {
		t.Error("a CRL lists something before any revocation")
	}
	if got := iss.Cert.CRLDistributionPoints; len(got) != 1 || got[0] != "http://ca.test:8880/api/crl/"+root.Fingerprint {
		t.Errorf("intermediate CRL DP %q, want the root's CRL", got)
	}
	crls := write("crls.pem", append(
		pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: leafCRL.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: rootCRL.Raw})...))
	out, err = exec.Command(openssl, "verify", "-crl_check_all", "-CRLfile", crls, "-CAfile", rootFile, "-untrusted", interFile, leafFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Errorf("openssl verify -crl_check_all: %v\n%s", err, out)
	}
	e.do("POST", strings.Replace(certPath, "/obtain", "/revoke", 1), "alice", "").want(t, 200)
	leafCRL = e.crl(t, "/api/crl/"+iss.Fingerprint, iss.Cert)
	crls = write("crls.pem", append(
		pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: leafCRL.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: rootCRL.Raw})...))
	out, err = exec.Command(openssl, "verify", "-crl_check_all", "-CRLfile", crls, "-CAfile", rootFile, "-untrusted", interFile, leafFile).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "revoked") {
		t.Errorf("openssl verify -crl_check_all passed a revoked leaf: %v\n%s", err, out)
	}
}
