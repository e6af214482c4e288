package storagetest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"certmaker/storage"
	"certmaker/storage/seal"
)

// Secrets are sealed: none is stored in clear, a store is refused under a
// key file not its own or without one, and it opens again with its own.
func testSealing(t *testing.T, h *harness) {
	f := h.open(t)
	s := f.s
	must(t, "CreateUser", s.CreateUser(newUser("alice")))
	root := newRoot("aa11", "")
	must(t, "PutRoot", s.PutRoot(root, true))
	c := newCert("alice")
	mustPut(t, s, c)
	eab := storage.ACMEEAB{ID: "kid", Owner: "alice", Key: randomBytes(32), Created: base}
	must(t, "CreateACMEEAB", s.CreateACMEEAB(eab))
	nonce, err := s.ACMENonceKey()
	must(t, "ACMENonceKey", err)
	if f.place.Raw != nil {
		raw, err := f.place.Raw()
		must(t, "reading the place raw", err)
		for name, secret := range map[string][]byte{"root key": root.KeyPKCS8, "certificate key": c.KeyPKCS8, "EAB key": eab.Key, "nonce key": nonce} {
			if bytes.Contains(raw, secret) {
				t.Errorf("the %s is stored in clear", name)
			}
		}
		if !bytes.Contains(raw, c.DER) {
			t.Errorf("Raw does not hold a certificate's DER: the check above proves nothing")
		}
	}
	f.close()

	_, err = f.openWith(sealKeyIn(t))
	if !errors.Is(err, seal.ErrWrongKey) {
		t.Errorf("opened with another key file: err = %v, want seal.ErrWrongKey", err)
		if f.s != nil {
			f.close()
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.key")
	_, err = f.openWith(missing)
	if !errors.Is(err, seal.ErrKeyFileMissing) {
		t.Errorf("opened without its key file: err = %v, want seal.ErrKeyFileMissing", err)
		if f.s != nil {
			f.close()
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("opening a sealed store made a new key file")
	}
	s, err = f.openWith(f.keyFile)
	must(t, "opening with its own key file", err)
	got, err := s.Certificate(c.Serial)
	if err != nil || !bytes.Equal(got.KeyPKCS8, c.KeyPKCS8) {
		t.Errorf("the key after reopening with the right key file: %v", err)
	}
}
