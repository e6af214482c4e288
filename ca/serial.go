package ca

import (
	"crypto/rand"
	"encoding/binary"
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

// newLeafSerial returns the serial of a leaf issued at t: 31 bits of seconds
// since leafSerialEpoch, then serialBits of CSPRNG output read from r. The
// random part is all that makes serials unpredictable and unique, as for
// NewSerial; the prefix makes them grow with time, so that the store,
// keyed by serial, appends new certificates next to the last ones instead
// of writing into a random page of the whole file, which at a million
// certificates costs a page fault and a page rewrite per certificate. The
// prefix tells nothing the certificate's notBefore does not. 159 bits with
// the top one clear: positive, and exactly RFC 5280's 20 octets at most.
func newLeafSerial(r io.Reader, t time.Time) (*big.Int, error) {
	secs := max(t.Unix()-leafSerialEpoch, 0) & (1<<31 - 1) // wraps in 2092: order lost, nothing else
	b := make([]byte, 4+serialBits/8)
	binary.BigEndian.PutUint32(b, uint32(secs))
	if _, err := io.ReadFull(r, b[4:]); err != nil {
		return nil, fmt.Errorf("making serial: %w", err)
	}
	n := new(big.Int).SetBytes(b)
	if n.Sign() == 0 {
		// All zero: the clock at the epoch and 128 zero bits from r.
		return nil, fmt.Errorf("making serial: random source returned zeros")
	}
	return n, nil
}

// ParseSerial reads a certificate id as the API and CLI show it: the
// serial in decimal, positive, and within RFC 5280's 20 octets.
func ParseSerial(s string) (*big.Int, error) {
	if s == "" || len(s) > 49 || strings.TrimLeft(s, "0123456789") != "" {
		return nil, fmt.Errorf("%w: certificate id %.60q is not a decimal serial number", ErrInvalid, s)
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Sign() <= 0 || len(n.Bytes()) > 20 {
		return nil, fmt.Errorf("%w: certificate id %.60q is not a valid serial number", ErrInvalid, s)
	}
	return n, nil
}
