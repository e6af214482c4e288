package storagetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"certmaker/storage"
)

// writers is how many goroutines write at once.
const writers = 16

// parallel runs fn(i) for i in [0, n) at once and waits for all.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i)
		}()
	}
	wg.Wait()
}

// Concurrent writers lose no update, and counters come out exact.
func testConcurrent(t *testing.T, h *harness) {
	s := h.store(t)

	// Issuing from many writers: every certificate, every count.
	const each = 8
	certs := make([][]*storage.Certificate, writers)
	parallel(writers, func(i int) {
		for range each {
			c := newCert(fmt.Sprintf("user%d", i%4))
			if err := s.PutCertificate(c); err != nil {
				t.Errorf("PutCertificate: %v", err)
				return
			}
			certs[i] = append(certs[i], c)
		}
	})
	all := slices.Concat(certs...)
	if n, err := s.CountAllCertificates(); err != nil || n != len(all) {
		t.Errorf("CountAllCertificates = %d, %v; want %d", n, err, len(all))
	}
	for u := range 4 {
		if n, _ := s.CountCertificates(fmt.Sprintf("user%d", u)); n != writers/4*each {
			t.Errorf("CountCertificates(user%d) = %d, want %d", u, n, writers/4*each)
		}
	}

	// One certificate revoked by many at once: one revocation stands.
	target := all[0]
	var won sync.Map
	parallel(writers, func(i int) {
		_, err := s.Revoke(target.Serial, base, i%10)
		switch {
		case err == nil:
			won.Store(i, true)
		case !errors.Is(err, storage.ErrRevoked):
			t.Errorf("a concurrent Revoke: %v, want nil or ErrRevoked", err)
		}
	})
	wins := 0
	won.Range(func(any, any) bool { wins++; return true })
	if wins != 1 {
		t.Errorf("%d concurrent revocations of one certificate succeeded, want 1", wins)
	}
	// Others revoked at once: one generation each, the counters exact.
	parallel(writers, func(i int) {
		if _, err := s.Revoke(all[1+i].Serial, base, 1); err != nil {
			t.Errorf("Revoke: %v", err)
		}
	})
	if g, err := s.RevocationGeneration(target.Root); err != nil || g != writers+1 {
		t.Errorf("RevocationGeneration = %d, %v; want %d", g, err, writers+1)
	}
	unrevoked := len(all) - writers - 1
	counts, err := s.CountExpiry(storage.ExpiryQuery{Now: base, Bounds: []time.Time{base.Add(100 * 24 * time.Hour)}, Max: 1 << 20})
	if err != nil || counts.Revoked != writers+1 || counts.Periods[0] != unrevoked || counts.Later != 0 || counts.Expired != 0 {
		t.Errorf("CountExpiry after concurrent revocations = %+v, %v; want %d revoked, %d in the period", counts, err, writers+1, unrevoked)
	}
	if n, err := s.CountExpiring(base, base.Add(100*24*time.Hour)); err != nil || n != unrevoked {
		t.Errorf("CountExpiring after concurrent revocations = %d, %v; want %d", n, err, unrevoked)
	}
	if _, list, _ := s.Revocations(target.Root, base); len(list) != writers+1 {
		t.Errorf("Revocations lists %d, want %d", len(list), writers+1)
	}

	// CRL numbers drawn at once are all different.
	nums := make([]uint64, writers*4)
	parallel(writers, func(i int) {
		for j := range 4 {
			n, err := s.NextCRLNumber("crl-root")
			if err != nil {
				t.Errorf("NextCRLNumber: %v", err)
			}
			nums[i*4+j] = n
		}
	})
	slices.Sort(nums)
	if len(slices.Compact(slices.Clone(nums))) != len(nums) || nums[0] == 0 {
		t.Errorf("concurrent CRL numbers repeat or start at 0: %v", nums)
	}

	// Concurrent updates of one record each build on the last.
	must(t, "CreateUser", s.CreateUser(newUser("chain")))
	parallel(writers, func(int) {
		_, err := s.UpdateUser("chain", func(u *storage.User) error {
			sum := sha256.Sum256(u.TokenHash)
			u.TokenHash = sum[:]
			return nil
		})
		if err != nil {
			t.Errorf("UpdateUser: %v", err)
		}
	})
	want := newUser("chain").TokenHash
	for range writers {
		sum := sha256.Sum256(want)
		want = sum[:]
	}
	if u, err := s.UserByTokenHash(want); err != nil || u.Name != "chain" {
		t.Errorf("after %d concurrent token updates the last token finds %+v, %v: an update was lost", writers, u, err)
	}
	_, err = s.UserByTokenHash(newUser("chain").TokenHash)
	wantErr(t, "the first token after the updates", err, storage.ErrNotFound)

	must(t, "PutRoot", s.PutRoot(newRoot("aa11", ""), true))
	parallel(writers, func(i int) {
		if _, err := s.UpdateRoot("aa11", func(r *storage.Root) error { r.CRL = append(r.CRL, byte(i)); return nil }); err != nil {
			t.Errorf("UpdateRoot: %v", err)
		}
	})
	rs, _, _ := s.Roots()
	if len(rs) != 1 || len(rs[0].CRL) != writers {
		t.Errorf("after %d concurrent UpdateRoot appends the CRL holds %d bytes", writers, len(rs[0].CRL))
	}

	if _, err := s.CreateACMEAccount(newAccount("acc", "alice")); err != nil {
		t.Fatal(err)
	}
	parallel(writers, func(i int) {
		if _, err := s.UpdateACMEAccount("acc", func(a *storage.ACMEAccount) error {
			a.Contact = append(a.Contact, fmt.Sprintf("mailto:%d@example.com", i))
			return nil
		}); err != nil {
			t.Errorf("UpdateACMEAccount: %v", err)
		}
	})
	if a, _ := s.ACMEAccount("acc"); len(a.Contact) != writers {
		t.Errorf("after %d concurrent UpdateACMEAccount appends: %d contacts", writers, len(a.Contact))
	}
	o, azs := newOrder("o", "acc", 1)
	must(t, "CreateACMEOrder", s.CreateACMEOrder(o, azs))
	parallel(writers, func(i int) {
		if _, err := s.UpdateACMEOrder("o", func(o *storage.ACMEOrder) error {
			o.Identifiers = append(o.Identifiers, storage.ACMEIdentifier{Type: "dns", Value: fmt.Sprint(i)})
			return nil
		}); err != nil {
			t.Errorf("UpdateACMEOrder: %v", err)
		}
	})
	if got, _ := s.ACMEOrder("o"); len(got.Identifiers) != writers+1 {
		t.Errorf("after %d concurrent UpdateACMEOrder appends: %d identifiers", writers, len(got.Identifiers)-1)
	}

	// Creations that race: one wins, the others are told it exists.
	var created sync.Map
	parallel(writers, func(i int) {
		u := newUser("racer")
		u.TokenHash = storage.HashToken(fmt.Sprint("racer", i))
		switch err := s.CreateUser(u); {
		case err == nil:
			created.Store(i, true)
		case !errors.Is(err, storage.ErrExists):
			t.Errorf("a racing CreateUser: %v", err)
		}
	})
	n := 0
	created.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("%d racing CreateUser of one name succeeded, want 1", n)
	}

	// The first solve wins, and every solver answers with its serial.
	must(t, "PutChallenge", s.PutChallenge(newChallenge("race", "alice", base)))
	solves := make([]*storage.Certificate, writers)
	serials := make([]*big.Int, writers)
	parallel(writers, func(i int) {
		solves[i] = newCert("solver")
		ch, err := s.CompleteChallenge("race", solves[i])
		if err != nil {
			t.Errorf("CompleteChallenge: %v", err)
			return
		}
		serials[i] = ch.Serial
	})
	stored := 0
	for i, c := range solves {
		if serials[i] == nil || serials[i].Cmp(serials[0]) != 0 {
			t.Errorf("solver %d was answered %v, solver 0 %v", i, serials[i], serials[0])
		}
		if _, err := s.Certificate(c.Serial); err == nil {
			stored++
		}
	}
	if n, _ := s.CountCertificates("solver"); stored != 1 || n != 1 {
		t.Errorf("%d concurrent solves stored %d certificates (count %d), want 1", writers, stored, n)
	}
}
