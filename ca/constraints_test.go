package ca_test

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"math/big"
	"net/netip"
	"strings"
	"testing"

	"certmaker/ca"
)

// constrainedIssuer is an intermediate under a root, both made with name
// constraints.
func constrainedIssuer(t *testing.T) *ca.Issuer {
	t.Helper()
	cfg := ca.RootConfig{
		KeyType: ca.KeyECDSAP256, Days: 3650, CommonName: "constrained", Country: "DE",
		IntermediateDays: 1095,
		Constraints: ca.NameConstraints{
			PermittedDNSDomains: []string{"home.lan", ".example.internal"},
			ExcludedDNSDomains:  []string{"secret.home.lan"},
			PermittedIPRanges:   []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fd00::/8")},
			ExcludedIPRanges:    []netip.Prefix{netip.MustParsePrefix("192.168.99.0/24")},
		},
	}
	r, err := ca.NewRoot(cfg, testNow)
	if err != nil {
		t.Fatal(err)
	}
	i, err := ca.NewIntermediate(r, cfg, testURL, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// Both tiers carry the constraints: a verifier that reads only the
// intermediate's, or only the root's, still holds the line.
func TestNameConstraints_RootExtension(t *testing.T) {
	iss := constrainedIssuer(t)
	for _, c := range []*x509.Certificate{iss.Parent.Cert, iss.Cert} {
		checkConstraints(t, c)
	}
	if unconstrained := mustRoot(t, ca.KeyECDSAP256, testNow); unconstrained.Cert.PermittedDNSDomainsCritical || len(unconstrained.Cert.PermittedDNSDomains) > 0 {
		t.Error("a root without configured constraints carries some")
	}
}

func checkConstraints(t *testing.T, c *x509.Certificate) {
	t.Helper()
	if !c.PermittedDNSDomainsCritical {
		t.Error("name constraints are not critical")
	}
	if strings.Join(c.PermittedDNSDomains, ",") != "home.lan,.example.internal" || strings.Join(c.ExcludedDNSDomains, ",") != "secret.home.lan" {
		t.Errorf("DNS constraints %v / %v", c.PermittedDNSDomains, c.ExcludedDNSDomains)
	}
	if len(c.PermittedIPRanges) != 2 || c.PermittedIPRanges[0].String() != "192.168.0.0/16" || c.ExcludedIPRanges[0].String() != "192.168.99.0/24" {
		t.Errorf("IP constraints %v / %v", c.PermittedIPRanges, c.ExcludedIPRanges)
	}
	if strings.Join(c.PermittedEmailAddresses, ",") != "home.lan,.home.lan,.example.internal" {
		t.Errorf("email constraints %v", c.PermittedEmailAddresses)
	}
}

func TestNameConstraints_Sign(t *testing.T) {
	root := constrainedIssuer(t)
	a := mustAuthority(t, testNow, root)
	cases := []struct {
		name  string
		req   ca.Request
		allow bool
	}{
		{"Domain", ca.Request{DNSNames: []string{"home.lan"}}, true},
		{"Subdomain", ca.Request{DNSNames: []string{"nas.home.lan"}}, true},
		{"WildcardBelowExclusion", ca.Request{DNSNames: []string{"*.secret.home.lan"}}, false},
		{"WildcardCoveringExclusion", ca.Request{DNSNames: []string{"*.home.lan"}}, false},
		{"WildcardInside", ca.Request{DNSNames: []string{"*.nas.home.lan"}}, true},
		{"OnlyBelow", ca.Request{DNSNames: []string{"app.example.internal"}}, true},
		{"DotFormExcludesApex", ca.Request{DNSNames: []string{"example.internal"}}, false},
		{"Outside", ca.Request{DNSNames: []string{"bank.example.com"}}, false},
		{"SuffixTrick", ca.Request{DNSNames: []string{"evilhome.lan"}}, false},
		{"Excluded", ca.Request{DNSNames: []string{"db.secret.home.lan"}}, false},
		{"OneOfTwoOutside", ca.Request{DNSNames: []string{"nas.home.lan", "google.com"}}, false},
		{"IPInRange", ca.Request{IPs: []netip.Addr{netip.MustParseAddr("192.168.1.20")}}, true},
		{"IPv6InRange", ca.Request{IPs: []netip.Addr{netip.MustParseAddr("fd00::20")}}, true},
		{"IPOutside", ca.Request{IPs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}}, false},
		{"IPExcluded", ca.Request{IPs: []netip.Addr{netip.MustParseAddr("192.168.99.5")}}, false},
		{"EmailInside", ca.Request{Emails: []string{"ops@home.lan"}}, true},
		{"EmailOutside", ca.Request{Emails: []string{"ops@gmail.com"}}, false},
	}
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := c.req
			if err := req.Normalize(); err != nil {
				t.Fatal(err)
			}
			issued, err := a.Sign(&req, mustKey(t, ca.KeyECDSAP256).Public())
			if !c.allow {
				if !errors.Is(err, ca.ErrInvalid) {
					t.Fatalf("Sign: %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			// Go's verifier enforces the same constraints on the chain.
			if _, err := parsed(t, issued).Verify(x509.VerifyOptions{Roots: pool, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Errorf("allowed leaf does not verify: %v", err)
			}
		})
	}
}

// Even a leaf that slipped past the check (signed directly with the root
// key) is rejected by verifiers: that is what makes the root safe to trust.
func TestNameConstraints_VerifierRejectsOutsideLeaf(t *testing.T) {
	root := constrainedIssuer(t)
	key := mustKey(t, ca.KeyECDSAP256)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		DNSNames:     []string{"www.bank.example"},
		NotBefore:    testNow,
		NotAfter:     testNow.AddDate(0, 0, 7),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.Cert, key.Public(), root.Signer)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: testNow, DNSName: "www.bank.example"})
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &invalid) || invalid.Reason != x509.CANotAuthorizedForThisName {
		t.Errorf("verification of an out-of-constraint leaf: %v, want CANotAuthorizedForThisName", err)
	}
}

func TestNormalizeConstraintDomain(t *testing.T) {
	good := map[string]string{"Home.LAN": "home.lan", ".home.lan": ".home.lan", "nas": "nas"}
	for in, want := range good {
		if got, err := ca.NormalizeConstraintDomain(in); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ".", "*.home.lan", "a..b", "192.168.1.1", "bad_name"} {
		if _, err := ca.NormalizeConstraintDomain(bad); !errors.Is(err, ca.ErrInvalid) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}
