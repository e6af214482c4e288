package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"time"

	"certmaker/storage"
)

// EAB is an ACME External Account Binding key (RFC 8555 7.3.4): an ACME
// client that presents it creates accounts acting for the key's user.
type EAB struct {
	KeyID   string `json:"key_id"`
	HMACKey string `json:"hmac_key"` // base64url, no padding, as ACME clients take it
}

// EABInfo is one row of the EAB key list: never the HMAC key.
type EABInfo struct {
	KeyID   string    `json:"key_id"`
	User    string    `json:"user"`
	Created time.Time `json:"created"`
	// Accounts is how many ACME accounts the key bound; 0 means unused.
	Accounts int `json:"accounts"`
}

// ACMEEAB makes a new EAB key for a user. A user may hold several; each
// stays usable, so a proxy that loses its account can register again.
func (s *Service) ACMEEAB(ctx context.Context, a Actor, name string) (EAB, error) {
	k, err := s.acmeEAB(ctx, a, name)
	s.audit(ctx, a, "acme.eab.create", k.KeyID, err, slogUser(name))
	return k, err
}

func (s *Service) acmeEAB(ctx context.Context, a Actor, name string) (EAB, error) {
	if err := mayAdminister(a); err != nil {
		return EAB{}, err
	}
	if _, err := s.store.User(name); err != nil {
		return EAB{}, err
	}
	_, id, err := newSecret(12)
	if err != nil {
		return EAB{}, fmt.Errorf("making EAB key id: %w", err)
	}
	key, keyText, err := newSecret(32) // HS256 wants at least 256 bits
	if err != nil {
		return EAB{}, fmt.Errorf("making EAB key: %w", err)
	}
	k := storage.ACMEEAB{ID: id, Owner: name, Key: key, Created: s.ca.Now().UTC()}
	if err := s.noteWrite(ctx, s.store.CreateACMEEAB(k)); err != nil {
		return EAB{}, err
	}
	return EAB{KeyID: k.ID, HMACKey: keyText}, nil
}

// ACMEEABs lists the EAB keys of user, or of every user for "".
func (s *Service) ACMEEABs(_ context.Context, a Actor, user string) ([]EABInfo, error) {
	if err := mayAdminister(a); err != nil {
		return nil, err
	}
	keys, err := s.store.ACMEEABs(user)
	if err != nil {
		return nil, err
	}
	out := make([]EABInfo, len(keys))
	for i, k := range keys {
		out[i] = EABInfo{KeyID: k.ID, User: k.Owner, Created: k.Created, Accounts: k.Accounts}
	}
	return out, nil
}

// RevokeACMEEAB deletes an EAB key, so it binds no new account, and
// deactivates the accounts it bound (RFC 8555 7.3.6: for good); it returns
// how many. Accounts are read per request, so they stop at their next one.
func (s *Service) RevokeACMEEAB(ctx context.Context, a Actor, kid string) (int, error) {
	n, err := 0, mayAdminister(a)
	if err == nil {
		n, err = s.store.RevokeACMEEAB(kid)
		err = s.noteWrite(ctx, err)
	}
	s.audit(ctx, a, "acme.eab.revoke", kid, err)
	return n, err
}

// ACMEBinding is an External Account Binding as its JWS carried it (RFC
// 8555 7.3.4). The door has checked its form (a MAC algorithm, a kid, the
// newAccount URL, no nonce); the core checks the MAC with the key it keeps,
// which never leaves it, and that the binding names the account's key.
type ACMEBinding struct {
	KeyID     string
	Algorithm string // HS256, HS384 or HS512
	// SigningInput is the JWS's protected header and payload as sent
	// (base64url, joined by "."); MAC its signature, decoded.
	SigningInput []byte
	MAC          []byte
	// Thumbprint is of the key the payload binds (ca.Thumbprint).
	Thumbprint string
}

// macs are the MACs an External Account Binding may use.
var macs = map[string]func() hash.Hash{"HS256": sha256.New, "HS384": sha512.New384, "HS512": sha512.New}

// binding checks b for an account of the key with thumbprint, and returns
// the EAB key that decides which user the account acts for. Every failure
// is Forbidden: the binding does not admit the account.
func (s *Service) binding(b *ACMEBinding, thumbprint string) (storage.ACMEEAB, error) {
	bad := func(format string, args ...any) (storage.ACMEEAB, error) {
		return storage.ACMEEAB{}, Errorf(Forbidden, "externalAccountBinding: "+format, args...)
	}
	newHash, ok := macs[b.Algorithm]
	if !ok {
		return bad("algorithm %.20q is not HS256, HS384 or HS512", b.Algorithm)
	}
	k, err := s.store.ACMEEABKey(b.KeyID)
	if errors.Is(err, storage.ErrNotFound) {
		return bad("unknown key id %.100q", b.KeyID)
	}
	if err != nil {
		return storage.ACMEEAB{}, err
	}
	m := hmac.New(newHash, k.Key)
	m.Write(b.SigningInput)
	if !hmac.Equal(m.Sum(nil), b.MAC) {
		return bad("MAC does not verify with key %q", b.KeyID)
	}
	if b.Thumbprint != thumbprint {
		return bad("binds a different key than the one signing the request")
	}
	return k, nil
}
