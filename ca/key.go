package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// KeyType names a kind of private key certmaker can generate.
type KeyType string

// The key types a simple request may ask for.
const (
	KeyECDSAP256 KeyType = "ecdsa-p256"
	KeyECDSAP384 KeyType = "ecdsa-p384"
	KeyRSA2048   KeyType = "rsa-2048"
	KeyRSA3072   KeyType = "rsa-3072"
	KeyRSA4096   KeyType = "rsa-4096"
	KeyEd25519   KeyType = "ed25519"
)

// DefaultKeyType is used when a request names none.
const DefaultKeyType = KeyECDSAP256

var keyTypes = []KeyType{KeyECDSAP256, KeyECDSAP384, KeyRSA2048, KeyRSA3072, KeyRSA4096, KeyEd25519}

// KeyTypes lists every supported key type, in the order documentation
// shows them. The slice is the caller's own.
func KeyTypes() []KeyType { return slices.Clone(keyTypes) }

// ErrKeyType is returned for a key type certmaker does not make.
var ErrKeyType = errors.New("unsupported key type")

// ParseKeyType turns a request's key_type into a KeyType; "" means the default.
func ParseKeyType(s string) (KeyType, error) {
	if s == "" {
		return DefaultKeyType, nil
	}
	for _, kt := range keyTypes {
		if string(kt) == s {
			return kt, nil
		}
	}
	return "", fmt.Errorf("%w %q (want one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096, ed25519)", ErrKeyType, s)
}

// IsRSA reports whether generating this key type is expensive enough
// (hundreds of milliseconds) that callers should bound how many run at once.
func (kt KeyType) IsRSA() bool {
	return kt == KeyRSA2048 || kt == KeyRSA3072 || kt == KeyRSA4096
}

// GenerateKey makes a new private key of the given type.
func GenerateKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case KeyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case KeyRSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case KeyRSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case KeyRSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	case KeyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("%w %q", ErrKeyType, kt)
}

// KeyTypeOf names the type of a public key, or reports why certmaker will not
// certify it: RSA below 2048 bits and curves other than P-256 and P-384 are
// refused.
func KeyTypeOf(pub crypto.PublicKey) (KeyType, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return KeyECDSAP256, nil
		case elliptic.P384():
			return KeyECDSAP384, nil
		}
		return "", fmt.Errorf("%w: ECDSA curve %s (want P-256 or P-384)", ErrWeakKey, k.Curve.Params().Name)
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		switch {
		case bits < 2048:
			return "", fmt.Errorf("%w: RSA key of %d bits (want at least 2048)", ErrWeakKey, bits)
		case bits > 8192:
			return "", fmt.Errorf("%w: RSA key of %d bits (at most 8192)", ErrWeakKey, bits)
		case bits <= 2048:
			return KeyRSA2048, nil
		case bits <= 3072:
			return KeyRSA3072, nil
		}
		return KeyRSA4096, nil
	case ed25519.PublicKey:
		return KeyEd25519, nil
	}
	return "", fmt.Errorf("%w: unsupported public key type %T", ErrWeakKey, pub)
}

// ErrWeakKey is returned for a public key that certmaker will not certify.
var ErrWeakKey = errors.New("key not accepted")

// MarshalKey encodes a private key as PKCS#8 DER.
func MarshalKey(key crypto.Signer) ([]byte, error) {
	if k, ok := key.(*ecdsa.PrivateKey); ok {
		// Every simple request pays for this; crypto/x509 gets there through
		// reflection at several times the cost. key_test.go checks that
		// both agree byte for byte.
		return marshalECKey(k)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	return der, nil
}

// Object identifiers of ECDSA keys (RFC 5480).
var (
	oidPublicKeyECDSA = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidCurveP256      = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidCurveP384      = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidCurveP521      = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

func curveOID(c elliptic.Curve) (asn1.ObjectIdentifier, error) {
	switch c {
	case elliptic.P256():
		return oidCurveP256, nil
	case elliptic.P384():
		return oidCurveP384, nil
	case elliptic.P521():
		return oidCurveP521, nil
	}
	return nil, fmt.Errorf("%w: ECDSA curve %s", ErrWeakKey, c.Params().Name)
}

// marshalECKey is x509.MarshalPKCS8PrivateKey for an ECDSA key: a
// PrivateKeyInfo (RFC 5208) around an ECPrivateKey (RFC 5915) that carries
// its public key and leaves the curve to the outer algorithm identifier.
func marshalECKey(k *ecdsa.PrivateKey) ([]byte, error) {
	oid, err := curveOID(k.Curve)
	if err != nil {
		return nil, err
	}
	priv, err := k.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	pub, err := k.PublicKey.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	return encode(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(0)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidPublicKeyECDSA)
				b.AddASN1ObjectIdentifier(oid)
			})
			b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1Int64(1)
					b.AddASN1OctetString(priv)
					b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
						b.AddASN1BitString(pub)
					})
				})
			})
		})
	})
}

// marshalPublicKey is x509.MarshalPKIXPublicKey, by hand for ECDSA keys,
// whose SubjectPublicKeyInfo every simple request encodes.
func marshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return x509.MarshalPKIXPublicKey(pub)
	}
	oid, err := curveOID(k.Curve)
	if err != nil {
		return nil, err
	}
	point, err := k.Bytes()
	if err != nil {
		return nil, err
	}
	return encode(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidPublicKeyECDSA)
				b.AddASN1ObjectIdentifier(oid)
			})
			b.AddASN1BitString(point)
		})
	})
}

// ParseKey decodes a PKCS#8 DER private key.
func ParseKey(der []byte) (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("decoding private key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("decoding private key: %T cannot sign", k)
	}
	return s, nil
}

// KeyPEM wraps PKCS#8 DER in a "PRIVATE KEY" PEM block.
func KeyPEM(pkcs8 []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
}

// CertPEM wraps certificate DER in a "CERTIFICATE" PEM block.
func CertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// CSRPEM wraps CSR DER in a "CERTIFICATE REQUEST" PEM block.
func CSRPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}
