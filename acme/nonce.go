package acme

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"time"

	"certmaker/store"
)

// nonceLifetime bounds how long a nonce is accepted. Clients use a nonce
// within seconds; one that has waited longer gets badNonce, and RFC 8555
// clients retry with the fresh nonce the error carries.
const nonceLifetime = time.Hour

// A nonce is issued-at (8 bytes, Unix seconds) + 16 random bytes + the
// first 16 bytes of their HMAC-SHA256 under the database's nonce key.
const (
	nonceIDLen  = 8 + 16
	nonceMACLen = 16
)

// nonces hands out and checks nonces. Handing one out writes nothing;
// using one records it in the store, so it works once, across restarts.
type nonces struct {
	key   []byte
	store Store
	now   func() time.Time
}

func (n *nonces) mac(id []byte) []byte {
	m := hmac.New(sha256.New, n.key)
	m.Write(id)
	return m.Sum(nil)[:nonceMACLen]
}

// next returns a fresh nonce.
func (n *nonces) next() string {
	b := make([]byte, nonceIDLen, nonceIDLen+nonceMACLen)
	binary.BigEndian.PutUint64(b, uint64(max(n.now().Unix(), 0)))
	rand.Read(b[8:nonceIDLen]) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(append(b, n.mac(b)...))
}

// use accepts a nonce this server made, not expired and not used before,
// and marks it used.
func (n *nonces) use(s string) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != nonceIDLen+nonceMACLen || !hmac.Equal(b[nonceIDLen:], n.mac(b[:nonceIDLen])) {
		return newProblem(probBadNonce, http.StatusBadRequest, "nonce %.60q was not issued by this server", s)
	}
	now := n.now()
	issued := time.Unix(int64(binary.BigEndian.Uint64(b)), 0)
	if age := now.Sub(issued); age > nonceLifetime || age < -time.Minute {
		return newProblem(probBadNonce, http.StatusBadRequest, "nonce has expired; use the one in this response")
	}
	err = n.store.UseACMENonce(b[:nonceIDLen], now.Add(-nonceLifetime))
	if errors.Is(err, store.ErrExists) {
		return newProblem(probBadNonce, http.StatusBadRequest, "nonce has been used before; use the one in this response")
	}
	if err != nil {
		return internal(err)
	}
	return nil
}
