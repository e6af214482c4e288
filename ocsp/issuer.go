package ocsp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Issuer is a root that signs responses for the certificates it issued.
//
// The responder remembers, per root certificate, the first Signer that works
// for it (keys are loaded once, not per request), so a Signer must stay usable
// for as long as Config.Issuers returns its root.
type Issuer struct {
	Cert   *x509.Certificate
	Signer crypto.Signer
}

// certIDHashes are the CertID hashes a request names: one set per algorithm
// that x/crypto/ocsp.ParseRequest accepts.
type certIDHashes struct {
	hash     crypto.Hash
	nameHash []byte
	keyHash  []byte
}

// issuerKey is what matching and signing need from one root, computed once
// per root rather than per request.
type issuerKey struct {
	cert        *x509.Certificate
	signer      crypto.Signer
	fingerprint string // lowercase hex SHA-256 of cert.Raw, as Status carries it
	hashes      []certIDHashes
	responderID []byte      // SHA-1 of the public key bits: the ResponderID byKey
	sigAlg      []byte      // DER AlgorithmIdentifier of the signature
	sigHash     crypto.Hash // digest to sign; 0 for Ed25519, which signs the message
	err         error       // set when the root cannot sign (say its signer does not match)
}

// issuerKeys memoizes issuerKey by the root's DER, so Config.Issuers may hand
// out fresh *x509.Certificate values without costing a recomputation.
type issuerKeys struct {
	mu    sync.RWMutex
	byDER map[string]*issuerKey
}

// maxIssuerKeys bounds the memo; a CA has a handful of roots, so reaching it
// means certificates are re-made per call and the memo just starts over.
const maxIssuerKeys = 256

func (ks *issuerKeys) get(iss Issuer) *issuerKey {
	ks.mu.RLock()
	k := ks.byDER[string(iss.Cert.Raw)]
	ks.mu.RUnlock()
	if k != nil {
		return k
	}
	return ks.build(iss)
}

func (ks *issuerKeys) build(iss Issuer) *issuerKey {
	k := newIssuerKey(iss)
	ks.mu.Lock()
	if ks.byDER == nil || len(ks.byDER) >= maxIssuerKeys {
		ks.byDER = make(map[string]*issuerKey)
	}
	ks.byDER[string(iss.Cert.Raw)] = k
	ks.mu.Unlock()
	return k
}

// match returns the root whose hashes the request names. When several roots
// share name and key (a root re-issued with the same key), it prefers the one
// that the Source says issued the serial; fingerprint is empty on the first
// call, made before the Source is asked.
func (ks *issuerKeys) match(list []Issuer, req request, fingerprint string) *issuerKey {
	var first *issuerKey
	for _, iss := range list {
		if iss.Cert == nil {
			continue
		}
		k := ks.get(iss)
		if !k.names(req) {
			continue
		}
		if k.err != nil {
			// Built again when named, so a corrected Signer takes
			// effect without a restart, at no cost to other roots.
			k = ks.build(iss)
		}
		if fingerprint == "" || strings.EqualFold(k.fingerprint, fingerprint) {
			return k
		}
		if first == nil {
			first = k
		}
	}
	return first
}

// names reports whether the request's CertID names this root.
func (k *issuerKey) names(req request) bool {
	for _, h := range k.hashes {
		if h.hash == req.hash {
			return bytes.Equal(h.nameHash, req.nameHash) && bytes.Equal(h.keyHash, req.keyHash)
		}
	}
	return false
}

func newIssuerKey(iss Issuer) *issuerKey {
	sum := sha256.Sum256(iss.Cert.Raw)
	k := &issuerKey{cert: iss.Cert, signer: iss.Signer, fingerprint: hex.EncodeToString(sum[:])}

	// The key hash covers the subjectPublicKey BIT STRING's contents only
	// (RFC 6960 §4.1.1), not the whole SubjectPublicKeyInfo.
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(iss.Cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		// Without hashes the root names no request; the error is kept for clarity.
		k.err = fmt.Errorf("parsing public key of root %s: %w", k.fingerprint, err)
		return k
	}
	keyBits := spki.PublicKey.RightAlign()
	for _, h := range [...]crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		k.hashes = append(k.hashes, certIDHashes{
			hash:     h,
			nameHash: digest(h, iss.Cert.RawSubject),
			keyHash:  digest(h, keyBits),
		})
	}
	k.responderID = k.hashes[0].keyHash

	if err := k.setSignature(); err != nil {
		k.err = fmt.Errorf("root %s cannot sign: %w", k.fingerprint, err)
	}
	return k
}

func (k *issuerKey) setSignature() error {
	if k.signer == nil {
		return errors.New("no signer")
	}
	pub, ok := k.signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(k.cert.PublicKey) {
		return errors.New("signer does not match the certificate's public key")
	}
	var (
		oid      asn1.ObjectIdentifier
		withNULL bool
	)
	switch pub := k.signer.Public().(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			oid, k.sigHash = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, crypto.SHA256
		case elliptic.P384():
			oid, k.sigHash = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, crypto.SHA384
		case elliptic.P521():
			oid, k.sigHash = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}, crypto.SHA512
		default:
			return errors.New("unsupported elliptic curve")
		}
	case *rsa.PublicKey:
		// PKCS #1 v1.5, which is what a crypto.Signer over an RSA key does
		// when given a plain crypto.Hash; RFC 4055 wants NULL parameters.
		oid, k.sigHash, withNULL = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, crypto.SHA256, true
	case ed25519.PublicKey:
		oid = asn1.ObjectIdentifier{1, 3, 101, 112}
	default:
		return fmt.Errorf("unsupported key type %T", pub)
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if withNULL {
			b.AddASN1NULL()
		}
	})
	alg, err := b.Bytes()
	if err != nil {
		return fmt.Errorf("encoding signature algorithm: %w", err)
	}
	k.sigAlg = alg
	return nil
}

func digest(h crypto.Hash, data []byte) []byte {
	d := h.New()
	d.Write(data)
	return d.Sum(nil)
}
