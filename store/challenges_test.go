package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"certmaker/storage"
	"certmaker/store"
)

func newChallenge(id, owner string) store.Challenge {
	now := time.Now()
	return store.Challenge{
		ID:      id,
		Owner:   owner,
		Token:   "tok-" + id,
		Request: []byte(`{"names":["` + owner + `.example.com"]}`),
		Days:    30,
		Created: now,
		Expires: now.Add(time.Hour),
	}
}

func assertChallengeEqual(t *testing.T, got, want store.Challenge) {
	t.Helper()
	if got.ID != want.ID || got.Owner != want.Owner || got.Token != want.Token || got.CSR != want.CSR ||
		!bytes.Equal(got.Request, want.Request) || got.Days != want.Days ||
		!got.Created.Equal(want.Created) || !got.Expires.Equal(want.Expires) {
		t.Errorf("challenge = %+v, want %+v", got, want)
	}
	if (got.Serial == nil) != (want.Serial == nil) || (got.Serial != nil && got.Serial.Cmp(want.Serial) != 0) {
		t.Errorf("challenge Serial = %v, want %v", got.Serial, want.Serial)
	}
}

func mustPutChallenge(t *testing.T, db *store.DB, ch store.Challenge) {
	t.Helper()
	if err := db.PutChallenge(ch); err != nil {
		t.Fatalf("PutChallenge(%s): %v", ch.ID, err)
	}
}

func TestDB_Challenge(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		db := mustOpen(t)
		want := newChallenge("c1", "alice")
		want.CSR = true
		want.Request = []byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n")
		mustPutChallenge(t, db, want)
		for round := range 2 {
			if round == 1 {
				db = reopen(t, db)
			}
			got, err := db.Challenge("c1")
			if err != nil {
				t.Fatalf("Challenge: %v", err)
			}
			assertChallengeEqual(t, got, want)
			if got.Serial != nil {
				t.Errorf("unsolved challenge has Serial %v", got.Serial)
			}
		}
	})

	t.Run("Exists", func(t *testing.T) {
		db := mustOpen(t)
		want := newChallenge("c1", "alice")
		mustPutChallenge(t, db, want)
		if err := db.PutChallenge(newChallenge("c1", "mallory")); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate id: err = %v, want ErrExists", err)
		}
		got, err := db.Challenge("c1")
		if err != nil {
			t.Fatal(err)
		}
		assertChallengeEqual(t, got, want)
	})

	t.Run("NotFound", func(t *testing.T) {
		db := mustOpen(t)
		mustPutChallenge(t, db, newChallenge("c1", "alice"))
		for _, id := range []string{"c2", "c", ""} {
			if _, err := db.Challenge(id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Challenge(%q): err = %v, want ErrNotFound", id, err)
			}
		}
	})

	t.Run("Copied", func(t *testing.T) {
		db := mustOpen(t)
		ch := newChallenge("c1", "alice")
		want := ch
		want.Request = bytes.Clone(ch.Request)
		mustPutChallenge(t, db, ch)
		ch.Request[0] = 'X'
		got, err := db.Challenge("c1")
		if err != nil {
			t.Fatal(err)
		}
		assertChallengeEqual(t, got, want)
		got.Request[0] = 'Y'
		got, err = db.Challenge("c1")
		if err != nil {
			t.Fatal(err)
		}
		assertChallengeEqual(t, got, want)
	})
}

func TestDB_CompleteChallenge(t *testing.T) {
	t.Run("Once", func(t *testing.T) {
		db := mustOpen(t)
		mustPutChallenge(t, db, newChallenge("c1", "alice"))
		first := newCert("alice")
		ch, err := db.CompleteChallenge("c1", first)
		if err != nil {
			t.Fatalf("CompleteChallenge: %v", err)
		}
		if ch.Serial == nil || ch.Serial.Cmp(first.Serial) != 0 {
			t.Fatalf("Serial = %v, want %v", ch.Serial, first.Serial)
		}
		got, err := db.Certificate(first.Serial)
		if err != nil {
			t.Fatalf("solved challenge's certificate: %v", err)
		}
		assertCertEqual(t, got, *first)

		// Solving again answers with the first certificate and writes nothing.
		second := newCert("alice")
		ch, err = db.CompleteChallenge("c1", second)
		if err != nil {
			t.Fatalf("second CompleteChallenge: %v", err)
		}
		if ch.Serial == nil || ch.Serial.Cmp(first.Serial) != 0 {
			t.Errorf("second solve Serial = %v, want the first %v", ch.Serial, first.Serial)
		}
		for round := range 2 {
			if round == 1 {
				db = reopen(t, db)
			}
			if _, err := db.Certificate(second.Serial); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("second certificate: err = %v, want ErrNotFound", err)
			}
			if n, _ := db.CountCertificates("alice"); n != 1 {
				t.Errorf("alice has %d certificates, want 1", n)
			}
			stored, err := db.Challenge("c1")
			if err != nil {
				t.Fatal(err)
			}
			if stored.Serial == nil || stored.Serial.Cmp(first.Serial) != 0 {
				t.Errorf("stored Serial = %v, want %v", stored.Serial, first.Serial)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		db := mustOpen(t)
		mustPutChallenge(t, db, newChallenge("c1", "alice"))
		const n = 10
		certs := make([]*store.Certificate, n)
		for i := range certs {
			certs[i] = newCert("alice")
		}
		serials := make([]*big.Int, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				ch, err := db.CompleteChallenge("c1", certs[i])
				serials[i], errs[i] = ch.Serial, err
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("CompleteChallenge #%d: %v", i, err)
			}
			if serials[i] == nil {
				t.Fatalf("CompleteChallenge #%d returned no serial", i)
			}
			if serials[i].Cmp(serials[0]) != 0 {
				t.Errorf("callers disagree: %v and %v", serials[0], serials[i])
			}
		}
		stored := 0
		for _, c := range certs {
			got, err := db.Certificate(c.Serial)
			switch {
			case err == nil:
				stored++
				if c.Serial.Cmp(serials[0]) != 0 {
					t.Errorf("stored certificate %v is not the one callers got (%v)", c.Serial, serials[0])
				}
				assertCertEqual(t, got, *c)
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("Certificate: %v", err)
			}
		}
		if stored != 1 {
			t.Errorf("%d certificates stored, want exactly 1", stored)
		}
		if k, _ := db.CountCertificates("alice"); k != 1 {
			t.Errorf("owner index holds %d, want 1", k)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		db := mustOpen(t)
		mustPutChallenge(t, db, newChallenge("c1", "alice"))
		c := newCert("alice")
		if _, err := db.CompleteChallenge("c2", c); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		if _, err := db.Certificate(c.Serial); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("certificate for an unknown challenge was stored: %v", err)
		}
	})

	t.Run("SerialTaken", func(t *testing.T) {
		// A failed solve leaves the challenge open.
		db := mustOpen(t)
		mustPutChallenge(t, db, newChallenge("c1", "alice"))
		existing := newCert("bob")
		mustPut(t, db, existing)
		c := newCert("alice")
		c.Serial = new(big.Int).Set(existing.Serial)
		if _, err := db.CompleteChallenge("c1", c); !errors.Is(err, store.ErrExists) {
			t.Fatalf("err = %v, want ErrExists", err)
		}
		ch, err := db.Challenge("c1")
		if err != nil {
			t.Fatal(err)
		}
		if ch.Serial != nil {
			t.Errorf("challenge marked solved by a failed solve: %v", ch.Serial)
		}
		fresh := newCert("alice")
		if ch, err := db.CompleteChallenge("c1", fresh); err != nil || ch.Serial.Cmp(fresh.Serial) != 0 {
			t.Errorf("retry: %v, %v", ch.Serial, err)
		}
	})

	t.Run("ManyChallenges", func(t *testing.T) {
		// Distinct challenges solved at once share batches without mixing up.
		db := mustOpen(t)
		const n = 20
		certs := make([]*store.Certificate, n)
		for i := range n {
			mustPutChallenge(t, db, newChallenge(fmt.Sprintf("c%d", i), "alice"))
			certs[i] = newCert("alice")
		}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ch, err := db.CompleteChallenge(fmt.Sprintf("c%d", i), certs[i])
				if err != nil || ch.Serial == nil || ch.Serial.Cmp(certs[i].Serial) != 0 {
					t.Errorf("CompleteChallenge c%d: %v, %v", i, ch.Serial, err)
				}
			})
		}
		wg.Wait()
		if k, _ := db.CountCertificates("alice"); k != n {
			t.Errorf("alice has %d certificates, want %d", k, n)
		}
	})
}

func TestDB_PendingChallenges(t *testing.T) {
	db := mustOpen(t)
	now := time.Now()
	at := func(id, owner string, age time.Duration) store.Challenge {
		ch := newChallenge(id, owner)
		ch.Created, ch.Expires = now.Add(-age), now.Add(-age).Add(24*time.Hour)
		return ch
	}
	mustPutChallenge(t, db, at("a-old", "alice", 3*time.Hour))
	mustPutChallenge(t, db, at("a-new", "alice", time.Minute))
	mustPutChallenge(t, db, at("a-mid", "alice", time.Hour))
	mustPutChallenge(t, db, at("a-expired", "alice", 25*time.Hour))
	mustPutChallenge(t, db, at("b-1", "bob", time.Minute))
	mustPutChallenge(t, db, at("a-solved", "alice", 2*time.Minute))
	if _, err := db.CompleteChallenge("a-solved", newCert("alice")); err != nil {
		t.Fatal(err)
	}
	ids := func(chs []store.Challenge) string {
		var s []string
		for _, c := range chs {
			s = append(s, c.ID)
		}
		return fmt.Sprint(s)
	}

	t.Run("NewestFirst", func(t *testing.T) {
		got, more, err := db.PendingChallenges(storage.PendingQuery{Owner: "alice", Now: now, Limit: 10})
		if err != nil || more || ids(got) != "[a-new a-mid a-old]" {
			t.Fatalf("PendingChallenges = %s, more %v, %v; want [a-new a-mid a-old]", ids(got), more, err)
		}
	})
	t.Run("Limit", func(t *testing.T) {
		got, more, err := db.PendingChallenges(storage.PendingQuery{Owner: "alice", Now: now, Limit: 2})
		if err != nil || !more || ids(got) != "[a-new a-mid]" {
			t.Fatalf("PendingChallenges = %s, more %v, %v; want [a-new a-mid] and more", ids(got), more, err)
		}
	})
	t.Run("ScanBound", func(t *testing.T) {
		// Reading only part of the bucket says so: there may be more.
		got, more, err := db.PendingChallenges(storage.PendingQuery{Owner: "alice", Now: now, Limit: 10, MaxScan: 1})
		if err != nil || !more || len(got) > 1 {
			t.Fatalf("PendingChallenges with MaxScan 1 = %s, more %v, %v", ids(got), more, err)
		}
	})
	t.Run("NoneForOthers", func(t *testing.T) {
		got, more, err := db.PendingChallenges(storage.PendingQuery{Owner: "carol", Now: now, Limit: 10})
		if err != nil || more || len(got) != 0 {
			t.Fatalf("carol's: %s, more %v, %v", ids(got), more, err)
		}
	})
}
