package storagetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"certmaker/storage"
)

// Update functions may run more than once (storage's Caveats): each run
// must get the record as stored, never what an earlier run left, and what
// is stored must be what one run per call makes. The suite provokes reruns
// with writes that race for one record, and writes that fail beside them
// (a used serial), which make a batching backend retry the others.
func testReruns(t *testing.T, h *harness) {
	s := h.store(t)
	used := newCert("alice")
	mustPut(t, s, used)
	o, azs := newOrder("o", "acc", 1)
	must(t, "CreateACMEOrder", s.CreateACMEOrder(o, azs))
	var calls, updates atomic.Int64
	for round := range 20 {
		parallel(writers, func(i int) {
			if i%2 == 1 {
				dup := newCert("alice")
				dup.Serial = used.Serial
				if err := s.PutCertificate(dup); !errors.Is(err, storage.ErrExists) {
					t.Errorf("PutCertificate of a used serial: %v", err)
				}
				return
			}
			mine := fmt.Sprintf("r%d-w%d", round, i)
			_, _, err := s.UpdateACMEAuthz(azs[0].ID, func(az *storage.ACMEAuthz) error {
				calls.Add(1)
				az.Challenges = append(az.Challenges, storage.ACMEChallenge{ID: mine, Type: "http-01", Status: "pending"})
				return nil
			}, func(o *storage.ACMEOrder, all []storage.ACMEAuthz) error {
				// What the order is told must be the authorization after fn.
				o.Error = &storage.ACMEProblem{Detail: fmt.Sprint(len(all[0].Challenges))}
				return nil
			})
			if err != nil {
				t.Errorf("UpdateACMEAuthz: %v", err)
				return
			}
			updates.Add(1)
		})
		if calls.Load() > updates.Load() {
			break
		}
	}
	az, err := s.ACMEAuthz(azs[0].ID)
	must(t, "ACMEAuthz", err)
	seen := map[string]int{}
	for _, ch := range az.Challenges[1:] {
		seen[ch.ID]++
	}
	if len(az.Challenges)-1 != int(updates.Load()) || len(seen) != int(updates.Load()) {
		t.Errorf("%d updates appended %d challenges (%d distinct): a rerun saw an earlier run's record, or an update was lost",
			updates.Load(), len(az.Challenges)-1, len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("challenge %s appended %d times", id, n)
		}
	}
	if got, _ := s.ACMEOrder("o"); got.Error == nil || got.Error.Detail != fmt.Sprint(len(az.Challenges)) {
		t.Errorf("the order was told %v, the authorization has %d challenges", got.Error, len(az.Challenges))
	}
	if h.b.Reruns && calls.Load() == updates.Load() {
		t.Errorf("the backend says it reruns update functions, but none of %d calls ran twice: the check above proved nothing", calls.Load())
	}
	t.Logf("%d update calls, %d runs of their functions", updates.Load(), calls.Load())
}
