package codec

import (
	"bytes"
	"testing"

	"certmaker/storage"
)

// DecodeStatus must refuse exactly what Decode refuses, and
// agree with it on what both read.
func TestDecodeStatus_Truncated(t *testing.T) {
	for name, c := range recordCases() {
		v, _ := Encode(c)
		for i := range len(v) + 1 {
			checkStatusDecode(t, name, v[:i])
		}
		checkStatusDecode(t, name, append(bytes.Clone(v), 0))
	}
}

func FuzzDecodeStatus(f *testing.F) {
	for _, c := range recordCases() {
		v, _ := Encode(c)
		f.Add(v)
		f.Add(legacyJSON(f, c))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		checkStatusDecode(t, "fuzz", v)
	})
}

func checkStatusDecode(t *testing.T, name string, v []byte) {
	t.Helper()
	var c storage.Certificate
	full := Decode(v, &c)
	var st storage.CertificateStatus
	err := DecodeStatus(v, &st)
	if (full == nil) != (err == nil) {
		t.Fatalf("%s: record %x: decode says %v, DecodeStatus says %v", name, v, full, err)
	}
	if err != nil {
		return
	}
	if st.Root != c.Root || st.Revoked != c.Revoked || !st.RevokedAt.Equal(c.RevokedAt) || st.Reason != c.Reason {
		t.Fatalf("%s: record %x: status %+v, full record %+v", name, v, st, c)
	}
}
