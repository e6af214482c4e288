package challenge

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// tokenBytes gives 256 bits: unguessable, and short enough for a URL path.
const tokenBytes = 32

// Token returns a fresh random challenge token: 32 bytes from crypto/rand,
// base64url without padding (43 characters).
func Token() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
