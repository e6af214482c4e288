package storage

import "crypto/sha256"

// HashToken is how an API token is kept: tokens are 256 random bits, so a
// plain SHA-256 is enough to make a stolen database useless for logging in,
// and it lets a backend find a user by token with one indexed lookup.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
