package ocsp

import (
	"crypto"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	xocsp "golang.org/x/crypto/ocsp"
)

// request is the part of an OCSP request the responder acts on.
type request struct {
	hash     crypto.Hash
	nameHash []byte
	keyHash  []byte
	serial   *big.Int
	// nonce is the nonce extension's extnValue, echoed byte for byte; nil
	// when the request has none.
	nonce []byte
}

// maxNonce is the longest nonce echoed: RFC 8954 §2.1 lets a responder
// ignore nonces longer than 32 octets, and echoing one would let a client
// make signed responses of any size.
const maxNonce = 32

var errMalformed = errors.New("malformed ocsp request")

// parseRequest reads a DER OCSPRequest. x/crypto/ocsp reads the CertID; the
// TBSRequest is walked here too because x/crypto/ocsp neither exposes the
// request extensions (the nonce) nor tells how many CertIDs there are.
//
// A request for more than one certificate is malformed: RFC 5019 §2.1.1 asks
// for exactly one, and answering only the first would leave a client that
// asked for several without an answer for the rest, silently.
func parseRequest(der []byte) (request, error) {
	parsed, err := xocsp.ParseRequest(der)
	if err != nil {
		return request{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	count, nonce, err := parseTBSRequest(der)
	if err != nil {
		return request{}, err
	}
	if count != 1 {
		return request{}, fmt.Errorf("%w: %d certificates asked for, want 1", errMalformed, count)
	}
	return request{
		hash:     parsed.HashAlgorithm,
		nameHash: parsed.IssuerNameHash,
		keyHash:  parsed.IssuerKeyHash,
		serial:   parsed.SerialNumber,
		nonce:    nonce,
	}, nil
}

// parseTBSRequest returns how many Requests the requestList holds and the
// nonce extension's value (nil when absent or not echoed).
//
//	OCSPRequest ::= SEQUENCE {
//	    tbsRequest              TBSRequest,
//	    optionalSignature   [0] EXPLICIT Signature OPTIONAL }
//	TBSRequest ::= SEQUENCE {
//	    version             [0] EXPLICIT Version DEFAULT v1,
//	    requestorName       [1] EXPLICIT GeneralName OPTIONAL,
//	    requestList             SEQUENCE OF Request,
//	    requestExtensions   [2] EXPLICIT Extensions OPTIONAL }
func parseTBSRequest(der []byte) (count int, nonce []byte, err error) {
	malformed := func(what string) (int, []byte, error) {
		return 0, nil, fmt.Errorf("%w: bad %s", errMalformed, what)
	}
	input := cryptobyte.String(der)
	var req, tbs, list cryptobyte.String
	if !input.ReadASN1(&req, cbasn1.SEQUENCE) || !input.Empty() ||
		!req.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return malformed("request")
	}
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) ||
		!tbs.ReadASN1(&list, cbasn1.SEQUENCE) {
		return malformed("tbsRequest")
	}
	for !list.Empty() {
		if !list.SkipASN1(cbasn1.SEQUENCE) {
			return malformed("requestList")
		}
		count++
	}
	var exts cryptobyte.String
	var hasExts bool
	if !tbs.ReadOptionalASN1(&exts, &hasExts, cbasn1.Tag(2).Constructed().ContextSpecific()) || !tbs.Empty() {
		return malformed("requestExtensions")
	}
	if !hasExts {
		return count, nil, nil
	}
	nonce, err = findNonce(exts)
	return count, nonce, err
}

// findNonce walks Extensions for id-pkix-ocsp-nonce. Other extensions are
// ignored: none is defined that would change the answer.
func findNonce(exts cryptobyte.String) ([]byte, error) {
	oidNonce := asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	var seq cryptobyte.String
	if !exts.ReadASN1(&seq, cbasn1.SEQUENCE) || !exts.Empty() {
		return nil, fmt.Errorf("%w: bad requestExtensions", errMalformed)
	}
	var nonce []byte
	seen := false
	for !seq.Empty() {
		var ext cryptobyte.String
		var oid asn1.ObjectIdentifier
		var value []byte
		critical := false
		if !seq.ReadASN1(&ext, cbasn1.SEQUENCE) ||
			!ext.ReadASN1ObjectIdentifier(&oid) ||
			ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&critical) ||
			!ext.ReadASN1Bytes(&value, cbasn1.OCTET_STRING) || !ext.Empty() {
			return nil, fmt.Errorf("%w: bad extension", errMalformed)
		}
		if !oid.Equal(oidNonce) {
			continue
		}
		if seen {
			return nil, fmt.Errorf("%w: two nonce extensions", errMalformed)
		}
		seen = true
		if n := nonceLen(value); n >= 1 && n <= maxNonce {
			nonce = value
		}
	}
	return nonce, nil
}

// nonceLen is the nonce's length: RFC 8954 defines the extnValue as a DER
// OCTET STRING, but some clients put the bare nonce there, so a value that is
// not one whole OCTET STRING counts as bare.
func nonceLen(value []byte) int {
	s := cryptobyte.String(value)
	var inner []byte
	if s.ReadASN1Bytes(&inner, cbasn1.OCTET_STRING) && s.Empty() {
		return len(inner)
	}
	return len(value)
}
