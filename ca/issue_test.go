package ca_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"certmaker/ca"
)

// verifyFor checks that leaf chains to exactly root, in a pool holding only
// root, for the host name or IP address name.
func verifyFor(t testing.TB, leaf *x509.Certificate, name string, at time.Time, roots ...*x509.Certificate) ([][]*x509.Certificate, error) {
	t.Helper()
	return leaf.Verify(x509.VerifyOptions{
		DNSName:     name,
		Roots:       poolOf(roots...),
		CurrentTime: at,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
}

func TestNew(t *testing.T) {
	ok := ca.Config{PublicURL: testURL, DefaultDays: 7, MinDays: 1, MaxDays: 182}
	tests := []struct {
		name    string
		change  func(*ca.Config)
		wantErr bool
	}{
		{name: "Defaults", change: func(*ca.Config) {}},
		{name: "DefaultIsMin", change: func(c *ca.Config) { c.DefaultDays = 1 }},
		{name: "DefaultIsMax", change: func(c *ca.Config) { c.DefaultDays = 182 }},
		{name: "EmptyPublicURL", change: func(c *ca.Config) { c.PublicURL = "" }, wantErr: true},
		{name: "MinDaysZero", change: func(c *ca.Config) { c.MinDays = 0 }, wantErr: true},
		{name: "MaxBelowMin", change: func(c *ca.Config) { c.MinDays, c.MaxDays = 10, 9 }, wantErr: true},
		{name: "DefaultBelowMin", change: func(c *ca.Config) { c.MinDays = 8 }, wantErr: true},
		{name: "DefaultAboveMax", change: func(c *ca.Config) { c.DefaultDays = 183 }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			a, err := ca.New(cfg)
			if tt.wantErr {
				if err == nil {
					t.Errorf("New(%+v) succeeded, want an error", cfg)
				}
				return
			}
			if err != nil || a == nil {
				t.Fatalf("New(%+v): %v", cfg, err)
			}
			if a.Active() != nil || len(a.Roots()) != 0 {
				t.Errorf("a new authority already has roots")
			}
		})
	}
}

func TestAuthority_Days(t *testing.T) {
	a, err := ca.New(ca.Config{PublicURL: testURL, DefaultDays: 7, MinDays: 3, MaxDays: 182})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[int]int{0: 7, 1: 3, 3: 3, 30: 30, 182: 182, 183: 182, 10000: 182, -5: 3} {
		if got := a.Days(in); got != want {
			t.Errorf("Days(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestAuthority_PublicURL(t *testing.T) {
	a, err := ca.New(ca.Config{PublicURL: testURL + "//", DefaultDays: 7, MinDays: 1, MaxDays: 182})
	if err != nil {
		t.Fatal(err)
	}
	if a.PublicURL() != testURL {
		t.Errorf("PublicURL() = %q, want %q without trailing slashes", a.PublicURL(), testURL)
	}
	root := mustIssuer(t, ca.KeyECDSAP256, time.Now())
	add(a, root, true)
	leaf := mustSign(t, a, &ca.Request{DNSNames: []string{"app.example.com"}}, mustKey(t, ca.KeyECDSAP256).Public())
	if want := []string{testURL + "/api/ocsp"}; !slices.Equal(leaf.OCSPServer, want) {
		t.Errorf("OCSP %q, want %q", leaf.OCSPServer, want)
	}
}

func TestSign_Validity(t *testing.T) {
	root := mustIssuer(t, ca.KeyECDSAP256, testNow.Add(-time.Hour))
	a, err := ca.New(ca.Config{
		PublicURL: testURL, DefaultDays: 7, MinDays: 3, MaxDays: 182,
		// A clock between seconds: certificates say whole seconds.
		Now: func() time.Time { return testNow.Add(700 * time.Millisecond) },
	})
	if err != nil {
		t.Fatal(err)
	}
	add(a, root, true)
	pub := mustKey(t, ca.KeyECDSAP256).Public()
	tests := []struct {
		name     string
		days     int
		wantDays int
	}{
		{name: "Default", days: 0, wantDays: 7},
		{name: "Asked", days: 30, wantDays: 30},
		{name: "Min", days: 3, wantDays: 3},
		{name: "BelowMin", days: 1, wantDays: 3},
		{name: "Negative", days: -10, wantDays: 3},
		{name: "Max", days: 182, wantDays: 182},
		{name: "AboveMax", days: 400, wantDays: 182},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := mustSign(t, a, &ca.Request{DNSNames: []string{"app.example.com"}, Days: tt.days}, pub)
			if !leaf.NotBefore.Equal(testNow) {
				t.Errorf("NotBefore %v, want the clock %v", leaf.NotBefore, testNow)
			}
			if got, want := leaf.NotAfter.Sub(leaf.NotBefore), time.Duration(tt.wantDays)*24*time.Hour; got != want {
				t.Errorf("validity %v (%v days), want %d days", got, got.Hours()/24, tt.wantDays)
			}
		})
	}
}

func TestSign_NeverOutlivesRoot(t *testing.T) {
	cfg := ca.RootConfig{KeyType: ca.KeyECDSAP256, Days: 10, CommonName: "Short Root", Organization: "certmaker tests", Country: "DE", IntermediateDays: 1095}
	short, err := ca.NewRoot(cfg, testNow)
	if err != nil {
		t.Fatal(err)
	}
	// The intermediate is capped at the root's end, and the leaf at its.
	root, err := ca.NewIntermediate(short, cfg, testURL, testNow)
	if err != nil {
		t.Fatal(err)
	}
	a := mustAuthority(t, testNow.Add(24*time.Hour), root)
	leaf := mustSign(t, a, &ca.Request{DNSNames: []string{"app.example.com"}, Days: 30}, mustKey(t, ca.KeyECDSAP256).Public())
	if !leaf.NotAfter.Equal(root.Cert.NotAfter) {
		t.Errorf("leaf NotAfter %v, want the root's %v", leaf.NotAfter, root.Cert.NotAfter)
	}
	if _, err := verifyFor(t, leaf, "app.example.com", root.Cert.NotAfter.Add(-time.Minute), root.Cert); err != nil {
		t.Errorf("leaf does not verify just before the root expires: %v", err)
	}
}

func TestSign_Profile(t *testing.T) {
	now := testNow
	root := mustIssuer(t, ca.KeyECDSAP256, now.Add(-time.Hour))
	a := mustAuthority(t, now, root)
	keyTypes := []ca.KeyType{ca.KeyECDSAP256, ca.KeyECDSAP384, ca.KeyRSA2048, ca.KeyRSA3072, ca.KeyEd25519}
	for _, kt := range keyTypes {
		t.Run(string(kt), func(t *testing.T) {
			key := mustKey(t, kt)
			req := &ca.Request{
				DNSNames: []string{"app.example.com", "WWW.example.com", "*.apps.example.com"},
				IPs:      []netip.Addr{netip.MustParseAddr("192.168.1.20"), netip.MustParseAddr("2001:db8::1")},
			}
			mustNormalize(t, req)
			iss, err := a.Sign(req, key.Public())
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			leaf := parsed(t, iss)
			if iss.Issuer != root {
				t.Errorf("Issued.Root is not the active root")
			}

			wantUsage := x509.KeyUsageDigitalSignature
			if kt.IsRSA() {
				wantUsage |= x509.KeyUsageKeyEncipherment
			}
			if leaf.KeyUsage != wantUsage {
				t.Errorf("key usage %b, want %b", leaf.KeyUsage, wantUsage)
			}
			if want := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}; !slices.Equal(leaf.ExtKeyUsage, want) {
				t.Errorf("extended key usage %v, want %v", leaf.ExtKeyUsage, want)
			}
			if !leaf.BasicConstraintsValid || leaf.IsCA {
				t.Errorf("basic constraints valid=%v CA=%v, want a non-CA", leaf.BasicConstraintsValid, leaf.IsCA)
			}
			if want := []string{"app.example.com", "www.example.com", "*.apps.example.com"}; !slices.Equal(leaf.DNSNames, want) {
				t.Errorf("DNS names %q, want %q", leaf.DNSNames, want)
			}
			if len(leaf.IPAddresses) != 2 || !leaf.IPAddresses[0].Equal(net.ParseIP("192.168.1.20")) ||
				!leaf.IPAddresses[1].Equal(net.ParseIP("2001:db8::1")) || len(leaf.IPAddresses[0]) != net.IPv4len {
				t.Errorf("IP addresses %v, want [192.168.1.20 2001:db8::1], IPv4 in 4 bytes", leaf.IPAddresses)
			}
			if leaf.Subject.CommonName != "app.example.com" {
				t.Errorf("common name %q, want app.example.com", leaf.Subject.CommonName)
			}
			if !bytes.Equal(leaf.RawIssuer, root.Cert.RawSubject) {
				t.Errorf("issuer %q, want the root's subject %q", leaf.Issuer, root.Cert.Subject)
			}
			if !bytes.Equal(leaf.SubjectKeyId, wantSKI(t, leaf)) {
				t.Errorf("subject key id %x is not the SHA-1 of the key bits", leaf.SubjectKeyId)
			}
			if len(leaf.AuthorityKeyId) == 0 || !bytes.Equal(leaf.AuthorityKeyId, root.Cert.SubjectKeyId) {
				t.Errorf("authority key id %x, want the root's subject key id %x", leaf.AuthorityKeyId, root.Cert.SubjectKeyId)
			}
			if want := []string{testURL + "/api/ocsp"}; !slices.Equal(leaf.OCSPServer, want) {
				t.Errorf("OCSP %q, want %q", leaf.OCSPServer, want)
			}
			if want := []string{testURL + "/api/crl/" + root.Fingerprint}; !slices.Equal(leaf.CRLDistributionPoints, want) {
				t.Errorf("CRL distribution points %q, want %q", leaf.CRLDistributionPoints, want)
			}
			if der, _ := asn1.Marshal(leaf.SerialNumber); leaf.SerialNumber.Sign() <= 0 || len(der)-2 > 20 {
				t.Errorf("serial %x is not positive or longer than 20 octets", leaf.SerialNumber)
			}
			if want := "2.23.140.1.2.1"; len(leaf.Policies) != 1 || leaf.Policies[0].String() != want {
				t.Errorf("policies %v, want [%s]", leaf.Policies, want)
			}
			if !leaf.NotBefore.Equal(now) || !leaf.NotAfter.Equal(now.Add(7*24*time.Hour)) {
				t.Errorf("validity %v to %v, want %v plus 7 days", leaf.NotBefore, leaf.NotAfter, now)
			}
			if got, err := ca.KeyTypeOf(leaf.PublicKey); err != nil || got != kt {
				t.Errorf("leaf key type %q, %v; want %s", got, err, kt)
			}
			for _, name := range []string{"app.example.com", "www.example.com", "x.apps.example.com", "192.168.1.20", "2001:db8::1"} {
				chains, err := verifyFor(t, leaf, name, now.Add(time.Hour), root.Cert)
				if err != nil {
					t.Errorf("verify for %s: %v", name, err)
					continue
				}
				if len(chains) != 1 || len(chains[0]) != 2 || !chains[0][1].Equal(root.Cert) {
					t.Errorf("verify for %s: chains %v, want leaf → root", name, chains)
				}
			}
			for _, name := range []string{"example.com", "a.b.apps.example.com", "192.168.1.21", "evil.com"} {
				if _, err := verifyFor(t, leaf, name, now.Add(time.Hour), root.Cert); err == nil {
					t.Errorf("leaf verifies for %s, a name it does not carry", name)
				}
			}
		})
	}
}

func TestSign_SubjectAndEmails(t *testing.T) {
	root := mustIssuer(t, ca.KeyECDSAP256, testNow)
	a := mustAuthority(t, testNow, root)
	pub := mustKey(t, ca.KeyECDSAP256).Public()

	t.Run("SubjectFields", func(t *testing.T) {
		leaf := mustSign(t, a, &ca.Request{
			DNSNames: []string{"nas.home.lan"},
			Subject:  ca.Subject{Organization: "Home", Country: "de", Locality: "Berlin"},
		}, pub)
		s := leaf.Subject
		if s.CommonName != "nas.home.lan" || !slices.Equal(s.Organization, []string{"Home"}) ||
			!slices.Equal(s.Country, []string{"DE"}) || !slices.Equal(s.Locality, []string{"Berlin"}) ||
			len(s.Province) != 0 || len(s.StreetAddress) != 0 || len(s.PostalCode) != 0 {
			t.Errorf("subject %+v, want CN nas.home.lan, O Home, C DE, L Berlin and nothing else", s)
		}
		// Organization data is not domain validation: no DV claim.
		if len(leaf.Policies) != 0 {
			t.Errorf("policies %v on a subject with an organization, want none", leaf.Policies)
		}
	})
	t.Run("CountryOnlyIsDomainValidated", func(t *testing.T) {
		leaf := mustSign(t, a, &ca.Request{DNSNames: []string{"nas.home.lan"}, Subject: ca.Subject{Country: "DE"}}, pub)
		if len(leaf.Policies) != 1 || leaf.Policies[0].String() != "2.23.140.1.2.1" {
			t.Errorf("policies %v, want the DV policy", leaf.Policies)
		}
	})
	t.Run("EmailOnly", func(t *testing.T) {
		leaf := mustSign(t, a, &ca.Request{Emails: []string{"alice@example.com"}}, pub)
		if !slices.Equal(leaf.EmailAddresses, []string{"alice@example.com"}) {
			t.Errorf("email addresses %q", leaf.EmailAddresses)
		}
		if len(leaf.Subject.Names) != 0 {
			t.Errorf("subject %q, want empty", leaf.Subject)
		}
		if len(leaf.Policies) != 0 {
			t.Errorf("policies %v on a certificate without domain names, want none", leaf.Policies)
		}
		if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageEmailProtection) {
			t.Errorf("extended key usage %v lacks emailProtection", leaf.ExtKeyUsage)
		}
		// With an empty subject the SAN extension must be critical (RFC 5280 4.2.1.6).
		for _, e := range leaf.Extensions {
			if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) && !e.Critical {
				t.Errorf("subjectAltName is not critical although the subject is empty")
			}
		}
		_, err := leaf.Verify(x509.VerifyOptions{Roots: poolOf(root.Cert), CurrentTime: testNow.Add(time.Hour),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}})
		if err != nil {
			t.Errorf("verify for email protection: %v", err)
		}
	})
	t.Run("LongNameNotCommonName", func(t *testing.T) {
		long := dnsNameOfLen(t, 100)
		leaf := mustSign(t, a, &ca.Request{DNSNames: []string{long}}, pub)
		if leaf.Subject.CommonName != "" || !slices.Equal(leaf.DNSNames, []string{long}) {
			t.Errorf("CN %q, DNS names %q; want no CN and the long name as SAN", leaf.Subject.CommonName, leaf.DNSNames)
		}
		if _, err := verifyFor(t, leaf, long, testNow.Add(time.Hour), root.Cert); err != nil {
			t.Errorf("verify for the long name: %v", err)
		}
	})
}

func TestSign_Errors(t *testing.T) {
	req := &ca.Request{DNSNames: []string{"app.example.com"}}
	mustNormalize(t, req)
	t.Run("NoActiveRoot", func(t *testing.T) {
		a := mustAuthority(t, testNow, nil)
		if iss, err := a.Sign(req, mustKey(t, ca.KeyECDSAP256).Public()); err == nil {
			t.Errorf("Sign without a root = %v, want an error", iss)
		}
		// A known but inactive root does not issue either.
		add(a, mustIssuer(t, ca.KeyECDSAP256, testNow), false)
		if iss, err := a.Sign(req, mustKey(t, ca.KeyECDSAP256).Public()); err == nil {
			t.Errorf("Sign with only an inactive root = %v, want an error", iss)
		}
	})
	t.Run("WeakKey", func(t *testing.T) {
		a := mustAuthority(t, testNow, mustIssuer(t, ca.KeyECDSAP256, testNow))
		p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if iss, err := a.Sign(req, p521.Public()); !errors.Is(err, ca.ErrWeakKey) {
			t.Errorf("Sign(P-521) = %v, %v; want ErrWeakKey", iss, err)
		}
	})
}

func TestSign_Rotation(t *testing.T) {
	t0 := testNow
	t1 := testNow.Add(48 * time.Hour)
	clock := t0
	a, err := ca.New(ca.Config{PublicURL: testURL, DefaultDays: 7, MinDays: 1, MaxDays: 182, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	oldRoot := mustIssuer(t, ca.KeyECDSAP256, t0)
	add(a, oldRoot, true)
	pub := mustKey(t, ca.KeyECDSAP256).Public()
	oldLeaf := mustSign(t, a, &ca.Request{DNSNames: []string{"app.example.com"}}, pub)

	clock = t1
	newRoot := mustIssuer(t, ca.KeyECDSAP256, t1)
	add(a, newRoot, true)
	iss, err := a.Sign(mustNormalize(t, &ca.Request{DNSNames: []string{"app.example.com"}}), pub)
	if err != nil {
		t.Fatalf("Sign after rotation: %v", err)
	}
	newLeaf := parsed(t, iss)

	if a.Active() != newRoot || iss.Issuer != newRoot {
		t.Errorf("the new root is not the active issuer")
	}
	if a.Issuer(oldRoot.Fingerprint) != oldRoot || a.Issuer(newRoot.Fingerprint) != newRoot {
		t.Errorf("Root(fingerprint) does not find both roots")
	}
	if a.Issuer(strings.Repeat("0", 64)) != nil {
		t.Errorf("Root(unknown fingerprint) is not nil")
	}
	if roots := a.Roots(); len(roots) != 2 || roots[0] != oldRoot.Parent || roots[1] != newRoot.Parent {
		t.Errorf("Roots() = %v, want the old and the new intermediate's roots", roots)
	}
	if all := a.Issuers(); len(all) != 4 {
		t.Errorf("Issuers() = %v, want two roots and two intermediates", all)
	}
	if !bytes.Equal(newLeaf.AuthorityKeyId, newRoot.Cert.SubjectKeyId) || !bytes.Equal(newLeaf.RawIssuer, newRoot.Cert.RawSubject) {
		t.Errorf("new leaf does not name the new root as issuer")
	}
	if want := testURL + "/api/crl/" + newRoot.Fingerprint; !slices.Equal(newLeaf.CRLDistributionPoints, []string{want}) {
		t.Errorf("new leaf CRL DP %q, want %q", newLeaf.CRLDistributionPoints, want)
	}
	if want := testURL + "/api/crl/" + oldRoot.Fingerprint; !slices.Equal(oldLeaf.CRLDistributionPoints, []string{want}) {
		t.Errorf("old leaf CRL DP %q, want %q", oldLeaf.CRLDistributionPoints, want)
	}

	at := t1.Add(time.Hour)
	if _, err := verifyFor(t, newLeaf, "app.example.com", at, newRoot.Cert); err != nil {
		t.Errorf("new leaf does not verify with the new root: %v", err)
	}
	if _, err := verifyFor(t, newLeaf, "app.example.com", at, oldRoot.Cert); err == nil {
		t.Errorf("new leaf verifies with the old root")
	}
	if _, err := verifyFor(t, oldLeaf, "app.example.com", at, oldRoot.Cert); err != nil {
		t.Errorf("old leaf no longer verifies with the old root: %v", err)
	}
	if _, err := verifyFor(t, oldLeaf, "app.example.com", at, newRoot.Cert); err == nil {
		t.Errorf("old leaf verifies with the new root")
	}
	// With both roots trusted, each leaf chains to its own.
	for _, c := range []struct {
		leaf, root *x509.Certificate
	}{{oldLeaf, oldRoot.Cert}, {newLeaf, newRoot.Cert}} {
		chains, err := verifyFor(t, c.leaf, "app.example.com", at, oldRoot.Cert, newRoot.Cert)
		if err != nil || len(chains) != 1 || !chains[0][len(chains[0])-1].Equal(c.root) {
			t.Errorf("leaf %x: chains %v, %v; want one chain to its own root", c.leaf.SerialNumber, chains, err)
		}
	}

	// A root added as inactive does not take over.
	spare := mustIssuer(t, ca.KeyECDSAP256, t1)
	add(a, spare, false)
	if a.Active() != newRoot || a.Issuer(spare.Fingerprint) != spare {
		t.Errorf("AddRoot(inactive) changed the active root or was not remembered")
	}
}
