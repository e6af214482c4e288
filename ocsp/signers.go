package ocsp

import (
	"errors"
	"runtime"
	"time"
)

// signers bounds the signatures made at once, so that no flood of requests
// keeps more CPUs signing than it holds slots. Waiters queue on the channel
// in arrival order.
type signers chan struct{}

// How long a request waits for a slot. Answers that a client can make up
// (an unknown serial, a nonce) wait briefly and then get tryLater. Answers
// about certificates the CA issued are bounded by their number and signed
// once per half validity, so they wait longer: since the queue is in
// arrival order, the made-up requests ahead of them are gone, one way or
// the other, within madeUpWait.
const (
	madeUpWait = 100 * time.Millisecond
	knownWait  = 2 * time.Second
)

// errBusy says no slot came free in time; the answer is tryLater.
var errBusy = errors.New("ocsp: every signer busy")

// defaultSigners leaves half the CPUs to everything but signing.
func defaultSigners() int {
	return max(1, runtime.GOMAXPROCS(0)/2)
}

// acquire takes a slot, waiting at most wait; it reports whether it got one.
func (s signers) acquire(wait time.Duration) bool {
	select {
	case s <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

func (s signers) release() { <-s }
