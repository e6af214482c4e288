package storagetest

import (
	"bytes"
	"testing"

	"certmaker/storage"
)

func newRoot(fp, parent string) storage.Root {
	return storage.Root{Fingerprint: fp, CertDER: randomBytes(400), KeyPKCS8: randomBytes(138), Parent: parent, Created: base}
}

func testRoots(t *testing.T, h *harness) {
	s := h.store(t)
	if rs, active, err := s.Roots(); err != nil || len(rs) != 0 || active != "" {
		t.Errorf("Roots of a new store = %d, %q, %v; want none", len(rs), active, err)
	}
	root, inter := newRoot("aa11", ""), newRoot("bb22", "aa11")
	offline := newRoot("cc33", "")
	offline.KeyPKCS8 = nil
	must(t, "PutRoot", s.PutRoot(root, false))
	must(t, "PutRoot", s.PutRoot(inter, true))
	must(t, "PutRoot", s.PutRoot(offline, false))
	rs, active, err := s.Roots()
	if err != nil || len(rs) != 3 || active != "bb22" {
		t.Fatalf("Roots = %d roots, active %q, %v; want 3, bb22", len(rs), active, err)
	}
	byFP := map[string]storage.Root{}
	for _, r := range rs {
		byFP[r.Fingerprint] = r
	}
	for _, want := range []storage.Root{root, inter, offline} {
		got := byFP[want.Fingerprint]
		if !bytes.Equal(got.CertDER, want.CertDER) || !bytes.Equal(got.KeyPKCS8, want.KeyPKCS8) || got.Parent != want.Parent || !got.Created.Equal(want.Created) {
			t.Errorf("root %s read back as %+v", want.Fingerprint, got)
		}
		if (got.KeyPKCS8 == nil) != (want.KeyPKCS8 == nil) {
			t.Errorf("root %s: key nil = %v, want %v", want.Fingerprint, got.KeyPKCS8 == nil, want.KeyPKCS8 == nil)
		}
	}

	// UpdateRoot: what fn leaves is stored; a root's key can go offline.
	crl := randomBytes(90)
	got, err := s.UpdateRoot("aa11", func(r *storage.Root) error { r.CRL, r.KeyPKCS8 = crl, nil; return nil })
	if err != nil || !bytes.Equal(got.CRL, crl) || got.KeyPKCS8 != nil {
		t.Errorf("UpdateRoot = %+v, %v", got, err)
	}
	_, err = s.UpdateRoot("aa11", func(r *storage.Root) error { r.CRL = nil; return errRefused })
	wantErr(t, "UpdateRoot refused by fn", err, errRefused)
	if _, err := s.UpdateRoot("aa11", func(r *storage.Root) error { r.Fingerprint = "zz"; return nil }); err == nil {
		t.Error("UpdateRoot changed a fingerprint")
	}
	_, err = s.UpdateRoot("nope", func(*storage.Root) error { return nil })
	wantErr(t, "UpdateRoot(unknown)", err, storage.ErrNotFound)
	rs, active, _ = s.Roots()
	for _, r := range rs {
		if r.Fingerprint == "aa11" && (!bytes.Equal(r.CRL, crl) || r.KeyPKCS8 != nil) {
			t.Errorf("root aa11 after the updates: %+v", r)
		}
	}
	// A new active root replaces the active one in the same commit.
	must(t, "PutRoot", s.PutRoot(newRoot("dd44", "aa11"), true))
	if _, active, _ = s.Roots(); active != "dd44" {
		t.Errorf("active = %q after PutRoot(dd44, true)", active)
	}
}
