package store

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// maxGroup bounds how many writes share one transaction, so that one
// commit's dirty pages and its callers' wait stay bounded.
var maxGroup = 1000 // a variable so that a test can lower it

// committer groups concurrent writes into shared transactions, without
// bbolt Batch's timer (10 ms by default, which capped durable issuance near
// 2,000/s with the CPU idle). Whoever finds no commit under way leads one at
// once with everything queued; writes that arrive meanwhile queue, and the
// first of them leads their shared commit as soon as the current one is on
// disk. One writer alone pays one commit and no wait; many writers pay one
// fsync per group.
//
// Measured and rejected: a dedicated commit goroutine (no wake-up per
// hand-over) and yielding the processor at each hand-over were 10-15%
// slower under make load. Both start the next commit sooner, with fewer
// writes in it, and with two fsyncs per commit the disk sets the pace; the
// hand-over's wake-up, for all its cost in latency, lets a group grow.
type committer struct {
	mu    sync.Mutex
	queue []*groupCall
	busy  bool // a leader is committing
}

type groupCall struct {
	fn   func(*bolt.Tx) error
	done chan error // the call's result, or errLead to hand it the lead
}

// errLead is sent to a queued call to make it the next leader; it never
// leaves this file.
var errLead = fmt.Errorf("store: lead the next group commit")

// group runs fn in a read-write transaction, possibly shared with other
// callers', and returns once that transaction is committed and synced, or
// fn's own error. As with bbolt Batch, fn may run more than once (a shared
// transaction is retried without a call that failed), so it must reset any
// state it sets outside the transaction each time it runs.
func (db *DB) group(fn func(*bolt.Tx) error) error {
	c := &db.commits
	p := &groupCall{fn: fn, done: make(chan error, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, p)
	lead := !c.busy
	c.busy = true
	c.mu.Unlock()
	if !lead {
		if err := <-p.done; err != errLead {
			return err
		}
	}

	c.mu.Lock()
	calls := c.queue
	if len(calls) > maxGroup {
		calls, c.queue = calls[:maxGroup:maxGroup], calls[maxGroup:]
	} else {
		c.queue = nil
	}
	c.mu.Unlock()

	db.commitGroup(calls)

	c.mu.Lock()
	if len(c.queue) > 0 {
		next := c.queue[0]
		c.mu.Unlock()
		next.done <- errLead
	} else {
		c.busy = false
		c.mu.Unlock()
	}
	return <-p.done // commitGroup answered every call, this one included
}

// commitGroup commits calls in one transaction and answers each. A call
// that refuses (refuse) wrote nothing and simply gets its error; a call
// that fails otherwise may have written part of its work, so the attempt is
// rolled back, that call runs alone in a transaction of its own, and the
// others are committed together without it.
func (db *DB) commitGroup(calls []*groupCall) {
	refused := make([]error, len(calls))
	for len(calls) > 0 {
		failed := -1
		err := db.update(func(tx *bolt.Tx) error {
			for i, p := range calls {
				refused[i] = nil
				err := safely(p.fn, tx)
				var r refusal
				switch {
				case err == nil:
				case errors.As(err, &r):
					refused[i] = r.error
				default:
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			// Committed, or the commit itself failed: the same answer for
			// all but those that refused.
			for i, p := range calls {
				if refused[i] != nil {
					p.done <- refused[i]
				} else {
					p.done <- err
				}
			}
			return
		}
		p := calls[failed]
		calls = append(calls[:failed:failed], calls[failed+1:]...)
		refused = refused[:len(calls)]
		p.done <- unrefused(db.update(func(tx *bolt.Tx) error { return safely(p.fn, tx) }))
	}
}

// refusal is an error from a transaction function that returned before
// writing anything (a used nonce, a certificate already revoked). It costs
// the calls sharing its transaction nothing, where another error would
// roll them all back and run them again; so a client that sends nothing but
// refused requests cannot multiply the work of everyone else's commits.
type refusal struct{ error }

func (r refusal) Unwrap() error { return r.error }

// refuse marks err as a refusal; call it only before the function writes.
func refuse(err error) error { return refusal{err} }

func unrefused(err error) error {
	if r, ok := err.(refusal); ok {
		return r.error
	}
	return err
}

// safely turns a panic in fn into an error, so that one bad call cannot
// take the other callers' commit (or the leader) down with it.
func safely(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: panic in transaction: %v", r)
		}
	}()
	return fn(tx)
}
