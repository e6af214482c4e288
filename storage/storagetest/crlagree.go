package storagetest

import (
	"sync"
	"testing"
	"time"

	"certmaker/storage"
)

// testAgreeCRL: the processes of a store agree on one CRL per root and
// generation (CRLState, AgreeCRL): the first of concurrent agreements
// from the same state wins and the others get it, a stale one gets the
// one agreed since, and numbers grow strictly, above NextCRLNumber's and
// across a reopen.
func testAgreeCRL(t *testing.T, h *harness) {
	f := h.open(t)
	s := f.s
	const root = "5e7d"
	gen, a, err := s.CRLState(root)
	if err != nil || gen != 0 || a.Number != 0 {
		t.Fatalf("CRLState of a new root = %d, %+v, %v; want none", gen, a, err)
	}
	at := base.Add(time.Hour)
	var wg sync.WaitGroup
	got := make([]storage.AgreedCRL, 8)
	for i := range got {
		wg.Go(func() {
			var err error
			if got[i], err = s.AgreeCRL(root, 0, 0, at.Add(time.Duration(i)*time.Second)); err != nil {
				t.Errorf("AgreeCRL: %v", err)
			}
		})
	}
	wg.Wait()
	first := got[0]
	for _, g := range got {
		if g.Number == 0 || g.Number != first.Number || !g.ThisUpdate.Equal(first.ThisUpdate) || g.Gen != 0 {
			t.Fatalf("concurrent agreements from one state = %+v; want one and the same", got)
		}
	}
	if _, a, err := s.CRLState(root); err != nil || a.Number != first.Number || !a.ThisUpdate.Equal(first.ThisUpdate) {
		t.Fatalf("CRLState after agreeing = %+v, %v; want %+v", a, err, first)
	}
	// From a stale state: the one agreed since, unchanged.
	if a, err := s.AgreeCRL(root, 0, 5, at); err != nil || a.Number != first.Number || a.Gen != 0 {
		t.Fatalf("AgreeCRL from a stale state = %+v, %v; want %+v", a, err, first)
	}
	second, err := s.AgreeCRL(root, first.Number, 1, at.Add(time.Minute))
	if err != nil || second.Number <= first.Number || second.Gen != 1 || !second.ThisUpdate.Equal(at.Add(time.Minute)) {
		t.Fatalf("AgreeCRL of the next generation = %+v, %v; want a number above %d", second, err, first.Number)
	}
	n, err := s.NextCRLNumber(root)
	if err != nil || n <= second.Number {
		t.Fatalf("NextCRLNumber after agreeing %d = %d, %v", second.Number, n, err)
	}
	_, cur, err := s.CRLState(root)
	must(t, "CRLState", err)
	third, err := s.AgreeCRL(root, cur.Number, 1, at.Add(2*time.Minute))
	if err != nil || third.Number <= n {
		t.Fatalf("AgreeCRL after NextCRLNumber gave %d = %+v, %v", n, third, err)
	}
	s = f.reopen()
	_, cur, err = s.CRLState(root)
	must(t, "CRLState after reopening", err)
	fourth, err := s.AgreeCRL(root, cur.Number, 1, at.Add(3*time.Minute))
	if err != nil || fourth.Number <= third.Number {
		t.Fatalf("AgreeCRL after reopening = %+v, %v; want a number above %d", fourth, err, third.Number)
	}
}
