package ca

import (
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"strings"
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
