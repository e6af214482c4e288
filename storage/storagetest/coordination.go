package storagetest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"certmaker/storage"
)

// Claims exclude every other claim of a name until released; a waiter
// gets the claim once it is released; a write through a held claim's
// Fenced store commits. Sessions come back as stored, until they end.
// Used nonces count once, on a store that keeps them.
func testCoordination(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()

	c, ok, err := s.Claim(ctx, "challenge/a", false)
	if err != nil || !ok {
		t.Fatalf("Claim of a free name = %v, %v", ok, err)
	}
	if _, ok, err := s.Claim(ctx, "challenge/a", false); err != nil || ok {
		t.Errorf("a second Claim of a held name = %v, %v; want false", ok, err)
	}
	if held, err := s.Claimed("challenge/a"); err != nil || !held {
		t.Errorf("Claimed(held) = %v, %v", held, err)
	}
	if held, err := s.Claimed("challenge/b"); err != nil || held {
		t.Errorf("Claimed(free) = %v, %v", held, err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok, err := s.Claim(canceled, "challenge/a", true); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("waiting for a held name with a canceled context = %v, %v", ok, err)
	}
	u := newUser("alice")
	must(t, "CreateUser through the claim's Fenced store", c.Fenced().CreateUser(u))
	if _, err := s.User("alice"); err != nil {
		t.Errorf("the Fenced store's write is not in the store: %v", err)
	}
	waited := make(chan error, 1)
	go func() {
		w, ok, err := s.Claim(ctx, "challenge/a", true)
		if err == nil && !ok {
			err = errors.New("Claim with wait returned without the claim")
		}
		if w != nil {
			w.Release()
		}
		waited <- err
	}()
	c.Release()
	c.Release() // a second release does nothing
	if err := <-waited; err != nil {
		t.Errorf("waiting for a released claim: %v", err)
	}

	// However many want it at once, one holds it at a time.
	var in, most atomic.Int64
	parallel(writers, func(int) {
		c, ok, err := s.Claim(ctx, "order/x", true)
		if err != nil || !ok {
			t.Errorf("Claim with wait = %v, %v", ok, err)
			return
		}
		n := in.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if _, err := c.Fenced().UpdateUser("alice", func(*storage.User) error { return nil }); err != nil {
			t.Errorf("a write under the claim: %v", err)
		}
		in.Add(-1)
		c.Release()
	})
	if most.Load() != 1 {
		t.Errorf("%d held one claim at once", most.Load())
	}

	id := randomBytes(32)
	sess := storage.Session{User: "alice", TokenHash: u.TokenHash, CSRF: "csrf", Expires: time.Now().Add(time.Hour).UTC()}
	must(t, "PutSession", s.PutSession(id, sess))
	got, err := s.Session(id)
	if err != nil || got.User != "alice" || got.CSRF != "csrf" || string(got.TokenHash) != string(u.TokenHash) || !got.Expires.Equal(sess.Expires) {
		t.Errorf("Session = %+v, %v", got, err)
	}
	sess.Flash = "done"
	must(t, "PutSession again", s.PutSession(id, sess))
	if got, _ := s.Session(id); got.Flash != "done" {
		t.Errorf("the session stored again has flash %q", got.Flash)
	}
	_, err = s.Session(randomBytes(32))
	wantErr(t, "Session(unknown)", err, storage.ErrNotFound)
	must(t, "DeleteSession", s.DeleteSession(id))
	_, err = s.Session(id)
	wantErr(t, "Session after DeleteSession", err, storage.ErrNotFound)
	ended := randomBytes(32)
	must(t, "PutSession of an ended one", s.PutSession(ended, storage.Session{User: "alice", Expires: time.Now().Add(-time.Second)}))
	_, err = s.Session(ended)
	wantErr(t, "Session after its end", err, storage.ErrNotFound)

	nonce := randomBytes(16)
	err = s.SpendNonce(nonce, time.Now().Add(time.Hour))
	if !s.Shared() {
		wantErr(t, "SpendNonce in a store of one process", err, errors.ErrUnsupported)
		return
	}
	must(t, "SpendNonce", err)
	wantErr(t, "SpendNonce again", s.SpendNonce(nonce, time.Now().Add(time.Hour)), storage.ErrExists)
	wantErr(t, "SpendNonce again, with another until", s.SpendNonce(nonce, time.Now().Add(time.Minute)), storage.ErrExists)
	// Nonces of several minutes' untils, each spent once by one of several
	// callers at once.
	for _, in := range []time.Duration{time.Minute, 5 * time.Minute, 11 * time.Minute} {
		nonce := randomBytes(16)
		until := time.Now().Add(in)
		errs := make(chan error, 8)
		for range cap(errs) {
			go func() { errs <- s.SpendNonce(nonce, until) }()
		}
		spent := 0
		for range cap(errs) {
			switch err := <-errs; {
			case err == nil:
				spent++
			case !errors.Is(err, storage.ErrExists):
				t.Errorf("SpendNonce at once, until in %v: %v", in, err)
			}
		}
		if spent != 1 {
			t.Errorf("a nonce spent by %d callers at once, until in %v: %d succeeded, want 1", cap(errs), in, spent)
		}
		wantErr(t, "SpendNonce after", s.SpendNonce(nonce, until), storage.ErrExists)
	}

	// A shared store tells of changes to the roots.
	changed := make(chan struct{}, 1)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	s.WatchRoots(wctx, func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	deadline := time.After(30 * time.Second)
	for i := 0; ; i++ {
		// Until the watch, started in the background, sees one.
		must(t, "PutRoot", s.PutRoot(newRoot(string(rune('a'+i%26))+"1", ""), i%2 == 0))
		select {
		case <-changed:
			return
		case <-deadline:
			t.Fatal("WatchRoots never called changed")
		case <-time.After(100 * time.Millisecond):
		}
	}
}
