package inventory_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"certmaker/ca"
	"certmaker/internal/testdb"
	"certmaker/inventory"
	"certmaker/store"
)

// A search by name goes page by page with the cursors List hands out,
// which carry the name and so are longer than those of a listing by age.
func TestList_NamePagesFollowCursors(t *testing.T) {
	db, err := testdb.Open(filepath.Join(t.TempDir(), "ca.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"a.home.lan", "b.home.lan", "home.lan", "c.b.home.lan", "other.lan"}
	for i := range 20 {
		name := names[i%len(names)]
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Duration(i+1) * 24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c := &store.Certificate{Serial: big.NewInt(int64(i + 1)), DER: der, Owner: "alice", Root: "r", KeyType: "ecdsa-p256",
			Names: []string{name}, NotAfter: tmpl.NotAfter, Created: now.Add(time.Duration(i) * time.Minute)}
		if err := db.PutCertificate(c); err != nil {
			t.Fatal(err)
		}
	}
	// The records name an issuer this authority does not hold: listing
	// does not need it.
	cas, err := ca.New(ca.Config{PublicURL: "http://ca.test", DefaultDays: 1, MinDays: 1, MaxDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	count := func(q inventory.Query) int {
		t.Helper()
		n := 0
		for {
			page, err := inventory.List(db, cas, q, now)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			n += len(page.Certificates)
			if page.NextCursor == "" {
				return n
			}
			q.Cursor = page.NextCursor
		}
	}
	if n := count(inventory.Query{Name: ".home.lan", Limit: 3}); n != 16 {
		t.Errorf("under .home.lan: %d certificates, want 16", n)
	}
	if n := count(inventory.Query{Name: "home.lan", Limit: 1}); n != 4 {
		t.Errorf("home.lan itself: %d certificates, want 4", n)
	}
	if n := count(inventory.Query{Expiring: 10 * 24 * time.Hour, Limit: 4}); n != 9 {
		t.Errorf("expiring within 10 days: %d certificates, want 9 (the tenth ends at the window's end)", n)
	}
}
