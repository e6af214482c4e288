package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestGroupCommit holds one write's transaction open while others queue,
// then checks that the queued ones shared a single transaction, that a call
// which fails or panics gets its own error without undoing the others, and
// that everything answered nil is in the file after a reopen.
func TestGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "group.db")
	db, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	bucket := []byte("grouptest")
	if err := db.bolt.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(bucket)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	release := make(chan struct{})
	leaderDone := make(chan error, 1)
	var leaderTx int
	go func() {
		leaderDone <- db.group(func(tx *bolt.Tx) error {
			<-release
			leaderTx = tx.ID()
			return tx.Bucket(bucket).Put([]byte("leader"), []byte("1"))
		})
	}()
	waitQueue := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			db.commits.mu.Lock()
			q, busy := len(db.commits.queue), db.commits.busy
			db.commits.mu.Unlock()
			if busy && q == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("queue holds %d calls (busy %v), want %d", q, busy, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitQueue(0) // the leader is inside its transaction

	const n = 50
	const failing, panicking = 17, 33
	errFail := errors.New("refused")
	lastTx := make([]int, n) // the transaction of each call's last run
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.group(func(tx *bolt.Tx) error {
				if err := tx.Bucket(bucket).Put(fmt.Appendf(nil, "k%02d", i), []byte("v")); err != nil {
					return err
				}
				switch i {
				case failing:
					return errFail
				case panicking:
					panic("boom")
				}
				lastTx[i] = tx.ID()
				return nil
			})
		})
		waitQueue(i + 1)
	}
	close(release)
	wg.Wait()
	if err := <-leaderDone; err != nil {
		t.Fatalf("leader: %v", err)
	}

	for i, err := range errs {
		switch i {
		case failing:
			if !errors.Is(err, errFail) {
				t.Errorf("call %d: %v, want its own error", i, err)
			}
		case panicking:
			if err == nil || !strings.Contains(err.Error(), "boom") {
				t.Errorf("call %d: %v, want the panic as an error", i, err)
			}
		default:
			if err != nil {
				t.Errorf("call %d: %v", i, err)
			}
		}
	}
	// The queued calls shared the one commit after the leader's (a rolled
	// back attempt does not use up a transaction id).
	for i, id := range lastTx {
		if i != failing && i != panicking && id != leaderTx+1 {
			t.Errorf("call %d committed in transaction %d, want %d, the one after the leader's", i, id, leaderTx+1)
		}
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b.Get([]byte("leader")) == nil {
			t.Error("leader's write is lost")
		}
		for i := range n {
			got := b.Get(fmt.Appendf(nil, "k%02d", i)) != nil
			if want := i != failing && i != panicking; got != want {
				t.Errorf("k%02d stored = %v, want %v", i, got, want)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if db.commits.busy || len(db.commits.queue) != 0 {
		t.Errorf("committer left busy=%v with %d queued", db.commits.busy, len(db.commits.queue))
	}
}
