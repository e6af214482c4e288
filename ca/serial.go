package ca

import (
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"
)

// serialBits is the CSPRNG output in every serial: twice the CA/Browser
// Forum's 64-bit floor, and small enough to stay within RFC 5280's 20 octets
// (at most 17 once DER adds a sign byte).
const serialBits = 128

// NewSerial returns a positive random serial number read from r.
func NewSerial(r io.Reader) (*big.Int, error) {
	max := new(big.Int).Lsh(big.NewInt(1), serialBits)
	for {
		n, err := rand.Int(r, max)
		if err != nil {
			return nil, fmt.Errorf("making serial: %w", err)
		}
		// Zero is not positive; the chance is 2^-128, but it costs nothing to be exact.
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// leafSerialEpoch is the zero of the time prefix of leaf serials
// (2024-01-01 UTC); 31 bits of seconds from it last until 2092.
const leafSerialEpoch = 1704067200

// leafRandomBits is the CSPRNG output in a leaf serial: still far above the
// CA/Browser Forum's 64-bit floor after 51 bits of time prefix.
const leafRandomBits = 108

// NewLeafSerial returns the serial of a leaf issued at t: 31 bits of seconds
// since leafSerialEpoch and 20 bits of microseconds, then leafRandomBits of
// CSPRNG output read from r. The random part is all that makes serials
// unpredictable and unique, as for NewSerial; the prefix makes them grow
// with time, so that the store, keyed by serial, appends new certificates
// next to the last ones: at a million certificates a random key costs a
// page fault and a page rewrite per certificate, and even seconds alone
// left the thousands of certificates of one busy second scattered over as
// many pages, one write each per commit. 159 bits with the top one clear:
// positive, and exactly RFC 5280's 20 octets at most.
func NewLeafSerial(r io.Reader, t time.Time) (*big.Int, error) {
	secs := uint64(max(t.Unix()-leafSerialEpoch, 0)) & (1<<31 - 1) // wraps in 2092: order lost, nothing else
	micros := uint64(t.Nanosecond() / 1000)                        // < 2^20
	b := make([]byte, (leafRandomBits+7)/8)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("making serial: %w", err)
	}
	b[0] &= 0xff >> (8*len(b) - leafRandomBits)
	n := new(big.Int).SetUint64(secs<<20 | micros)
	n.Lsh(n, leafRandomBits)
	n.Or(n, new(big.Int).SetBytes(b))
	if n.Sign() == 0 {
		// All zero: the clock at the epoch and zero bits from r.
		return nil, fmt.Errorf("making serial: random source returned zeros")
	}
	return n, nil
}

// ParseSerial reads a certificate id as the API and CLI show it: the
// serial in decimal, positive, and within RFC 5280's 20 octets.
func ParseSerial(s string) (*big.Int, error) {
	if len(s) > 49 {
		return nil, Invalidf("certificate id %.20q... is too long: ids are decimal serial numbers of at most 49 digits", s)
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		if n, err := ParseHexSerial(s); err == nil {
			return nil, Invalidf("certificate id %.60q looks hexadecimal; ids are decimal: %s", s, n)
		}
		return nil, Invalidf("certificate id %.60q is not a decimal serial number", s)
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Sign() <= 0 || len(n.Bytes()) > 20 {
		return nil, Invalidf("certificate id %.60q is not a valid serial number", s)
	}
	return n, nil
}

// ParseHexSerial reads a serial as openssl and browsers show it: hex
// digits, optionally with a 0x prefix or colons between bytes
// ("5a:3f:..."). It needs a hex letter, a colon or the prefix, so that a
// decimal id is never mistaken for hex.
func ParseHexSerial(s string) (*big.Int, error) {
	h := strings.ToLower(s)
	prefixed := strings.HasPrefix(h, "0x")
	h = strings.TrimPrefix(h, "0x")
	colons := strings.Contains(h, ":")
	h = strings.ReplaceAll(h, ":", "")
	if h == "" || len(h) > 40 || strings.TrimLeft(h, "0123456789abcdef") != "" ||
		!prefixed && !colons && strings.TrimLeft(h, "0123456789") == "" {
		return nil, Invalidf("%.60q is not a hexadecimal serial number", s)
	}
	n, ok := new(big.Int).SetString(h, 16)
	if !ok || n.Sign() <= 0 {
		return nil, Invalidf("%.60q is not a valid serial number", s)
	}
	return n, nil
}
