package web

import (
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newSessions(time.Hour, func() time.Time { return now })
	a := s.create("alice", []byte("h"))
	b := s.create("alice", []byte("h"))
	if a.id == b.id || a.csrf == b.csrf || len(a.id) != 43 || a.id == a.csrf {
		t.Fatalf("ids are not fresh 256-bit values: %q %q", a.id, b.id)
	}
	if _, ok := s.get(a.id); !ok {
		t.Fatal("a new session is missing")
	}
	s.setFlash(a.id, "hello")
	if s.takeFlash(a.id) != "hello" || s.takeFlash(a.id) != "" {
		t.Error("a flash is not shown exactly once")
	}
	now = now.Add(time.Hour)
	if _, ok := s.get(a.id); ok {
		t.Error("an expired session is still there")
	}
	s.delete(b.id)
	if _, ok := s.get(b.id); ok {
		t.Error("a deleted session is still there")
	}
}

func TestSessions_Bounded(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newSessions(time.Hour, func() time.Time { return now })
	first := s.create("alice", nil)
	for range maxSessions {
		now = now.Add(time.Millisecond)
		s.create("alice", nil)
	}
	if len(s.m) > maxSessions {
		t.Fatalf("%d sessions kept, at most %d", len(s.m), maxSessions)
	}
	if _, ok := s.get(first.id); ok {
		t.Error("the oldest session survived a full table")
	}
}
