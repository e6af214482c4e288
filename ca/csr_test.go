package ca_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"certmaker/ca"
)

// csrDER makes a CSR signed by key.
func csrDER(t testing.TB, key crypto.Signer, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatalf("CreateCertificateRequest: %v", err)
	}
	return der
}

func csrPEM(t testing.TB, key crypto.Signer, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	return ca.CSRPEM(csrDER(t, key, tmpl))
}

func TestParseCSR_KeyTypes(t *testing.T) {
	root := mustIssuer(t, ca.KeyECDSAP256, testNow)
	a := mustAuthority(t, testNow, root)
	for _, kt := range []ca.KeyType{ca.KeyECDSAP256, ca.KeyECDSAP384, ca.KeyRSA2048, ca.KeyRSA3072, ca.KeyEd25519} {
		t.Run(string(kt), func(t *testing.T) {
			key := mustKey(t, kt)
			data := csrPEM(t, key, &x509.CertificateRequest{
				Subject:  pkix.Name{CommonName: "app.example.com"},
				DNSNames: []string{"app.example.com", "www.example.com"},
			})
			csr, req, err := ca.ParseCSR(data)
			if err != nil {
				t.Fatalf("ParseCSR: %v", err)
			}
			type equaler interface{ Equal(crypto.PublicKey) bool }
			if pub, ok := csr.PublicKey.(equaler); !ok || !pub.Equal(key.Public()) {
				t.Errorf("CSR public key is not the signer's")
			}
			mustNormalize(t, req)
			if want := []string{"app.example.com", "www.example.com"}; !slices.Equal(req.DNSNames, want) || req.Subject.CommonName != "app.example.com" {
				t.Errorf("request %+v, want names %q and CN app.example.com", req, want)
			}
			iss, err := a.Sign(req, csr.PublicKey)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if _, err := verifyFor(t, parsed(t, iss), "www.example.com", testNow.Add(time.Hour), root.Cert); err != nil {
				t.Errorf("certificate from the CSR does not verify: %v", err)
			}
		})
	}
}

func TestParseCSR(t *testing.T) {
	key := mustKey(t, ca.KeyECDSAP256)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	withKey := func(k crypto.Signer, tmpl *x509.CertificateRequest) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return csrPEM(t, k, tmpl) }
	}
	csr := func(tmpl *x509.CertificateRequest) func(t *testing.T) []byte { return withKey(key, tmpl) }
	pemOf := func(typ string, der []byte) func(t *testing.T) []byte {
		return func(*testing.T) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	}
	// tamper re-signs nothing: it changes a byte of a valid CSR's DER.
	tamper := func(tmpl *x509.CertificateRequest, at func(der []byte) int) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			der := csrDER(t, key, tmpl)
			der[at(der)] ^= 0x01
			if _, err := x509.ParseCertificateRequest(der); err != nil {
				t.Fatalf("tampered CSR no longer parses, so the test would not reach the signature check: %v", err)
			}
			return ca.CSRPEM(der)
		}
	}
	sans := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "app.example.com"}, DNSNames: []string{"app.example.com"}}
	uri, _ := url.Parse("spiffe://example.com/app")
	long := dnsNameOfLen(t, 80)

	tests := []struct {
		name    string
		data    func(t *testing.T) []byte
		wantErr bool
		want    ca.Request // after Normalize
	}{
		{
			name: "SANsAndCN",
			data: csr(sans),
			want: ca.Request{DNSNames: []string{"app.example.com"}, Subject: ca.Subject{CommonName: "app.example.com"}},
		},
		{
			name: "NewCertificateRequestPEMType",
			data: func(t *testing.T) []byte { return pemOf("NEW CERTIFICATE REQUEST", csrDER(t, key, sans))(t) },
			want: ca.Request{DNSNames: []string{"app.example.com"}, Subject: ca.Subject{CommonName: "app.example.com"}},
		},
		{
			name: "NoSANsDNSCommonName",
			data: csr(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "NAS.Home.Lan"}}),
			want: ca.Request{DNSNames: []string{"nas.home.lan"}, Subject: ca.Subject{CommonName: "nas.home.lan"}},
		},
		{
			// A valid name too long for a CN stays a SAN.
			name: "NoSANsLongDNSCommonName",
			data: csr(&x509.CertificateRequest{Subject: pkix.Name{CommonName: long}}),
			want: ca.Request{DNSNames: []string{long}},
		},
		{name: "NoSANsNonDNSCommonName", data: csr(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "My Laptop"}}), wantErr: true},
		{name: "NoSANsIPCommonName", data: csr(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "192.168.1.20"}}), wantErr: true},
		{name: "NoSANsNoCommonName", data: csr(&x509.CertificateRequest{Subject: pkix.Name{Organization: []string{"Home"}}}), wantErr: true},
		{
			name: "SANsWithHumanCommonName",
			data: csr(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "My Laptop"}, DNSNames: []string{"laptop.home.lan", "laptop"}}),
			want: ca.Request{DNSNames: []string{"laptop.home.lan", "laptop"}, Subject: ca.Subject{CommonName: "laptop.home.lan"}},
		},
		{
			// Names come from the SANs only: a CN that would be a name is not added.
			name: "SANsWithOtherDNSCommonName",
			data: csr(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "other.example.com"}, DNSNames: []string{"app.example.com"}}),
			want: ca.Request{DNSNames: []string{"app.example.com"}, Subject: ca.Subject{CommonName: "app.example.com"}},
		},
		{
			name: "SANsWithCommonNameOtherCase",
			data: csr(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "WWW.Example.com."}, DNSNames: []string{"app.example.com", "www.example.com"}}),
			want: ca.Request{DNSNames: []string{"app.example.com", "www.example.com"}, Subject: ca.Subject{CommonName: "www.example.com"}},
		},
		{
			name: "SANsWithMappedIPCommonName",
			data: csr(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "::ffff:10.0.0.1"}, DNSNames: []string{"nas"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}}),
			want: ca.Request{DNSNames: []string{"nas"}, IPs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, Subject: ca.Subject{CommonName: "10.0.0.1"}},
		},
		{
			name: "SANsWithLongCommonName",
			data: csr(&x509.CertificateRequest{Subject: pkix.Name{CommonName: long}, DNSNames: []string{long, "app.example.com"}}),
			want: ca.Request{DNSNames: []string{long, "app.example.com"}, Subject: ca.Subject{CommonName: "app.example.com"}},
		},
		{
			name: "SANsWithZonedIPCommonName",
			data: csr(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "fe80::1%eth0"}, DNSNames: []string{"laptop.home.lan"}}),
			want: ca.Request{DNSNames: []string{"laptop.home.lan"}, Subject: ca.Subject{CommonName: "laptop.home.lan"}},
		},
		{
			name: "IPSANsAndIPCommonName",
			data: csr(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "192.168.1.20"},
				IPAddresses: []net.IP{net.ParseIP("192.168.1.20"), net.ParseIP("2001:db8::1")}}),
			want: ca.Request{IPs: []netip.Addr{netip.MustParseAddr("192.168.1.20"), netip.MustParseAddr("2001:db8::1")},
				Subject: ca.Subject{CommonName: "192.168.1.20"}},
		},
		{
			name: "EmailSANWithPersonCommonName",
			data: csr(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "Alice"}, EmailAddresses: []string{"alice@example.com"}}),
			want: ca.Request{Emails: []string{"alice@example.com"}},
		},
		{
			name: "SubjectFieldsKept",
			data: csr(&x509.CertificateRequest{
				Subject:  pkix.Name{CommonName: "nas.home.lan", Organization: []string{"Home"}, Country: []string{"de"}, Locality: []string{"Berlin"}, Province: []string{"Berlin"}},
				DNSNames: []string{"nas.home.lan"},
			}),
			want: ca.Request{DNSNames: []string{"nas.home.lan"},
				Subject: ca.Subject{CommonName: "nas.home.lan", Organization: "Home", Country: "DE", Locality: "Berlin", Province: "Berlin"}},
		},
		{
			name: "BrokenSignature",
			// The last octet belongs to the signature value.
			data:    tamper(sans, func(der []byte) int { return len(der) - 1 }),
			wantErr: true,
		},
		{
			name: "TamperedName",
			data: tamper(&x509.CertificateRequest{DNSNames: []string{"app.example.com"}}, func(der []byte) int {
				return strings.Index(string(der), "app.example.com")
			}),
			wantErr: true,
		},
		{name: "RSA1024", data: withKey(rsa1024, sans), wantErr: true},
		{name: "P521", data: withKey(p521, sans), wantErr: true},
		{name: "URISAN", data: csr(&x509.CertificateRequest{DNSNames: []string{"app.example.com"}, URIs: []*url.URL{uri}}), wantErr: true},
		{name: "BadSANName", data: csr(&x509.CertificateRequest{DNSNames: []string{"bad_name.example.com"}}), wantErr: true},
		{name: "NotPEM", data: func(*testing.T) []byte { return []byte("hello, CA") }, wantErr: true},
		{name: "Empty", data: func(*testing.T) []byte { return nil }, wantErr: true},
		{name: "RawDER", data: func(t *testing.T) []byte { return csrDER(t, key, sans) }, wantErr: true},
		{name: "WrongPEMType", data: func(t *testing.T) []byte { return pemOf("CERTIFICATE", csrDER(t, key, sans))(t) }, wantErr: true},
		{name: "PrivateKeyPEM", data: func(t *testing.T) []byte {
			der, err := ca.MarshalKey(key)
			if err != nil {
				t.Fatal(err)
			}
			return ca.KeyPEM(der)
		}, wantErr: true},
		{name: "GarbageDER", data: pemOf("CERTIFICATE REQUEST", []byte("\x30\x03\x02\x01\x01 not a CSR")), wantErr: true},
		{name: "TruncatedDER", data: func(t *testing.T) []byte {
			der := csrDER(t, key, sans)
			return pemOf("CERTIFICATE REQUEST", der[:len(der)/2])(t)
		}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			csr, req, err := ca.ParseCSR(tt.data(t))
			if err == nil && tt.wantErr {
				// Some refusals (bad SAN syntax, subject fields) come from Normalize.
				err = req.Normalize()
			}
			if tt.wantErr {
				if !errors.Is(err, ca.ErrInvalid) {
					t.Fatalf("ParseCSR = %+v, %v; want an ErrInvalid", req, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCSR: %v", err)
			}
			if csr == nil {
				t.Fatalf("ParseCSR returned no CSR")
			}
			mustNormalize(t, req)
			if !equalRequest(*req, tt.want) {
				t.Errorf("request after Normalize\n%+v\nwant\n%+v", *req, tt.want)
			}
		})
	}
}

// equalRequest compares requests treating nil and empty slices alike.
func equalRequest(a, b ca.Request) bool {
	return slices.Equal(a.DNSNames, b.DNSNames) && slices.Equal(a.IPs, b.IPs) &&
		slices.Equal(a.Emails, b.Emails) && a.Subject == b.Subject && a.Days == b.Days
}

func FuzzParseCSR(f *testing.F) {
	key, err := ca.GenerateKey(ca.KeyECDSAP256)
	if err != nil {
		f.Fatal(err)
	}
	valid := csrPEM(f, key, &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: "app.example.com", Organization: []string{"Home"}},
		DNSNames:    []string{"app.example.com"},
		IPAddresses: []net.IP{net.ParseIP("192.168.1.20")},
	})
	f.Add(valid)
	f.Add(csrPEM(f, key, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "nas"}}))
	f.Add([]byte("junk"))
	f.Add([]byte{})
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0x30, 0x80, 0x00}}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		csr, req, err := ca.ParseCSR(data)
		if err != nil {
			if !errors.Is(err, ca.ErrInvalid) {
				t.Fatalf("ParseCSR error %v is not ErrInvalid", err)
			}
			if csr != nil || req != nil {
				t.Fatalf("ParseCSR returned values along with error %v", err)
			}
			return
		}
		if csr == nil || req == nil {
			t.Fatalf("ParseCSR succeeded without a CSR or request")
		}
		if err := req.Normalize(); err != nil {
			if !errors.Is(err, ca.ErrInvalid) {
				t.Fatalf("Normalize error %v is not ErrInvalid", err)
			}
			return
		}
		if len(req.DNSNames)+len(req.IPs)+len(req.Emails) == 0 {
			t.Fatalf("normalized request from a CSR has no names: %+v", req)
		}
	})
}

// TestParseCSR_MustStaple: a CSR asking for the TLS Feature status_request
// (certbot --must-staple) gets it, and the leaf carries it; any other
// feature, or a malformed extension, refuses the CSR rather than drop it.
func TestParseCSR_MustStaple(t *testing.T) {
	root := mustIssuer(t, ca.KeyECDSAP256, testNow)
	a := mustAuthority(t, testNow, root)
	key := mustKey(t, ca.KeyECDSAP256)
	feature := func(value []byte) *x509.CertificateRequest {
		return &x509.CertificateRequest{DNSNames: []string{"app.example.com"},
			ExtraExtensions: []pkix.Extension{{Id: ca.OIDTLSFeature, Value: value}}}
	}
	_, req, err := ca.ParseCSR(csrPEM(t, key, feature([]byte{0x30, 0x03, 0x02, 0x01, 0x05})))
	if err != nil || !req.MustStaple {
		t.Fatalf("status_request: must-staple %v, %v", req != nil && req.MustStaple, err)
	}
	mustNormalize(t, req)
	iss, err := a.Sign(req, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	leaf := parsed(t, iss)
	i := slices.IndexFunc(leaf.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(ca.OIDTLSFeature) })
	if i < 0 || leaf.Extensions[i].Critical || string(leaf.Extensions[i].Value) != "\x30\x03\x02\x01\x05" {
		t.Errorf("the leaf's TLS Feature extension: %+v", leaf.Extensions)
	}
	if _, req, err := ca.ParseCSR(csrPEM(t, key, &x509.CertificateRequest{DNSNames: []string{"app.example.com"}})); err != nil || req.MustStaple {
		t.Errorf("without the extension: must-staple %v, %v", req.MustStaple, err)
	}
	for name, value := range map[string][]byte{
		"status_request_v2": {0x30, 0x03, 0x02, 0x01, 0x11},
		"both":              {0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x11},
		"empty":             {0x30, 0x00},
		"not a sequence":    {0x02, 0x01, 0x05},
	} {
		if _, _, err := ca.ParseCSR(csrPEM(t, key, feature(value))); !errors.Is(err, ca.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
