package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Every private key and secret in the file is sealed: AES-256-GCM under a
// key-encryption key that lives outside the database (keyfile.go), with
// what the record is (its kind and identity) as associated data, so that a
// stolen file or backup reveals no key, and a sealed value moved to
// another record does not open there.
//
// A sealed value is:
//
//	version  1 byte (sealV1)
//	key id   4 bytes: the first bytes of SHA-256 of the key
//	nonce    12 bytes, random
//	sealed   the ciphertext and its 16-byte tag
const (
	sealV1       = 1
	sealIDLen    = 4
	sealOverhead = 1 + sealIDLen + 12 + 16
)

// ErrSealKey means the key file does not open the database's sealed values.
var ErrSealKey = errors.New("wrong key file")

// sealer seals and opens under the current key, and opens values of keys
// it had before (a rekey in this process: readers of an older snapshot).
type sealer struct {
	// mu is held for reading by every write that seals, from the seal to
	// its commit, and for writing by a rekey: no value sealed with the old
	// key can be committed after the rekey's transaction.
	mu sync.RWMutex

	current uint32
	aeads   sync.Map // uint32 key id → cipher.AEAD
}

// keyID names a key without revealing it.
func keyID(key []byte) uint32 {
	sum := sha256.Sum256(append([]byte("certmaker seal key id\x00"), key...))
	return binary.BigEndian.Uint32(sum[:sealIDLen])
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("sealing key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func newSealer(key []byte) (*sealer, error) {
	s := &sealer{}
	if err := s.use(key); err != nil {
		return nil, err
	}
	return s, nil
}

// use makes key the current one, keeping the others for opening.
func (s *sealer) use(key []byte) error {
	aead, err := newAEAD(key)
	if err != nil {
		return err
	}
	id := keyID(key)
	s.aeads.Store(id, aead)
	s.current = id
	return nil
}

// ad is the associated data of a record's secret.
func ad(kind, identity string) []byte {
	return []byte("certmaker/sealed/" + kind + "\x00" + identity)
}

// seal encrypts plain for the record kind/identity under the current key.
func (s *sealer) seal(kind, identity string, plain []byte) ([]byte, error) {
	v, _ := s.aeads.Load(s.current)
	aead := v.(cipher.AEAD)
	out := make([]byte, 1+sealIDLen+12, sealOverhead+len(plain))
	out[0] = sealV1
	binary.BigEndian.PutUint32(out[1:], s.current)
	if _, err := rand.Read(out[1+sealIDLen:]); err != nil {
		return nil, fmt.Errorf("sealing: %w", err)
	}
	return aead.Seal(out, out[1+sealIDLen:], plain, ad(kind, identity)), nil
}

// open decrypts a value seal made for the same kind and identity.
func (s *sealer) open(kind, identity string, sealed []byte) ([]byte, error) {
	if len(sealed) < sealOverhead || sealed[0] != sealV1 {
		return nil, fmt.Errorf("%s %.64s: the sealed value is damaged or not sealed", kind, identity)
	}
	id := binary.BigEndian.Uint32(sealed[1:])
	v, ok := s.aeads.Load(id)
	if !ok {
		return nil, fmt.Errorf("%s %.64s: sealed under another key: %w", kind, identity, ErrSealKey)
	}
	nonce := sealed[1+sealIDLen : 1+sealIDLen+12]
	plain, err := v.(cipher.AEAD).Open(nil, nonce, sealed[1+sealIDLen+12:], ad(kind, identity))
	if err != nil {
		return nil, fmt.Errorf("%s %.64s: the sealed value does not open (damaged, or moved from another record)", kind, identity)
	}
	return plain, nil
}

// The kinds of sealed secrets, and their identities.
const (
	sealCert  = "certificate key" // identity: the serial in hex
	sealRoot  = "ca key"          // identity: the certificate's fingerprint
	sealEAB   = "acme eab key"    // identity: the key id
	sealNonce = "acme nonce key"  // identity: ""
	sealCheck = "check"           // identity: "": proves the key file is this file's
)

// sealCheckPlain is what the check value holds.
var sealCheckPlain = []byte("certmaker sealed store")
