package ocsp

import (
	"bytes"
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"

	xocsp "golang.org/x/crypto/ocsp"
)

func TestParseRequest(t *testing.T) {
	rt := newRoot(t, "root")
	serial := big.NewInt(4242)
	nonce16 := nonceValue(t, bytes.Repeat([]byte{7}, 16))
	nonce32 := nonceValue(t, bytes.Repeat([]byte{7}, 32))
	bare := bytes.Repeat([]byte{9}, 20) // a nonce not wrapped in an OCTET STRING

	withExts := func(exts ...pkix.Extension) []byte {
		der := buildRequest(t, crypto.SHA1, rt.cert, nil, serial)
		var req testOCSPRequest
		if _, err := asn1.Unmarshal(der, &req); err != nil {
			t.Fatal(err)
		}
		req.TBSRequest.Extensions = exts
		out, err := asn1.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	otherExt := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 4}, Value: []byte{0x30, 0x00}}

	tests := []struct {
		name      string
		der       []byte
		wantNonce []byte
		wantErr   bool
	}{
		{"NoNonce", buildRequest(t, crypto.SHA1, rt.cert, nil, serial), nil, false},
		{"Nonce16", buildRequest(t, crypto.SHA1, rt.cert, nonce16, serial), nonce16, false},
		{"Nonce32", buildRequest(t, crypto.SHA256, rt.cert, nonce32, serial), nonce32, false},
		{"NonceBare", buildRequest(t, crypto.SHA1, rt.cert, bare, serial), bare, false},
		{"NonceTooLongIgnored", buildRequest(t, crypto.SHA1, rt.cert, nonceValue(t, make([]byte, 33)), serial), nil, false},
		{"NonceEmptyIgnored", buildRequest(t, crypto.SHA1, rt.cert, nonceValue(t, nil), serial), nil, false},
		{"NonceAmongOthers", withExts(otherExt, pkix.Extension{Id: oidNonceTest, Critical: true, Value: nonce16}), nonce16, false},
		{"TwoNonces", withExts(pkix.Extension{Id: oidNonceTest, Value: nonce16}, pkix.Extension{Id: oidNonceTest, Value: nonce16}), nil, true},
		{"TwoCertificates", buildRequest(t, crypto.SHA1, rt.cert, nil, serial, big.NewInt(1)), nil, true},
		{"TrailingData", append(buildRequest(t, crypto.SHA1, rt.cert, nil, serial), 0), nil, true},
		{"Empty", nil, nil, true},
		{"Garbage", []byte("\x30\x03\x02\x01\x01"), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := parseRequest(tt.der)
			if tt.wantErr {
				if !errors.Is(err, errMalformed) {
					t.Fatalf("error %v, want errMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req.serial.Cmp(serial) != 0 {
				t.Errorf("serial %v, want %v", req.serial, serial)
			}
			if !bytes.Equal(req.nonce, tt.wantNonce) || (req.nonce == nil) != (tt.wantNonce == nil) {
				t.Errorf("nonce %x, want %x", req.nonce, tt.wantNonce)
			}
		})
	}
}

// FuzzParseRequest feeds arbitrary bytes to the parser and to Respond, which
// must always return a response that parses: an OCSP error, or a status
// signed by the one configured root.
func FuzzParseRequest(f *testing.F) {
	fx := newFixture(f, Config{})
	fx.setIssuers(fx.a.issuer())
	leaf := fx.good(f, fx.a, big.NewInt(77))
	f.Add(requestFor(f, leaf, fx.a.cert, crypto.SHA1))
	f.Add(buildRequest(f, crypto.SHA256, fx.a.cert, nonceValue(f, []byte("0123456789abcdef")), big.NewInt(77)))
	f.Add(buildRequest(f, crypto.SHA1, fx.a.cert, nil, big.NewInt(77), big.NewInt(78)))
	f.Add(buildRequest(f, crypto.SHA1, fx.a.cert, nil, big.NewInt(-5)))
	f.Add([]byte("\x30\x03\x02\x01\x01"))
	f.Add([]byte("not an ocsp request at all"))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, der []byte) {
		_, _ = parseRequest(der) // must only not panic
		resp, maxAge, err := fx.r.Respond(der)
		if err != nil {
			t.Fatalf("Respond: %v", err)
		}
		parsed, perr := xocsp.ParseResponse(resp, fx.a.cert)
		var re xocsp.ResponseError
		switch {
		case errors.As(perr, &re):
			if maxAge != 0 {
				t.Errorf("error response %v with maxAge %v", re.Status, maxAge)
			}
		case perr != nil:
			t.Fatalf("response does not parse: %v", perr)
		case maxAge <= 0:
			t.Errorf("signed response (status %d) with maxAge %v", parsed.Status, maxAge)
		}
	})
}

// Serials are bounded as RFC 5280 bounds them, by either parser.
func TestParseRequest_SerialLength(t *testing.T) {
	rt := newRoot(t, "root")
	octets := func(n int, b byte) *big.Int { return new(big.Int).SetBytes(bytes.Repeat([]byte{b}, n)) }
	tests := []struct {
		name    string
		serial  *big.Int
		wantErr bool
	}{
		{"20Octets", octets(20, 0x7f), false},
		{"20OctetsWithSignOctet", octets(20, 0xff), false},
		{"Negative20Octets", new(big.Int).Neg(octets(20, 0xff)), false},
		{"21Octets", octets(21, 0x01), true},
		{"Negative21Octets", new(big.Int).Neg(octets(21, 0x01)), true},
		{"9000Octets", octets(9000, 0x5a), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			common := buildRequest(t, crypto.SHA1, rt.cert, nil, tt.serial)
			// A version written out sends the request down the general parser.
			var req testOCSPRequest
			if _, err := asn1.Unmarshal(common, &req); err != nil {
				t.Fatal(err)
			}
			req.TBSRequest.Version = 1
			general, err := asn1.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := parseCommonRequest(general); ok {
				t.Fatal("request with a version takes the common parser")
			}
			for _, der := range [][]byte{common, general} {
				_, err := parseRequest(der)
				if got := errors.Is(err, errMalformed); got != tt.wantErr {
					t.Errorf("error %v, want malformed: %v", err, tt.wantErr)
				}
			}
		})
	}
}
