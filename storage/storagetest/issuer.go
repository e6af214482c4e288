package storagetest

import (
	"errors"
	"testing"

	"certmaker/storage"
)

// testIssuer: on a Shared store, a new certificate whose issuer another
// process rotated out is refused (ErrIssuerRetired) and nothing of it is
// written, by each of the three writes of a new certificate; the active
// issuer's, and one naming a root the store does not hold, are stored. A
// store of one process may store them all (storage.Certificates).
func testIssuer(t *testing.T, h *harness) {
	s := h.store(t)
	must(t, "PutRoot", s.PutRoot(newRoot("aa11", ""), false))
	must(t, "PutRoot", s.PutRoot(newRoot("bb22", "aa11"), true))
	signed := func(root string) *storage.Certificate {
		c := newCert("alice")
		c.Root = root
		return c
	}
	mustPut(t, s, signed("bb22"))
	mustPut(t, s, signed("not-stored"))
	// Another process rotates the intermediate: bb22 is retired.
	must(t, "PutRoot", s.PutRoot(newRoot("cc33", "aa11"), true))
	mustPut(t, s, signed("cc33"))

	must(t, "PutChallenge", s.PutChallenge(newChallenge("ch1", "alice", base)))
	o, azs := newOrder("o1", "acc1", 1)
	must(t, "CreateACMEOrder", s.CreateACMEOrder(o, azs))
	writes := []struct {
		name  string
		write func(c *storage.Certificate) error
	}{
		{"PutCertificate", s.PutCertificate},
		{"CompleteChallenge", func(c *storage.Certificate) error {
			_, err := s.CompleteChallenge("ch1", c)
			return err
		}},
		{"PutACMECertificate", func(c *storage.Certificate) error {
			_, err := s.PutACMECertificate("o1", c, func(o *storage.ACMEOrder) error {
				o.Status, o.Serial = "valid", c.Serial
				return nil
			})
			return err
		}},
	}
	for _, w := range writes {
		c := signed("bb22")
		err := w.write(c)
		if !s.Shared() {
			if err != nil {
				t.Errorf("%s by a rotated-out issuer on a store of one process: %v", w.name, err)
			}
			continue
		}
		wantErr(t, w.name+" by a rotated-out issuer", err, storage.ErrIssuerRetired)
		if _, err := s.Certificate(c.Serial); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s refused, yet the certificate reads: %v", w.name, err)
		}
	}
	if !s.Shared() {
		return
	}
	if ch, err := s.Challenge("ch1"); err != nil || ch.Serial != nil {
		t.Errorf("the challenge after a refused solve: %+v, %v", ch, err)
	}
	if got, err := s.ACMEOrder("o1"); err != nil || got.Serial != nil {
		t.Errorf("the order after a refused finalize: %+v, %v", got, err)
	}
	// The active issuer's goes through each.
	for _, w := range writes {
		if err := w.write(signed("cc33")); err != nil {
			t.Errorf("%s by the active issuer: %v", w.name, err)
		}
	}
}
