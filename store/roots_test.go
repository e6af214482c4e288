package store_test

import (
	"bytes"
	"testing"
	"time"

	"certmaker/store"
)

func newRoot(fp string) store.Root {
	return store.Root{Fingerprint: fp, CertDER: randomBytes(400), KeyPKCS8: randomBytes(138), Created: time.Now()}
}

func assertRootsEqual(t *testing.T, got []store.Root, want ...store.Root) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d roots, want %d", len(got), len(want))
	}
	byFP := map[string]store.Root{}
	for _, r := range got {
		byFP[r.Fingerprint] = r
	}
	for _, w := range want {
		g, ok := byFP[w.Fingerprint]
		if !ok {
			t.Errorf("root %s missing", w.Fingerprint)
			continue
		}
		if !bytes.Equal(g.CertDER, w.CertDER) || !bytes.Equal(g.KeyPKCS8, w.KeyPKCS8) || !g.Created.Equal(w.Created) {
			t.Errorf("root %s differs", w.Fingerprint)
		}
	}
}

func TestDB_Roots(t *testing.T) {
	t.Run("Empty", func(t *testing.T) {
		db := mustOpen(t)
		roots, active, err := db.Roots()
		if err != nil || len(roots) != 0 || active != "" {
			t.Errorf("Roots on an empty file = %d, %q, %v", len(roots), active, err)
		}
	})

	t.Run("Active", func(t *testing.T) {
		db := mustOpen(t)
		r1, r2, r3 := newRoot("bb01"), newRoot("aa02"), newRoot("cc03")

		if err := db.PutRoot(r1, false); err != nil {
			t.Fatal(err)
		}
		if _, active, _ := db.Roots(); active != "" {
			t.Errorf("inactive root became active: %q", active)
		}
		if err := db.PutRoot(r1, true); err != nil {
			t.Fatal(err)
		}
		if err := db.PutRoot(r2, false); err != nil {
			t.Fatal(err)
		}
		roots, active, err := db.Roots()
		if err != nil {
			t.Fatal(err)
		}
		assertRootsEqual(t, roots, r1, r2)
		if active != r1.Fingerprint {
			t.Errorf("active = %q, want %q (adding an inactive root must not change it)", active, r1.Fingerprint)
		}

		// Rotation: a later active root replaces the active one; the old
		// ones stay.
		if err := db.PutRoot(r3, true); err != nil {
			t.Fatal(err)
		}
		for round := range 2 {
			if round == 1 {
				db = reopen(t, db)
			}
			roots, active, err = db.Roots()
			if err != nil {
				t.Fatal(err)
			}
			assertRootsEqual(t, roots, r1, r2, r3)
			if active != r3.Fingerprint {
				t.Errorf("active = %q, want %q", active, r3.Fingerprint)
			}
		}
	})

	t.Run("Copied", func(t *testing.T) {
		db := mustOpen(t)
		r := newRoot("aa")
		want := r
		want.CertDER, want.KeyPKCS8 = bytes.Clone(r.CertDER), bytes.Clone(r.KeyPKCS8)
		if err := db.PutRoot(r, true); err != nil {
			t.Fatal(err)
		}
		r.KeyPKCS8[0] ^= 0xff
		roots, _, err := db.Roots()
		if err != nil {
			t.Fatal(err)
		}
		assertRootsEqual(t, roots, want)
		roots[0].CertDER[0] ^= 0xff
		roots[0].KeyPKCS8[0] ^= 0xff
		roots, _, err = db.Roots()
		if err != nil {
			t.Fatal(err)
		}
		assertRootsEqual(t, roots, want)
	})
}
