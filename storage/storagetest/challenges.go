package storagetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"certmaker/storage"
)

func newChallenge(id, owner string, created time.Time) storage.Challenge {
	return storage.Challenge{
		ID: id, Owner: owner, Token: "tok-" + id, Request: []byte(`{"domains":["` + owner + `.example.com"]}`),
		Days: 30, Created: created, Expires: created.Add(time.Hour),
	}
}

func testChallenges(t *testing.T, h *harness) {
	s := h.store(t)
	ch := newChallenge("c1", "alice", base)
	ch.CSR = true
	must(t, "PutChallenge", s.PutChallenge(ch))
	got, err := s.Challenge("c1")
	if err != nil || got.Owner != "alice" || got.Token != ch.Token || !got.CSR || !bytes.Equal(got.Request, ch.Request) ||
		got.Days != 30 || !got.Expires.Equal(ch.Expires) || got.Serial != nil {
		t.Errorf("Challenge(c1) = %+v, %v", got, err)
	}
	wantErr(t, "PutChallenge of a used id", s.PutChallenge(newChallenge("c1", "mallory", base)), storage.ErrExists)
	if got, _ := s.Challenge("c1"); got.Owner != "alice" {
		t.Errorf("a refused PutChallenge replaced the challenge: owner %q", got.Owner)
	}
	_, err = s.Challenge("c9")
	wantErr(t, "Challenge(unknown)", err, storage.ErrNotFound)

	// The first solve stores its certificate; a later one stores nothing
	// and answers with the first one's serial.
	first, second := newCert("alice"), newCert("alice")
	solved, err := s.CompleteChallenge("c1", first)
	if err != nil || solved.Serial == nil || solved.Serial.Cmp(first.Serial) != 0 {
		t.Fatalf("CompleteChallenge = %+v, %v", solved, err)
	}
	again, err := s.CompleteChallenge("c1", second)
	if err != nil || again.Serial == nil || again.Serial.Cmp(first.Serial) != 0 {
		t.Errorf("second CompleteChallenge = %+v, %v; want the first serial", again, err)
	}
	if c, err := s.Certificate(first.Serial); err != nil {
		t.Errorf("the solve's certificate: %v", err)
	} else {
		sameCert(t, &c, first)
	}
	_, err = s.Certificate(second.Serial)
	wantErr(t, "the second solve's certificate", err, storage.ErrNotFound)
	if n, _ := s.CountCertificates("alice"); n != 1 {
		t.Errorf("CountCertificates(alice) = %d after two solves, want 1", n)
	}
	_, err = s.CompleteChallenge("c9", newCert("alice"))
	wantErr(t, "CompleteChallenge(unknown)", err, storage.ErrNotFound)

	// Pending: one owner's unsolved, unexpired ones, newest first.
	for i := range 5 {
		must(t, "PutChallenge", s.PutChallenge(newChallenge(fmt.Sprintf("a%d", i), "alice", base.Add(time.Duration(i)*time.Minute))))
	}
	must(t, "PutChallenge", s.PutChallenge(newChallenge("b0", "bob", base)))
	old := newChallenge("a-old", "alice", base.Add(-2*time.Hour))
	must(t, "PutChallenge", s.PutChallenge(old))
	list, more, err := s.PendingChallenges(storage.PendingQuery{Owner: "alice", Now: base.Add(30 * time.Second)})
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	if err != nil || more || fmt.Sprint(ids) != "[a4 a3 a2 a1 a0]" {
		t.Errorf("PendingChallenges(alice) = %v, more=%v, %v; want [a4 a3 a2 a1 a0]", ids, more, err)
	}
	list, more, err = s.PendingChallenges(storage.PendingQuery{Owner: "alice", Now: base, Limit: 2})
	if err != nil || !more || len(list) != 2 || list[0].ID != "a4" {
		t.Errorf("PendingChallenges(Limit 2) = %d, more=%v, %v", len(list), more, err)
	}
	// Expired ones go, solved or not; the others stay.
	n, err := s.DeleteChallengesExpiredBefore(base.Add(30 * time.Minute))
	if err != nil || n != 1 {
		t.Errorf("DeleteChallengesExpiredBefore = %d, %v; want 1 (a-old)", n, err)
	}
	_, err = s.Challenge("a-old")
	wantErr(t, "an expired challenge after the sweep", err, storage.ErrNotFound)
	n, err = s.DeleteChallengesExpiredBefore(base.Add(2 * time.Hour))
	if err != nil || n != 7 {
		t.Errorf("DeleteChallengesExpiredBefore(later) = %d, %v; want 7", n, err)
	}
}
