package admin

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// newSecret returns n bytes from the CSPRNG and their unpadded base64url
// text, the form operators paste into ACME clients and API calls.
func newSecret(n int) ([]byte, string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, "", fmt.Errorf("reading random bytes: %w", err)
	}
	return b, base64.RawURLEncoding.EncodeToString(b), nil
}
