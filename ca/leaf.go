package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"math/bits"
	"net/netip"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// A leaf certificate is encoded here directly rather than through
// x509.CreateCertificate, which per leaf spent a third of the issuing CPU on
// reflection-driven encoding, on verifying its own signature, and on
// comparing and parsing what it had just built. The output is byte for byte
// what CreateCertificate makes from the equivalent template, extension order
// included: leaf_test.go proves that for every key type, root type and name
// kind. Dropping the self-check is safe because the signer is always one of
// the standard library's own keys, loaded and matched against the root
// certificate by LoadRoot (CreateCertificate's check exists for HSMs and
// other external crypto.Signers); Go's RSA signing verifies itself anyway.

// Object identifiers of the leaf profile (RFC 5280 4.2.1, RFC 5480, RFC 8410).
var (
	oidSubjectKeyID      = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidKeyUsage          = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidSubjectAltName    = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidBasicConstraints  = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidCRLDistribution   = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidCertPolicies      = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidAuthorityKeyID    = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidExtKeyUsage       = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidAuthorityInfo     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	oidAccessOCSP        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1}
	oidAccessCAIssuers   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 2}
	oidServerAuth        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	oidClientAuth        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
	oidEmailProtection   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}
	oidDomainValidated   = asn1.ObjectIdentifier{2, 23, 140, 1, 2, 1}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidSHA256WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidEd25519           = asn1.ObjectIdentifier{1, 3, 101, 112}
	emptySubjectSequence = []byte{0x30, 0x00}
)

// General name tags inside subjectAltName and distribution points.
const (
	tagEmail = 1
	tagDNS   = 2
	tagURI   = 6
	tagIP    = 7
)

// leafProfile is what every leaf of one issuer shares, encoded once per issuer.
type leafProfile struct {
	publicURL string // the URL the AIA and CRL extensions were built for
	issuer    []byte // the issuer's subject, as encoded in its certificate
	sigAlg    []byte // signature AlgorithmIdentifier
	opts      crypto.SignerOpts
	aki       []byte // whole Extension values, ready to append
	aia       []byte
	crldp     []byte
}

// profile returns root's leaf profile for publicURL, building it the first
// time (and again only if the public URL changed, which it does not while
// a server runs).
func (r *Issuer) profile(publicURL string) (*leafProfile, error) {
	if p := r.leaf.Load(); p != nil && p.publicURL == publicURL {
		return p, nil
	}
	p, err := newLeafProfile(r, publicURL)
	if err != nil {
		return nil, err
	}
	r.leaf.Store(p)
	return p, nil
}

func newLeafProfile(r *Issuer, publicURL string) (*leafProfile, error) {
	p := &leafProfile{publicURL: publicURL, issuer: r.Cert.RawSubject}
	var alg asn1.ObjectIdentifier
	withNull := false
	switch k := r.Signer.Public().(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			alg, p.opts = oidECDSAWithSHA256, crypto.SHA256
		case elliptic.P384():
			alg, p.opts = oidECDSAWithSHA384, crypto.SHA384
		case elliptic.P521():
			alg, p.opts = oidECDSAWithSHA512, crypto.SHA512
		default:
			return nil, fmt.Errorf("root %s: unsupported curve %s", r.Fingerprint, k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		alg, p.opts, withNull = oidSHA256WithRSA, crypto.SHA256, true
	case ed25519.PublicKey:
		alg, p.opts = oidEd25519, crypto.Hash(0)
	default:
		return nil, fmt.Errorf("root %s: unsupported key type %T", r.Fingerprint, k)
	}
	var err error
	if p.sigAlg, err = encode(func(b *cryptobyte.Builder) { addAlgorithm(b, alg, withNull) }); err != nil {
		return nil, err
	}
	if len(r.Cert.SubjectKeyId) > 0 {
		p.aki, err = extension(oidAuthorityKeyID, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(r.Cert.SubjectKeyId) })
			})
		})
		if err != nil {
			return nil, err
		}
	}
	ocsp := ocspURL(publicURL)
	crl := crlURL(publicURL, r.Fingerprint)
	issuer := issuerURL(publicURL, r.Fingerprint)
	if err := isIA5(ocsp); err != nil {
		return nil, err
	}
	// caIssuers lets a client that was sent the leaf alone fetch the
	// intermediate (RFC 5280 4.2.2.1).
	p.aia, err = extension(oidAuthorityInfo, false, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidAccessOCSP)
				addTagged(b, tagURI, []byte(ocsp))
			})
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidAccessCAIssuers)
				addTagged(b, tagURI, []byte(issuer))
			})
		})
	})
	if err != nil {
		return nil, err
	}
	if err := isIA5(crl); err != nil {
		return nil, err
	}
	p.crldp, err = extension(oidCRLDistribution, false, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // CRLDistributionPoints
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // DistributionPoint
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { // distributionPoint
					b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { // fullName
						addTagged(b, tagURI, []byte(crl))
					})
				})
			})
		})
	})
	return p, err
}

// leaf is everything that varies from one leaf to the next.
type leaf struct {
	serial              *big.Int
	notBefore, notAfter time.Time
	subject             []byte // encoded Name; an empty SEQUENCE for none
	spki                []byte // encoded SubjectPublicKeyInfo
	ski                 []byte
	usage               x509.KeyUsage
	emailProtection     bool
	dnsNames, emails    []string
	ips                 []netip.Addr
	domainValidated     bool
	mustStaple          bool
}

// tbs encodes the TBSCertificate of l under profile p.
func (p *leafProfile) tbs(l *leaf) ([]byte, error) {
	for _, s := range l.dnsNames {
		if err := isIA5(s); err != nil {
			return nil, err
		}
	}
	for _, s := range l.emails {
		if err := isIA5(s); err != nil {
			return nil, err
		}
	}
	exts := make([][]byte, 0, 10)
	add := func(oid asn1.ObjectIdentifier, critical bool, value func(*cryptobyte.Builder)) error {
		e, err := extension(oid, critical, value)
		exts = append(exts, e)
		return err
	}
	// The order is CreateCertificate's, so that the two agree byte for byte.
	if err := add(oidKeyUsage, true, func(b *cryptobyte.Builder) { addKeyUsage(b, l.usage) }); err != nil {
		return nil, err
	}
	if err := add(oidExtKeyUsage, false, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidServerAuth)
			b.AddASN1ObjectIdentifier(oidClientAuth)
			if l.emailProtection {
				b.AddASN1ObjectIdentifier(oidEmailProtection)
			}
		})
	}); err != nil {
		return nil, err
	}
	if err := add(oidBasicConstraints, true, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(*cryptobyte.Builder) {}) // cA FALSE, the default
	}); err != nil {
		return nil, err
	}
	if err := add(oidSubjectKeyID, false, func(b *cryptobyte.Builder) { b.AddASN1OctetString(l.ski) }); err != nil {
		return nil, err
	}
	if p.aki != nil && !bytes.Equal(p.issuer, l.subject) {
		exts = append(exts, p.aki)
	}
	exts = append(exts, p.aia)
	if len(l.dnsNames)+len(l.emails)+len(l.ips) > 0 {
		// RFC 5280 4.2.1.6: critical when the subject is empty.
		if err := add(oidSubjectAltName, bytes.Equal(l.subject, emptySubjectSequence), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, n := range l.dnsNames {
					addTagged(b, tagDNS, []byte(n))
				}
				for _, e := range l.emails {
					addTagged(b, tagEmail, []byte(e))
				}
				for _, ip := range l.ips {
					addTagged(b, tagIP, ip.Unmap().AsSlice())
				}
			})
		}); err != nil {
			return nil, err
		}
	}
	if l.domainValidated {
		if err := add(oidCertPolicies, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidDomainValidated) })
			})
		}); err != nil {
			return nil, err
		}
	}
	exts = append(exts, p.crldp)
	if l.mustStaple {
		// Last, where CreateCertificate puts a template's ExtraExtensions.
		if err := add(OIDTLSFeature, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(tlsFeatureStatusRequest) })
		}); err != nil {
			return nil, err
		}
	}

	return encode(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddASN1Int64(2) }) // v3
			b.AddASN1BigInt(l.serial)
			b.AddBytes(p.sigAlg)
			b.AddBytes(p.issuer)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addTime(b, l.notBefore)
				addTime(b, l.notAfter)
			})
			b.AddBytes(l.subject)
			b.AddBytes(l.spki)
			b.AddASN1(cbasn1.Tag(3).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, e := range exts {
						b.AddBytes(e)
					}
				})
			})
		})
	})
}

// sign signs tbs with the root's key and returns the whole certificate.
func (p *leafProfile) sign(r *Issuer, rand io.Reader, tbs []byte) ([]byte, error) {
	sig, err := crypto.SignMessage(r.Signer, rand, tbs, p.opts)
	if err != nil {
		return nil, err
	}
	return encode(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(tbs)
			b.AddBytes(p.sigAlg)
			b.AddASN1BitString(sig)
		})
	})
}

// encode runs one builder function and returns its bytes.
func encode(f func(*cryptobyte.Builder)) ([]byte, error) {
	b := cryptobyte.NewBuilder(make([]byte, 0, 256))
	f(b)
	return b.Bytes()
}

// extension encodes an Extension; critical is omitted when false (DEFAULT).
func extension(oid asn1.ObjectIdentifier, critical bool, value func(*cryptobyte.Builder)) ([]byte, error) {
	return encode(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			if critical {
				b.AddASN1Boolean(true)
			}
			b.AddASN1(cbasn1.OCTET_STRING, value)
		})
	})
}

func addAlgorithm(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, withNull bool) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if withNull {
			b.AddASN1NULL()
		}
	})
}

// addTagged adds an IMPLICIT context-specific primitive, as GeneralName's
// string and address choices are.
func addTagged(b *cryptobyte.Builder, tag uint8, v []byte) {
	b.AddASN1(cbasn1.Tag(tag).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(v) })
}

// addKeyUsage encodes the KeyUsage BIT STRING: bit 0 (digitalSignature) is
// the most significant bit of the first byte, and trailing zero bits are
// not encoded (DER, X.690 11.2.2).
func addKeyUsage(b *cryptobyte.Builder, ku x509.KeyUsage) {
	v := []byte{bits.Reverse8(byte(ku)), bits.Reverse8(byte(ku >> 8))}
	if v[1] == 0 {
		v = v[:1]
	}
	unused := bits.TrailingZeros8(v[len(v)-1])
	if unused == 8 {
		v, unused = nil, 0
	}
	b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
		b.AddUint8(uint8(unused))
		b.AddBytes(v)
	})
}

// addTime encodes a validity time as RFC 5280 4.1.2.5 wants it: UTCTime
// through 2049, GeneralizedTime from 2050, always in UTC with seconds.
func addTime(b *cryptobyte.Builder, t time.Time) {
	t = t.UTC()
	if y := t.Year(); y >= 1950 && y < 2050 {
		b.AddASN1(cbasn1.UTCTime, func(b *cryptobyte.Builder) { b.AddBytes(t.AppendFormat(nil, "060102150405Z0700")) })
		return
	}
	b.AddASN1GeneralizedTime(t)
}

func isIA5(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return Invalidf("%q is not ASCII", s)
		}
	}
	return nil
}
