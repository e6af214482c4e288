package storagetest

import (
	"math/big"
	"testing"
	"time"

	"certmaker/storage"
)

func testRevocations(t *testing.T, h *harness) {
	f := h.open(t)
	s := f.s
	live, expired, other := newCert("alice"), newCert("alice"), newCert("bob")
	expired.NotAfter = base.Add(-time.Hour)
	other.Root = "77aa"
	for _, c := range []*storage.Certificate{live, expired, other} {
		mustPut(t, s, c)
	}
	at := base.Add(time.Minute)
	got, err := s.Revoke(live.Serial, at, 1)
	if err != nil || !got.Revoked || !got.RevokedAt.Equal(at) || got.Reason != 1 || string(got.KeyPKCS8) != string(live.KeyPKCS8) {
		t.Errorf("Revoke = %+v, %v", got, err)
	}
	// The first revocation stands.
	_, err = s.Revoke(live.Serial, at.Add(time.Hour), 4)
	wantErr(t, "Revoke again", err, storage.ErrRevoked)
	if c, _ := s.Certificate(live.Serial); !c.Revoked || !c.RevokedAt.Equal(at) || c.Reason != 1 {
		t.Errorf("after a second Revoke: %+v", c)
	}
	if st, err := s.CertificateStatus(live.Serial); err != nil || !st.Revoked || !st.RevokedAt.Equal(at) || st.Reason != 1 {
		t.Errorf("CertificateStatus after Revoke = %+v, %v", st, err)
	}
	_, err = s.Revoke(big.NewInt(12345), at, 1)
	wantErr(t, "Revoke(unknown)", err, storage.ErrNotFound)
	if _, err := s.Revoke(expired.Serial, at, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(other.Serial, at, 0); err != nil {
		t.Fatal(err)
	}

	// A root's CRL lists its revoked certificates that have not expired.
	gen, list, err := s.Revocations("3f1a9c", base)
	if err != nil || gen != 2 || len(list) != 1 || list[0].Serial.Cmp(live.Serial) != 0 || !list[0].At.Equal(at) || list[0].Reason != 1 {
		t.Errorf("Revocations(3f1a9c) = %d, %+v, %v; want generation 2 and only the unexpired one", gen, list, err)
	}
	// ... until its own notAfter, also when that is a minute away.
	if _, list, _ := s.Revocations("3f1a9c", live.NotAfter.Add(-time.Minute)); len(list) != 1 {
		t.Errorf("a minute before its notAfter, the CRL lists %d, want 1", len(list))
	}
	if _, list, _ := s.Revocations("3f1a9c", live.NotAfter); len(list) != 0 {
		t.Errorf("at its notAfter, the CRL still lists %d", len(list))
	}
	if gen, list, err := s.Revocations("77aa", base); err != nil || gen != 1 || len(list) != 1 {
		t.Errorf("Revocations(77aa) = %d, %d entries, %v", gen, len(list), err)
	}
	if gen, list, err := s.Revocations("none", base); err != nil || gen != 0 || len(list) != 0 {
		t.Errorf("Revocations of a root with none = %d, %d, %v", gen, len(list), err)
	}
	if g, err := s.RevocationGeneration("3f1a9c"); err != nil || g != 2 {
		t.Errorf("RevocationGeneration = %d, %v; want 2", g, err)
	}

	// CRL numbers grow strictly per root, also across a reopen.
	var last uint64
	for range 3 {
		n, err := s.NextCRLNumber("3f1a9c")
		if err != nil || n <= last {
			t.Fatalf("NextCRLNumber = %d, %v after %d", n, err, last)
		}
		last = n
	}
	if n, err := s.NextCRLNumber("77aa"); err != nil || n == 0 {
		t.Errorf("another root's first CRL number = %d, %v", n, err)
	}
	s = f.reopen()
	if n, err := s.NextCRLNumber("3f1a9c"); err != nil || n <= last {
		t.Errorf("NextCRLNumber after reopening = %d, %v; want more than %d", n, err, last)
	}
	if g, _ := s.RevocationGeneration("3f1a9c"); g != 2 {
		t.Errorf("RevocationGeneration after reopening = %d, want 2", g)
	}
}
