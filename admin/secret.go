package admin

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// newSecret returns n bytes from the CSPRNG and their unpadded base64url
// text, the form operators paste into ACME clients and API calls.
//
// The text never begins with '-': certbot's argument parser takes
// `--eab-hmac-key -Xy...` for two options and refuses it, and about one
// random value in 32 would. Drawing again until the first character is
// another one keeps every value uniform over the rest and costs
// log2(64/63) ≈ 0.02 bits; the text stays the exact encoding of the bytes.
func newSecret(n int) ([]byte, string, error) {
	b := make([]byte, n)
	for {
		if _, err := rand.Read(b); err != nil {
			return nil, "", fmt.Errorf("reading random bytes: %w", err)
		}
		if s := base64.RawURLEncoding.EncodeToString(b); s[0] != '-' {
			return b, s, nil
		}
	}
}
