package etcdstore

// INTERIM: this file is the one seam between this backend and the sealing,
// key file and record codec that store/ and etcdstore share. Until the
// shared package lands it holds a stand-in of its own; at the rebase it
// shrinks to the calls into that package.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// The kinds of sealed secrets (their identities: the serial in hex, the
// fingerprint, the EAB key id, "" for the nonce key and the check value).
const (
	sealCert  = "certificate key"
	sealRoot  = "ca key"
	sealEAB   = "acme eab key"
	sealNonce = "acme nonce key"
	sealCheck = "check"
)

var sealCheckPlain = []byte("certmaker sealed store")

// errSealKey means the key file does not open the store's sealed values.
var errSealKey = errors.New("wrong key file")

// sealer seals under the current key and opens under any key it has had
// (a rekey keeps the old one until every value is sealed anew).
type sealer struct {
	mu      sync.RWMutex
	current [4]byte
	aeads   map[[4]byte]cipher.AEAD
}

func keyID(key []byte) [4]byte {
	sum := sha256.Sum256(append([]byte("certmaker etcd seal key id\x00"), key...))
	return [4]byte(sum[:4])
}

func newSealer(key []byte) (*sealer, error) {
	s := &sealer{aeads: map[[4]byte]cipher.AEAD{}}
	return s, s.use(key)
}

func (s *sealer) use(key []byte) error {
	if len(key) != 32 {
		return fmt.Errorf("sealing key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aeads[keyID(key)] = aead
	s.current = keyID(key)
	return nil
}

// sealedWith is the id of the key a value was sealed with.
func sealedWith(v []byte) [4]byte {
	if len(v) < 5 {
		return [4]byte{}
	}
	return [4]byte(v[1:5])
}

func (s *sealer) seal(kind, id string, plain []byte) ([]byte, error) {
	s.mu.RLock()
	cur, aead := s.current, s.aeads[s.current]
	s.mu.RUnlock()
	out := append([]byte{1}, cur[:]...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sealing: %w", err)
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, []byte(kind+"\x00"+id)), nil
}

func (s *sealer) open(kind, id string, v []byte) ([]byte, error) {
	if len(v) < 5+12+16 || v[0] != 1 {
		return nil, fmt.Errorf("%s %.64s: the sealed value is damaged or not sealed", kind, id)
	}
	s.mu.RLock()
	aead, ok := s.aeads[sealedWith(v)]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%s %.64s: sealed under another key: %w", kind, id, errSealKey)
	}
	plain, err := aead.Open(nil, v[5:17], v[17:], []byte(kind+"\x00"+id))
	if err != nil {
		return nil, fmt.Errorf("%s %.64s: the sealed value does not open: %w", kind, id, errSealKey)
	}
	return plain, nil
}

// readKeyFile reads the key file: one line of base64 of 32 bytes, or the
// 32 bytes themselves.
func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) == 32 {
		return b, nil
	}
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("key file %s: not a certmaker key (one line of base64 of 32 bytes)", path)
	}
	return key, nil
}

// loadKey reads the key file, or makes it when create is set and there
// is none.
func loadKey(path string, create bool) ([]byte, error) {
	key, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) || !create {
		return key, err
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, writeKeyFile(path, key)
}

func writeKeyFile(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating key file: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// encode and decode are the record codec: versioned JSON.
type envelope[T any] struct {
	V int `json:"v"`
	R T   `json:"r"`
}

func encode[T any](rec T) ([]byte, error) {
	b, err := json.Marshal(envelope[T]{V: 1, R: rec})
	if err != nil {
		return nil, fmt.Errorf("encoding record: %w", err)
	}
	return b, nil
}

func decode[T any](b []byte, rec *T) error {
	env := envelope[*T]{R: rec}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("decoding record: %w", err)
	}
	if env.V != 1 {
		return fmt.Errorf("decoding record: version %d, want 1", env.V)
	}
	return nil
}
