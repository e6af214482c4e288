package ca_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"certmaker/ca"
)

// referenceLeaf is the certificate crypto/x509 makes for what Sign issued:
// the template certmaker used before it encoded leaves itself, filled from
// the request and from the serial and validity Sign chose.
func referenceLeaf(t *testing.T, root *ca.Issuer, req *ca.Request, pub crypto.PublicKey, iss *ca.Issued) *x509.Certificate {
	t.Helper()
	kt, err := ca.KeyTypeOf(pub)
	if err != nil {
		t.Fatal(err)
	}
	usage := x509.KeyUsageDigitalSignature
	if kt.IsRSA() {
		usage |= x509.KeyUsageKeyEncipherment
	}
	ext := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	if len(req.Emails) > 0 {
		ext = append(ext, x509.ExtKeyUsageEmailProtection)
	}
	ips := make([]net.IP, len(req.IPs))
	for i, a := range req.IPs {
		ips[i] = net.IP(a.AsSlice())
	}
	s := req.Subject
	subject := x509.Certificate{}.Subject
	subject.CommonName = s.CommonName
	for _, f := range []struct {
		dst *[]string
		v   string
	}{{&subject.Organization, s.Organization}, {&subject.Country, s.Country}, {&subject.Province, s.Province}, {&subject.Locality, s.Locality}, {&subject.StreetAddress, s.StreetAddress}, {&subject.PostalCode, s.PostalCode}} {
		if f.v != "" {
			*f.dst = []string{f.v}
		}
	}
	got, err := iss.Parse()
	if err != nil {
		t.Fatalf("parsing the issued leaf: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          iss.Serial,
		Subject:               subject,
		NotBefore:             iss.NotBefore,
		NotAfter:              iss.NotAfter,
		KeyUsage:              usage,
		ExtKeyUsage:           ext,
		BasicConstraintsValid: true,
		DNSNames:              req.DNSNames,
		IPAddresses:           ips,
		EmailAddresses:        req.Emails,
		SubjectKeyId:          got.SubjectKeyId, // its value is TestSign_Profile's business
		OCSPServer:            []string{testURL + "/api/ocsp"},
		IssuingCertificateURL: []string{testURL + "/api/issuer/" + root.Fingerprint + ".crt"},
		CRLDistributionPoints: []string{testURL + "/api/crl/" + root.Fingerprint},
	}
	isDV := s.Organization == "" && s.Province == "" && s.Locality == "" && s.StreetAddress == "" && s.PostalCode == ""
	if len(req.DNSNames)+len(req.IPs) > 0 && isDV {
		dv, _ := x509.OIDFromInts([]uint64{2, 23, 140, 1, 2, 1})
		tmpl.Policies = []x509.OID{dv}
	}
	if req.MustStaple {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: ca.OIDTLSFeature, Value: []byte{0x30, 0x03, 0x02, 0x01, 0x05}}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.Cert, pub, root.Signer)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	ref, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestSign_MatchesCreateCertificate: the leaves certmaker encodes itself
// are byte for byte the TBSCertificates crypto/x509 makes from the same
// template, for every root key type, leaf key type and kind of name, and
// their signatures verify under the root.
func TestSign_MatchesCreateCertificate(t *testing.T) {
	requests := map[string]*ca.Request{
		"dns":          {DNSNames: []string{"app.example.com", "*.apps.example.com"}},
		"ips":          {IPs: []netip.Addr{netip.MustParseAddr("192.168.1.20"), netip.MustParseAddr("2001:db8::1")}},
		"email":        {Emails: []string{"alice@example.com"}},
		"everything":   {DNSNames: []string{"nas.home.lan"}, IPs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, Emails: []string{"ops@home.lan"}, Days: 30},
		"organization": {DNSNames: []string{"app.example.com"}, Subject: ca.Subject{CommonName: "app.example.com", Organization: "Ünïcode & Co", Country: "DE", Locality: "Köln"}},
		"dv subject":   {DNSNames: []string{"app.example.com"}, Subject: ca.Subject{CommonName: "app.example.com", Country: "DE"}},
		"long":         {DNSNames: []string{"long.example.com"}, Days: 182},
		"must-staple":  {DNSNames: []string{"app.example.com", "*.apps.example.com"}, IPs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, MustStaple: true},
	}
	keyTypes := []ca.KeyType{ca.KeyECDSAP256, ca.KeyECDSAP384, ca.KeyRSA2048, ca.KeyEd25519}
	leafKeys := map[ca.KeyType]crypto.Signer{}
	for _, kt := range append(keyTypes, ca.KeyRSA3072) {
		leafKeys[kt] = mustKey(t, kt)
	}
	for _, rootType := range keyTypes {
		t.Run("root "+string(rootType), func(t *testing.T) {
			now := testNow
			root := mustIssuer(t, rootType, now.Add(-time.Hour))
			a := mustAuthority(t, now, root)
			if rootType == ca.KeyEd25519 {
				// Issued at the end of 2049, so that NotAfter is in 2050
				// and encoded as GeneralizedTime, NotBefore as UTCTime.
				a = mustAuthority(t, time.Date(2049, 12, 30, 0, 0, 0, 0, time.UTC), mustIssuer(t, rootType, time.Date(2049, 12, 29, 0, 0, 0, 0, time.UTC)))
				root = a.Active()
			}
			// A leaf named like its root gets no authority key identifier,
			// as crypto/x509 leaves it out when issuer and subject match.
			// Normalize refuses such a common name, so this one is signed
			// as it is.
			rs := root.Cert.Subject
			requests["root's subject"] = &ca.Request{DNSNames: []string{"twin.example.com"},
				Subject: ca.Subject{CommonName: rs.CommonName, Organization: rs.Organization[0], Country: rs.Country[0]}}
			for name, req := range requests {
				for kt, key := range leafKeys {
					r := *req
					if name != "root's subject" {
						mustNormalize(t, &r)
					}
					iss, err := a.Sign(&r, key.Public())
					if err != nil {
						t.Fatalf("%s, %s leaf: Sign: %v", name, kt, err)
					}
					got := parsed(t, iss)
					want := referenceLeaf(t, root, &r, key.Public(), iss)
					if !bytes.Equal(got.RawTBSCertificate, want.RawTBSCertificate) {
						t.Errorf("%s, %s leaf: TBSCertificate differs from crypto/x509's\n got %x\nwant %x", name, kt, got.RawTBSCertificate, want.RawTBSCertificate)
					}
					if got.SignatureAlgorithm != want.SignatureAlgorithm {
						t.Errorf("%s, %s leaf: signature algorithm %v, want %v", name, kt, got.SignatureAlgorithm, want.SignatureAlgorithm)
					}
					if err := got.CheckSignatureFrom(root.Cert); err != nil {
						t.Errorf("%s, %s leaf: signature does not verify under the root: %v", name, kt, err)
					}
				}
			}
		})
	}
}

// TestSign_NonASCIIName: a name that is not ASCII cannot be an IA5String;
// Sign refuses it rather than encode it (Normalize already turns IDNs into
// their A-labels, so only a caller that skips it gets here).
func TestSign_NonASCIIName(t *testing.T) {
	root := mustIssuer(t, ca.KeyECDSAP256, testNow.Add(-time.Hour))
	a := mustAuthority(t, testNow, root)
	req := mustNormalize(t, &ca.Request{DNSNames: []string{"app.example.com"}})
	req.DNSNames = []string{"bücher.example.com"}
	_, err := a.Sign(req, mustKey(t, ca.KeyECDSAP256).Public())
	if err == nil || !strings.Contains(err.Error(), "not ASCII") {
		t.Fatalf("Sign with a non-ASCII DNS name: %v, want a refusal", err)
	}
}
