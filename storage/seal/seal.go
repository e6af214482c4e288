package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
)

// A sealed value is:
//
//	version  1 byte (v1)
//	key id   4 bytes: the first bytes of SHA-256 of the key
//	nonce    12 bytes, random
//	sealed   the ciphertext and its 16-byte tag
const (
	v1     = 1
	idLen  = 4
	nonceN = 12
	// Overhead is how many bytes sealing adds to a value.
	Overhead = 1 + idLen + nonceN + 16
)

// ErrWrongKey means the key does not open the storage's sealed values.
var ErrWrongKey = errors.New("wrong key file")

// The kinds of sealed secrets, and the identity each is sealed to. Every
// backend uses these, so that a sealed value means the same in each.
const (
	CertificateKey = "certificate key" // identity: CertificateIdentity(serial)
	CAKey          = "ca key"          // identity: the certificate's fingerprint
	EABKey         = "acme eab key"    // identity: the key id
	NonceKey       = "acme nonce key"  // identity: ""
	Check          = "check"           // identity: "": proves the key belongs to the storage
)

// CertificateIdentity is what a certificate's key is sealed to: its serial.
func CertificateIdentity(serial *big.Int) string { return serial.Text(16) }

// checkPlain is what the check value holds.
var checkPlain = []byte("certmaker sealed store")

// Keyring seals under its current key and opens values of every key it
// has had (after a rekey, readers of an older snapshot still hold values
// of the old one). It is safe for concurrent use; a backend that rekeys
// must itself keep values sealed with the old key from being committed
// after its rekey (store holds a lock from seal to commit).
type Keyring struct {
	current atomic.Uint32
	aeads   sync.Map // uint32 key id → cipher.AEAD
}

// keyID names a key without revealing it.
func keyID(key []byte) uint32 {
	sum := sha256.Sum256(append([]byte("certmaker seal key id\x00"), key...))
	return binary.BigEndian.Uint32(sum[:idLen])
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealing key: %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// NewKeyring is a keyring whose current key is key (KeySize bytes).
func NewKeyring(key []byte) (*Keyring, error) {
	k := &Keyring{}
	if err := k.Use(key); err != nil {
		return nil, err
	}
	return k, nil
}

// Use makes key the current one, keeping the others for opening.
func (k *Keyring) Use(key []byte) error {
	if err := k.Add(key); err != nil {
		return err
	}
	k.current.Store(keyID(key))
	return nil
}

// Add makes the keyring open values sealed under key, without sealing
// with it: a rekey adds the new key before its commit, so that a reader
// who sees the resealed values before Use can open them.
func (k *Keyring) Add(key []byte) error {
	aead, err := newAEAD(key)
	if err != nil {
		return err
	}
	k.aeads.Store(keyID(key), aead)
	return nil
}

// IsCurrent says, without opening it, whether sealed was sealed under the
// current key: a rekey done a page at a time (or resumed) skips the
// values it already sealed anew.
func (k *Keyring) IsCurrent(sealed []byte) bool {
	return len(sealed) >= Overhead && sealed[0] == v1 && binary.BigEndian.Uint32(sealed[1:]) == k.current.Load()
}

// ad is the associated data of a record's secret.
func ad(kind, identity string) []byte {
	return []byte("certmaker/sealed/" + kind + "\x00" + identity)
}

// Seal encrypts plain for the record kind/identity under the current key.
func (k *Keyring) Seal(kind, identity string, plain []byte) ([]byte, error) {
	id := k.current.Load()
	v, _ := k.aeads.Load(id)
	out := make([]byte, 1+idLen+nonceN, Overhead+len(plain))
	out[0] = v1
	binary.BigEndian.PutUint32(out[1:], id)
	if _, err := rand.Read(out[1+idLen:]); err != nil {
		return nil, fmt.Errorf("sealing: %w", err)
	}
	return v.(cipher.AEAD).Seal(out, out[1+idLen:], plain, ad(kind, identity)), nil
}

// Open decrypts a value Seal made for the same kind and identity. A value
// sealed under a key the keyring never had is ErrWrongKey.
func (k *Keyring) Open(kind, identity string, sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead || sealed[0] != v1 {
		return nil, fmt.Errorf("%s %.64s: the sealed value is damaged or not sealed", kind, identity)
	}
	v, ok := k.aeads.Load(binary.BigEndian.Uint32(sealed[1:]))
	if !ok {
		return nil, fmt.Errorf("%s %.64s: sealed under another key: %w", kind, identity, ErrWrongKey)
	}
	nonce := sealed[1+idLen : 1+idLen+nonceN]
	plain, err := v.(cipher.AEAD).Open(nil, nonce, sealed[1+idLen+nonceN:], ad(kind, identity))
	if err != nil {
		return nil, fmt.Errorf("%s %.64s: the sealed value does not open (damaged, or moved from another record)", kind, identity)
	}
	return plain, nil
}

// CheckValue is a value that only the current key opens, for a backend to
// store beside the secrets and test a key with (OpensCheck).
func (k *Keyring) CheckValue() ([]byte, error) { return k.Seal(Check, "", checkPlain) }

// OpensCheck says whether key opens v, a CheckValue; ErrWrongKey if not.
func OpensCheck(key, v []byte) error {
	k, err := NewKeyring(key)
	if err != nil {
		return err
	}
	if _, err := k.Open(Check, "", v); err != nil {
		return fmt.Errorf("%w: %w", ErrWrongKey, err)
	}
	return nil
}

// Transform turns one secret into another form: plain to sealed when a
// storage's secrets are first sealed, sealed under one key to sealed
// under another on a rekey.
type Transform func(kind, identity string, v []byte) ([]byte, error)

// Plain is the transform of a value that is not sealed yet.
func Plain(_, _ string, v []byte) ([]byte, error) { return v, nil }

// Reseal opens a value with from and seals it with to, and proves that to
// opens the result to the same secret: a storage must never be committed
// with a secret it cannot give back.
func Reseal(from Transform, to *Keyring) Transform {
	return func(kind, identity string, v []byte) ([]byte, error) {
		plain, err := from(kind, identity, v)
		if err != nil {
			return nil, err
		}
		sealed, err := to.Seal(kind, identity, plain)
		if err != nil {
			return nil, err
		}
		back, err := to.Open(kind, identity, sealed)
		if err != nil || string(back) != string(plain) {
			return nil, fmt.Errorf("%s %.64s: the sealed value does not open to the original (%v)", kind, identity, err)
		}
		return sealed, nil
	}
}
