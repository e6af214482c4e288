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

// queueBehindLeader opens a write whose transaction stays open until the
// returned release is called, then queues the calls behind it and waits
// until all are queued. wait returns the leader's transaction id and each
// call's error.
func queueBehindLeader(t *testing.T, db *DB, calls []func(*bolt.Tx) error) (release func(), wait func() (int, []error)) {
	t.Helper()
	rel, entered := make(chan struct{}), make(chan struct{})
	leaderDone := make(chan error, 1)
	var leaderTx int
	go func() {
		leaderDone <- db.group(func(tx *bolt.Tx) error {
			close(entered)
			<-rel
			leaderTx = tx.ID()
			_, err := tx.CreateBucketIfNotExists([]byte("queued"))
			return err
		})
	}()
	<-entered
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, fn := range calls {
		wg.Go(func() { errs[i] = db.group(fn) })
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			db.commits.mu.Lock()
			q := len(db.commits.queue)
			db.commits.mu.Unlock()
			if q == i+1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d calls queued, want %d", q, i+1)
			}
		}
	}
	return func() { close(rel) }, func() (int, []error) {
		wg.Wait()
		if err := <-leaderDone; err != nil {
			t.Fatalf("leader: %v", err)
		}
		return leaderTx, errs
	}
}

// TestGroupCommit_Refusals: calls that refuse before writing get their own
// errors without rolling back the others' shared transaction, which runs
// each of them exactly once.
func TestGroupCommit_Refusals(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "refuse.db"), Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 10
	errNope := errors.New("nope")
	runs := make([]int, n)
	txOf := make([]int, n)
	calls := make([]func(*bolt.Tx) error, n)
	for i := range calls {
		calls[i] = func(tx *bolt.Tx) error {
			runs[i]++
			if i == 3 || i == 7 {
				return refuse(fmt.Errorf("call %d: %w", i, errNope))
			}
			txOf[i] = tx.ID()
			return tx.Bucket([]byte("queued")).Put(fmt.Appendf(nil, "k%d", i), nil)
		}
	}
	release, wait := queueBehindLeader(t, db, calls)
	release()
	leaderTx, errs := wait()
	for i, err := range errs {
		refused := i == 3 || i == 7
		if refused && (!errors.Is(err, errNope) || errors.As(err, new(refusal))) {
			t.Errorf("call %d: %v, want its own error, unwrapped from the refusal", i, err)
		}
		if !refused && (err != nil || txOf[i] != leaderTx+1) {
			t.Errorf("call %d: %v in transaction %d, want nil in %d", i, err, txOf[i], leaderTx+1)
		}
		if runs[i] != 1 {
			t.Errorf("call %d ran %d times, want once: a refusal must not roll the group back", i, runs[i])
		}
	}
}

// TestGroupCommit_MaxGroup: a queue longer than maxGroup is committed in
// consecutive groups of at most maxGroup, the lead passing from one to the
// next.
func TestGroupCommit_MaxGroup(t *testing.T) {
	defer func(old int) { maxGroup = old }(maxGroup)
	maxGroup = 4
	db, err := Open(filepath.Join(t.TempDir(), "max.db"), Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 10
	txOf := make([]int, n)
	calls := make([]func(*bolt.Tx) error, n)
	for i := range calls {
		calls[i] = func(tx *bolt.Tx) error {
			txOf[i] = tx.ID()
			return tx.Bucket([]byte("queued")).Put(fmt.Appendf(nil, "k%d", i), nil)
		}
	}
	release, wait := queueBehindLeader(t, db, calls)
	release()
	leaderTx, errs := wait()
	for i, err := range errs {
		if want := leaderTx + 1 + i/4; err != nil || txOf[i] != want {
			t.Errorf("call %d: %v in transaction %d, want nil in %d (groups of 4 in queue order)", i, err, txOf[i], want)
		}
	}
}
