package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
)

// Thumbprint is the RFC 7638 SHA-256 thumbprint of a public key, base64url
// without padding: what names an ACME account's key, and what an http-01
// key authorization ends with. It is the hash of the key's required JWK
// members in lexicographic order, without white space.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	var jwk string
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		x, y, err := ecdsaCoordinates(k, size)
		if err != nil {
			return "", err
		}
		jwk = `{"crv":"` + k.Curve.Params().Name + `","kty":"EC","x":"` + b64(x) + `","y":"` + b64(y) + `"}`
	case *rsa.PublicKey:
		jwk = `{"e":"` + b64(big.NewInt(int64(k.E)).Bytes()) + `","kty":"RSA","n":"` + b64(k.N.Bytes()) + `"}`
	case ed25519.PublicKey:
		jwk = `{"crv":"Ed25519","kty":"OKP","x":"` + b64(k) + `"}`
	default:
		return "", fmt.Errorf("%w: %T has no thumbprint", ErrKeyType, pub)
	}
	sum := sha256.Sum256([]byte(jwk))
	return b64(sum[:]), nil
}

// ecdsaCoordinates are a point's x and y, each padded to the curve's size
// as RFC 7518 6.2.1.2 asks.
func ecdsaCoordinates(k *ecdsa.PublicKey, size int) (x, y []byte, err error) {
	raw, err := k.Bytes() // uncompressed: 0x04 || x || y
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrKeyType, err)
	}
	if len(raw) != 1+2*size {
		return nil, nil, fmt.Errorf("%w: an ECDSA point of %d bytes", ErrKeyType, len(raw))
	}
	return raw[1 : 1+size], raw[1+size:], nil
}
