package storagetest

import (
	"bytes"
	"math/big"
	"slices"
	"testing"
	"time"

	"certmaker/storage"
)

func sameCert(t *testing.T, got, want *storage.Certificate) {
	t.Helper()
	if got.Serial == nil || got.Serial.Cmp(want.Serial) != 0 || !bytes.Equal(got.DER, want.DER) || !bytes.Equal(got.KeyPKCS8, want.KeyPKCS8) ||
		(got.KeyPKCS8 == nil) != (want.KeyPKCS8 == nil) || got.Owner != want.Owner || got.Root != want.Root || got.KeyType != want.KeyType ||
		!slices.Equal(got.Names, want.Names) || !got.NotAfter.Equal(want.NotAfter) || !got.Created.Equal(want.Created) ||
		got.Revoked != want.Revoked || !got.RevokedAt.Equal(want.RevokedAt) || got.Reason != want.Reason {
		t.Errorf("certificate %s read back as\n%+v\nwant\n%+v", want.Serial, got, want)
	}
}

func testCertificates(t *testing.T, h *harness) {
	s := h.store(t)
	withKey := newCert("alice")
	fromCSR := newCert("bob")
	fromCSR.KeyPKCS8 = nil
	small := newCert("alice")
	small.Serial = big.NewInt(1)
	small.Names = nil
	for _, c := range []*storage.Certificate{withKey, fromCSR, small} {
		mustPut(t, s, c)
		got, err := s.Certificate(c.Serial)
		must(t, "Certificate", err)
		sameCert(t, &got, c)
		st, err := s.CertificateStatus(c.Serial)
		if err != nil || st.Root != c.Root || st.Revoked {
			t.Errorf("CertificateStatus(%s) = %+v, %v", c.Serial, st, err)
		}
	}
	// Callers own what they read: changing it changes nothing stored.
	got, _ := s.Certificate(withKey.Serial)
	got.KeyPKCS8[0] ^= 0xff
	got.DER[0] ^= 0xff
	again, _ := s.Certificate(withKey.Serial)
	sameCert(t, &again, withKey)

	dup := newCert("mallory")
	dup.Serial = withKey.Serial
	wantErr(t, "PutCertificate of a used serial", s.PutCertificate(dup), storage.ErrExists)
	again, _ = s.Certificate(withKey.Serial)
	sameCert(t, &again, withKey)
	for _, serial := range []*big.Int{big.NewInt(2), new(big.Int), big.NewInt(-1), nil} {
		_, err := s.Certificate(serial)
		wantErr(t, "Certificate("+serial.String()+")", err, storage.ErrNotFound)
		_, err = s.CertificateStatus(serial)
		wantErr(t, "CertificateStatus("+serial.String()+")", err, storage.ErrNotFound)
	}
	if n, err := s.CountCertificates("alice"); err != nil || n != 2 {
		t.Errorf("CountCertificates(alice) = %d, %v; want 2", n, err)
	}
	if n, err := s.CountAllCertificates(); err != nil || n != 3 {
		t.Errorf("CountAllCertificates = %d, %v; want 3", n, err)
	}
	if n, err := s.CountExpiring(base, base.Add(91*24*time.Hour)); err != nil || n != 3 {
		t.Errorf("CountExpiring = %d, %v; want 3", n, err)
	}
	if _, err := s.CountExpiry(storage.ExpiryQuery{Now: base, Max: 0}); err == nil {
		t.Error("CountExpiry with no Max: no error")
	}
	if _, err := s.CountExpiry(storage.ExpiryQuery{Now: base, Max: 10, Bounds: []time.Time{base.Add(time.Hour), base}}); err == nil {
		t.Error("CountExpiry with descending bounds: no error")
	}
}
