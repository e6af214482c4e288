package ocsp

import (
	"bytes"
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
	// serialDER is the serial's DER INTEGER contents when the common
	// parser read it (nil otherwise): a cheaper cache key than the number.
	serialDER []byte
	// nonce is the nonce extension's extnValue, echoed byte for byte; nil
	// when the request has none.
	nonce []byte
}

// maxNonce is the longest nonce echoed: RFC 8954 §2.1 lets a responder
// ignore nonces longer than 32 octets, and echoing one would let a client
// make signed responses of any size.
const maxNonce = 32

// maxSerialOctets is RFC 5280's bound on a serial, counted as ca.ParseSerial
// counts it: the magnitude, before DER adds a sign octet to a number whose
// top bit is set.
const maxSerialOctets = 20

var errMalformed = errors.New("malformed ocsp request")

// parseRequest reads a DER OCSPRequest. x/crypto/ocsp reads the CertID; the
// TBSRequest is walked here too because x/crypto/ocsp neither exposes the
// request extensions (the nonce) nor tells how many CertIDs there are.
//
// A request for more than one certificate is malformed: RFC 5019 §2.1.1 asks
// for exactly one, and answering only the first would leave a client that
// asked for several without an answer for the rest, silently.
//
// A serial longer than RFC 5280's 20 octets is malformed too: no CA issues
// one, and answering it would sign and echo whatever a client made up.
func parseRequest(der []byte) (request, error) {
	req, ok := parseCommonRequest(der)
	if !ok {
		var err error
		if req, err = parseAnyRequest(der); err != nil {
			return request{}, err
		}
	}
	if n := req.serial.BitLen(); n > 8*maxSerialOctets {
		return request{}, fmt.Errorf("%w: serial of %d bits, longer than %d octets", errMalformed, n, maxSerialOctets)
	}
	return req, nil
}

// parseAnyRequest is the general parser: every request shape that
// x/crypto/ocsp accepts, and its errors.
func parseAnyRequest(der []byte) (request, error) {
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

// hashOIDs are the CertID hash algorithms x/crypto/ocsp accepts, as DER
// OBJECT IDENTIFIER contents.
var hashOIDs = []struct {
	oid  []byte
	hash crypto.Hash
}{
	{[]byte{0x2b, 0x0e, 0x03, 0x02, 0x1a}, crypto.SHA1},
	{[]byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}, crypto.SHA256},
	{[]byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02}, crypto.SHA384},
	{[]byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03}, crypto.SHA512},
}

// parseCommonRequest reads, in one pass without reflection, the request
// every client sends: one CertID with a known hash (parameters absent or
// NULL), no version, requestor name, signature or per-certificate
// extensions, and perhaps a nonce. It answers ok only for requests that
// parseAnyRequest reads the same way, field for field; anything else,
// malformed or merely unusual, goes to parseAnyRequest, which decides.
//
//	Request ::= SEQUENCE {
//	    reqCert                     CertID,
//	    singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
//	CertID ::= SEQUENCE {
//	    hashAlgorithm       AlgorithmIdentifier,
//	    issuerNameHash      OCTET STRING,
//	    issuerKeyHash       OCTET STRING,
//	    serialNumber        CertificateSerialNumber }
func parseCommonRequest(der []byte) (request, bool) {
	input := cryptobyte.String(der)
	var outer, tbs, list, single, certID, alg cryptobyte.String
	if !input.ReadASN1(&outer, cbasn1.SEQUENCE) || !input.Empty() ||
		!outer.ReadASN1(&tbs, cbasn1.SEQUENCE) || !outer.Empty() ||
		!tbs.ReadASN1(&list, cbasn1.SEQUENCE) ||
		!list.ReadASN1(&single, cbasn1.SEQUENCE) || !list.Empty() ||
		!single.ReadASN1(&certID, cbasn1.SEQUENCE) || !single.Empty() ||
		!certID.ReadASN1(&alg, cbasn1.SEQUENCE) {
		return request{}, false
	}
	var oid cryptobyte.String
	if !alg.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) {
		return request{}, false
	}
	if !alg.Empty() && (!alg.SkipASN1(cbasn1.NULL) || !alg.Empty()) {
		return request{}, false
	}
	var req request
	for _, h := range hashOIDs {
		if bytes.Equal(oid, h.oid) {
			req.hash = h.hash
			break
		}
	}
	req.serial = new(big.Int)
	if req.hash == 0 ||
		!certID.ReadASN1Bytes(&req.nameHash, cbasn1.OCTET_STRING) ||
		!certID.ReadASN1Bytes(&req.keyHash, cbasn1.OCTET_STRING) {
		return request{}, false
	}
	// ReadASN1Integer insists on the minimal encoding, so the contents
	// name the number exactly.
	rawSerial := certID
	if !certID.ReadASN1Integer(req.serial) || !certID.Empty() ||
		!rawSerial.ReadASN1((*cryptobyte.String)(&req.serialDER), cbasn1.INTEGER) {
		return request{}, false
	}
	var exts cryptobyte.String
	var hasExts bool
	if !tbs.ReadOptionalASN1(&exts, &hasExts, cbasn1.Tag(2).Constructed().ContextSpecific()) || !tbs.Empty() {
		return request{}, false
	}
	if hasExts {
		nonce, err := findNonce(exts)
		if err != nil {
			return request{}, false
		}
		req.nonce = nonce
	}
	return req, true
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
