package ocsp

import (
	"crypto"
	"crypto/rand"
	"encoding/asn1"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	xocsp "golang.org/x/crypto/ocsp"
)

// answer is what a response says about a certificate, reduced to what is
// encoded, so two answers compare equal exactly when their responses would.
type answer struct {
	status    int   // xocsp.Good, xocsp.Revoked or xocsp.Unknown
	revokedAt int64 // Unix seconds: GeneralizedTime here carries no fractions
	reason    int   // -1: no reason given
}

// kind names the status for Observe.
func (a answer) kind() string {
	switch a.status {
	case xocsp.Good:
		return "good"
	case xocsp.Revoked:
		return "revoked"
	}
	return "unknown"
}

// answerFor turns the Source's view into the answer that root k gives.
func answerFor(st Status, k *issuerKey) answer {
	// A serial issued by another root is not one of k's, whatever its state:
	// answering for it would vouch for a certificate k never signed.
	if !st.Issued || !strings.EqualFold(st.IssuerFingerprint, k.fingerprint) {
		return answer{status: xocsp.Unknown, reason: -1}
	}
	if !st.Revoked {
		return answer{status: xocsp.Good, reason: -1}
	}
	reason := st.Reason
	// RFC 5280 §5.3.1: unspecified (0) should be left out rather than sent,
	// and 7 and values past 10 are not reasons at all.
	if reason <= 0 || reason == 7 || reason > xocsp.AACompromise {
		reason = -1
	}
	return answer{status: xocsp.Revoked, revokedAt: st.RevokedAt.Unix(), reason: reason}
}

// template holds what one response is made of.
type template struct {
	req        request
	answer     answer
	producedAt time.Time
	thisUpdate time.Time
	nextUpdate time.Time
	nonce      []byte // extnValue to echo; nil for none
}

// sign encodes and signs a BasicOCSPResponse (RFC 6960 §4.2.1) and wraps it in
// a successful OCSPResponse. It is done here rather than with
// x/crypto/ocsp.CreateResponse because that writes extensions only into
// singleExtensions, where neither RFC 6960 §4.4.1 nor OpenSSL look for the
// nonce, and stamps producedAt from the wall clock instead of ours.
func (k *issuerKey) sign(t template) ([]byte, error) {
	tbs, err := encodeResponseData(k, t)
	if err != nil {
		return nil, fmt.Errorf("encoding response data: %w", err)
	}
	msg, opts := tbs, crypto.SignerOpts(k.sigHash)
	if k.sigHash != 0 {
		msg = digest(k.sigHash, tbs)
	}
	sig, err := k.signer.Sign(rand.Reader, msg, opts)
	if err != nil {
		return nil, fmt.Errorf("signing response with root %s: %w", k.fingerprint, err)
	}

	oidBasic := asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // OCSPResponse
		b.AddASN1Enum(int64(xocsp.Success))
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ResponseBytes
				b.AddASN1ObjectIdentifier(oidBasic)
				b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // BasicOCSPResponse
						b.AddBytes(tbs)
						b.AddBytes(k.sigAlg)
						b.AddASN1BitString(sig)
						// No certs: the issuer signs itself, and the client
						// already holds the issuer to build the request.
					})
				})
			})
		})
	})
	return b.Bytes()
}

// encodeResponseData encodes ResponseData, with tagging EXPLICIT as in the
// RFC 6960 module except where marked IMPLICIT.
func encodeResponseData(k *issuerKey, t template) ([]byte, error) {
	hashOID, err := hashOID(t.req.hash)
	if err != nil {
		return nil, err
	}
	nameHash, keyHash := k.certIDHashes(t.req.hash)
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		// version v1 is the DEFAULT, which DER leaves out.
		// ResponderID byKey [2]: a root's name may repeat across
		// rotations, its key hash does not.
		b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1OctetString(k.responderID)
		})
		b.AddASN1GeneralizedTime(t.producedAt.UTC())
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // responses
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SingleResponse
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // CertID
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(hashOID)
						b.AddASN1NULL()
					})
					b.AddASN1OctetString(nameHash)
					b.AddASN1OctetString(keyHash)
					b.AddASN1BigInt(t.req.serial)
				})
				addCertStatus(b, t.answer)
				b.AddASN1GeneralizedTime(t.thisUpdate.UTC())
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1GeneralizedTime(t.nextUpdate.UTC())
				})
			})
		})
		if t.nonce != nil {
			oidNonce := asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // Extensions
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(oidNonce)
						b.AddASN1OctetString(t.nonce)
					})
				})
			})
		}
	})
	return b.Bytes()
}

// addCertStatus encodes the CertStatus CHOICE, whose alternatives are
// IMPLICIT: good [0] NULL, revoked [1] RevokedInfo, unknown [2] NULL.
func addCertStatus(b *cryptobyte.Builder, a answer) {
	switch a.status {
	case xocsp.Good:
		b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(*cryptobyte.Builder) {})
	case xocsp.Revoked:
		b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1GeneralizedTime(time.Unix(a.revokedAt, 0).UTC())
			if a.reason >= 0 {
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1Enum(int64(a.reason))
				})
			}
		})
	default:
		b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(*cryptobyte.Builder) {})
	}
}

// certIDHashes returns the root's hashes for h; the request matched them.
func (k *issuerKey) certIDHashes(h crypto.Hash) (nameHash, keyHash []byte) {
	for _, c := range k.hashes {
		if c.hash == h {
			return c.nameHash, c.keyHash
		}
	}
	return nil, nil
}

func hashOID(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	switch h {
	case crypto.SHA1:
		return asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, nil
	case crypto.SHA256:
		return asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, nil
	case crypto.SHA384:
		return asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, nil
	case crypto.SHA512:
		return asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, nil
	}
	return nil, fmt.Errorf("unsupported CertID hash %v", h)
}
