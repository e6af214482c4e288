package ca_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"testing"
	"time"

	"certmaker/ca"
)

// The benchmarks below are what `make bench` reports for the ca package.
// Key generation and signing are the CPU floor of every simple request, so
// the breakdown (keygen, x509.CreateCertificate with its self-check, the
// re-parse) shows where a request's crypto time goes.

// BenchmarkGenerateKey is key generation per key type. RSA-3072 and RSA-4096
// take from a hundred milliseconds to seconds each with a huge spread, which
// would make `make bench` last minutes; set CERTMAKER_BENCH_RSA=1 to run them.
func BenchmarkGenerateKey(b *testing.B) {
	for _, kt := range ca.KeyTypes() {
		b.Run(string(kt), func(b *testing.B) {
			if (kt == ca.KeyRSA3072 || kt == ca.KeyRSA4096) && os.Getenv("CERTMAKER_BENCH_RSA") == "" {
				b.Skip("slow and noisy; set CERTMAKER_BENCH_RSA=1")
			}
			for b.Loop() {
				if _, err := ca.GenerateKey(kt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSign is Authority.Sign (request → template → DER → parsed
// certificate) for an ECDSA P-256 leaf under an ECDSA P-256 root, as the
// default simple request does it, and the same from every core.
func BenchmarkSign(b *testing.B) {
	root := mustIssuer(b, ca.KeyECDSAP256, time.Now())
	a := mustAuthority(b, time.Now(), root)
	req := mustNormalize(b, &ca.Request{DNSNames: []string{"app.example.com"}})
	pub := mustKey(b, ca.KeyECDSAP256).Public()
	b.Run("ecdsa-p256", func(b *testing.B) {
		for b.Loop() {
			if _, err := a.Sign(req, pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ecdsa-p256-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := a.Sign(req, pub); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkSignParts splits one ECDSA P-256 issuance into what the standard
// library does: CreateCertificate (which signs and then verifies its own
// signature), the bare signature and verification it contains, and parsing
// the result back.
func BenchmarkSignParts(b *testing.B) {
	root := mustIssuer(b, ca.KeyECDSAP256, time.Now())
	leafKey := mustKey(b, ca.KeyECDSAP256)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "app.example.com"},
		NotBefore:             now,
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"app.example.com"},
		OCSPServer:            []string{testURL + "/api/ocsp"},
		CRLDistributionPoints: []string{testURL + "/api/crl/" + root.Fingerprint},
	}
	var der []byte
	b.Run("CreateCertificate", func(b *testing.B) {
		for b.Loop() {
			var err error
			der, err = x509.CreateCertificate(rand.Reader, tmpl, root.Cert, leafKey.Public(), root.Signer)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParseCertificate", func(b *testing.B) {
		for b.Loop() {
			if _, err := x509.ParseCertificate(der); err != nil {
				b.Fatal(err)
			}
		}
	})
	digest := sha256.Sum256(der)
	var sig []byte
	b.Run("ECDSASign", func(b *testing.B) {
		for b.Loop() {
			var err error
			if sig, err = root.Signer.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ECDSAVerify", func(b *testing.B) {
		pub := root.Signer.Public().(*ecdsa.PublicKey)
		for b.Loop() {
			if !ecdsa.VerifyASN1(pub, digest[:], sig) {
				b.Fatal("signature does not verify")
			}
		}
	})
	b.Run("MarshalKey", func(b *testing.B) {
		for b.Loop() {
			if _, err := ca.MarshalKey(leafKey); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkParseCSR is the CSR route's crypto before signing: PEM, parse,
// and the signature check.
func BenchmarkParseCSR(b *testing.B) {
	key := mustKey(b, ca.KeyECDSAP256)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "app.example.com"},
		DNSNames: []string{"app.example.com"},
	}, key)
	if err != nil {
		b.Fatal(err)
	}
	pemCSR := ca.CSRPEM(der)
	for b.Loop() {
		if _, _, err := ca.ParseCSR(pemCSR); err != nil {
			b.Fatal(err)
		}
	}
}
