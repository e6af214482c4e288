package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"certmaker/storage"
)

// One process owns the file (bbolt locks it), so what processes of a
// shared store agree on is this process's memory here: claims are a map
// of waiters, sessions a bounded map, and nothing changes behind its back.

// claims are the names claimed in this process; each maps to a channel
// closed when its claim ends.
type claims struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

// claim is one held name; its Fenced store is the file itself, since an
// in-memory claim cannot be lost.
type claim struct {
	db   *DB
	name string
	once sync.Once
}

func (c *claim) Fenced() storage.Store { return c.db }

func (c *claim) Release() {
	c.once.Do(func() {
		cl := &c.db.claims
		cl.mu.Lock()
		close(cl.held[c.name])
		delete(cl.held, c.name)
		cl.mu.Unlock()
	})
}

// Claim takes name unless this process holds it already; with wait it
// waits for its release while ctx lets it.
func (db *DB) Claim(ctx context.Context, name string, wait bool) (storage.Claim, bool, error) {
	cl := &db.claims
	for {
		cl.mu.Lock()
		if cl.held == nil {
			cl.held = make(map[string]chan struct{})
		}
		released, taken := cl.held[name]
		if !taken {
			cl.held[name] = make(chan struct{})
			cl.mu.Unlock()
			return &claim{db: db, name: name}, true, nil
		}
		cl.mu.Unlock()
		if !wait {
			return nil, false, nil
		}
		select {
		case <-released:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// Claimed reports whether this process holds name.
func (db *DB) Claimed(name string) (bool, error) {
	cl := &db.claims
	cl.mu.Lock()
	defer cl.mu.Unlock()
	_, ok := cl.held[name]
	return ok, nil
}

// WatchRoots never calls changed: only this process writes the file, and
// it reloads after its own changes.
func (db *DB) WatchRoots(context.Context, func()) {}

// Shared is false: no other process serves the file.
func (db *DB) Shared() bool { return false }

// SpendNonce is for shared stores; the ACME door of the one process that
// owns a file keeps its used nonces in memory.
func (db *DB) SpendNonce([]byte, time.Time) error {
	return fmt.Errorf("spending a nonce in a file: %w", errors.ErrUnsupported)
}

// sessions are the dashboard's, in memory: a restart signs everyone out.
type sessions struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]storage.Session
}

// PutSession keeps a session until it expires; at MaxSessions the expired
// ones go, and then the one closest to its end.
func (db *DB) PutSession(id []byte, s storage.Session) error {
	k := sha256.Sum256(id)
	ss := &db.sessions
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = make(map[[sha256.Size]byte]storage.Session)
	}
	if _, ok := ss.m[k]; !ok && len(ss.m) >= storage.MaxSessions {
		ss.prune(time.Now())
	}
	ss.m[k] = s
	return nil
}

// prune drops expired sessions and, if still full, the one closest to its
// end; mu is held.
func (ss *sessions) prune(now time.Time) {
	var oldest *[sha256.Size]byte
	for k, s := range ss.m {
		if !now.Before(s.Expires) {
			delete(ss.m, k)
			continue
		}
		if oldest == nil || s.Expires.Before(ss.m[*oldest].Expires) {
			oldest = &k
		}
	}
	if len(ss.m) >= storage.MaxSessions && oldest != nil {
		delete(ss.m, *oldest)
	}
}

// Session reads a live session; ErrNotFound once it expired or ended.
func (db *DB) Session(id []byte) (storage.Session, error) {
	k := sha256.Sum256(id)
	ss := &db.sessions
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[k]
	if ok && !time.Now().Before(s.Expires) {
		delete(ss.m, k)
		ok = false
	}
	if !ok {
		return storage.Session{}, fmt.Errorf("session: %w", storage.ErrNotFound)
	}
	return s, nil
}

// DeleteSession ends a session.
func (db *DB) DeleteSession(id []byte) error {
	k := sha256.Sum256(id)
	ss := &db.sessions
	ss.mu.Lock()
	delete(ss.m, k)
	ss.mu.Unlock()
	return nil
}
