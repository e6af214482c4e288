package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"certmaker/storage"
)

// The file's process keeps dashboard sessions in memory, at most
// storage.MaxSessions: a full table drops the session closest to its end.
func TestSessions_Bounded(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "ca.db"), Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	end := time.Now().Add(time.Hour)
	if err := db.PutSession([]byte("first"), storage.Session{User: "alice", Expires: end}); err != nil {
		t.Fatal(err)
	}
	for i := range storage.MaxSessions {
		if err := db.PutSession(fmt.Appendf(nil, "s%d", i), storage.Session{User: "alice", Expires: end.Add(time.Duration(i+1) * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(db.sessions.m); n > storage.MaxSessions {
		t.Fatalf("%d sessions kept, at most %d", n, storage.MaxSessions)
	}
	if _, err := db.Session([]byte("first")); err == nil {
		t.Error("the session closest to its end survived a full table")
	}
	if s, err := db.Session(fmt.Appendf(nil, "s%d", storage.MaxSessions-1)); err != nil || s.User != "alice" {
		t.Errorf("the newest session: %+v, %v", s, err)
	}
}
