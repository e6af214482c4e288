package store_test

import (
	"errors"
	"testing"
	"time"

	"certmaker/store"
)

func TestDB_DeleteChallengesExpiredBefore(t *testing.T) {
	db := mustOpen(t)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for id, exp := range map[string]time.Time{"old": now.Add(-time.Hour), "edge": now, "fresh": now.Add(time.Hour)} {
		if err := db.PutChallenge(store.Challenge{ID: id, Owner: "alice", Token: "t", Request: []byte("{}"), Created: exp.Add(-24 * time.Hour), Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.DeleteChallengesExpiredBefore(now)
	if err != nil || n != 1 {
		t.Fatalf("deleted %d (%v), want 1", n, err)
	}
	if _, err := db.Challenge("old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired challenge still there: %v", err)
	}
	for _, id := range []string{"edge", "fresh"} {
		if _, err := db.Challenge(id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
}
