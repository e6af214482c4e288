package seal

import (
	"fmt"

	"certmaker/storage"
)

// The secrets of each record, passed through a Transform in place: a
// Keyring's Seal before a backend writes the record, its Open (or a
// backend's own opener) after it reads it. Every backend seals a record
// to the same kind and identity, so that a value means the same in each.

// Root passes a root's (or intermediate's) key, if it holds one.
func Root(t Transform, r *storage.Root) error {
	if r.KeyPKCS8 == nil {
		return nil
	}
	k, err := t(CAKey, r.Fingerprint, r.KeyPKCS8)
	r.KeyPKCS8 = k
	return err
}

// Certificate passes a certificate's key, if the server made it; the
// serial it is sealed to must be positive.
func Certificate(t Transform, c *storage.Certificate) error {
	if c.KeyPKCS8 == nil {
		return nil
	}
	if c.Serial == nil || c.Serial.Sign() <= 0 {
		return fmt.Errorf("certificate serial must be positive")
	}
	k, err := t(CertificateKey, CertificateIdentity(c.Serial), c.KeyPKCS8)
	if err != nil {
		return err
	}
	c.KeyPKCS8 = k
	return nil
}

// EAB passes an external account binding's MAC key.
func EAB(t Transform, k *storage.ACMEEAB) error {
	key, err := t(EABKey, k.ID, k.Key)
	if err != nil {
		return err
	}
	k.Key = key
	return nil
}

// Item is it with the secrets of its root, binding key or nonce key
// sealed by t, copies of the records it points to: what an Importer puts.
// A certificate's key is sealed where the backend encodes the record, as
// for every certificate it writes.
func Item(t Transform, it storage.Item) (storage.Item, error) {
	var err error
	switch {
	case it.Root != nil:
		r := *it.Root
		err = Root(t, &r)
		it.Root = &r
	case it.ACMEEAB != nil:
		k := *it.ACMEEAB
		err = EAB(t, &k)
		it.ACMEEAB = &k
	case it.ACMENonceKey != nil:
		it.ACMENonceKey, err = t(NonceKey, "", it.ACMENonceKey)
	}
	return it, err
}
