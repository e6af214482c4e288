package web_test

import (
	"crypto/rand"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"certmaker/store"
)

// On a store with more certificates than one search page may look at, a
// name nobody has, and revoked certificates of a user with none, answer
// at once with no "keep searching" link: indexes answer them, the
// certificates are not read.
func TestListSearchReadsIndex(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	if a := b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"one.home.lan"}}); a.status != http.StatusSeeOther {
		t.Fatalf("request: %d", a.status)
	}
	certs, _, err := e.db.ListCertificates(store.ListQuery{Owner: "alice", Limit: 1})
	if err != nil || len(certs) != 1 {
		t.Fatal(certs, err)
	}
	proto := certs[0]
	var wg sync.WaitGroup
	for w := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 5100; i += 50 {
				c := proto
				c.Serial, _ = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
				c.Serial.SetBit(c.Serial, 121, 1)
				c.Names = []string{"bulk.example.com"}
				c.Created = proto.Created.Add(-time.Duration(i+1) * time.Second)
				if err := e.db.PutCertificate(&c); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	adm := e.browser()
	adm.signIn("root")
	for _, tc := range []struct {
		who   *browser
		query string
		rows  int
	}{
		{b, "q=nowhere.home.lan", 0},
		{b, "q=home.lan", 1},
		{b, "status=revoked", 0},
		{adm, "owner=*&q=nowhere.example.org", 0},
		{adm, "owner=alice&status=revoked", 0},
		{adm, "owner=*&q=.home.lan", 1},
	} {
		a := tc.who.get("/certificates?" + tc.query)
		if a.status != 200 {
			t.Fatalf("%s: %d", tc.query, a.status)
		}
		if strings.Contains(a.body, `rel="next"`) {
			t.Errorf("%s: offers to go on searching", tc.query)
		}
		if n := strings.Count(a.body, `<td data-label="Names">`); n != tc.rows {
			t.Errorf("%s: %d rows, want %d", tc.query, n, tc.rows)
		}
	}
}
