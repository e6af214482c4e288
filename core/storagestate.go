package core

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"certmaker/ocsp"
	"certmaker/storage"
)

// noteWrite logs once at Error when writes start failing for lack of
// space, and once at Info when they succeed again: a full disk fails every
// write, and a line per request would bury the one that matters (and
// could not be written anyway). err is the write's own outcome; it is
// returned unchanged.
func (s *Service) noteWrite(ctx context.Context, err error) error {
	s.noteReach(ctx, err)
	switch {
	case errors.Is(err, storage.ErrFull):
		if s.storageFull.CompareAndSwap(false, true) {
			s.log.ErrorContext(ctx, "the CA's storage is full: writes fail (503) until space is freed", "err", err)
		}
	case s.storageFull.Load() && !s.store.WritesFailing():
		if s.storageFull.CompareAndSwap(true, false) {
			s.log.InfoContext(ctx, "the CA's storage accepts writes again")
		}
	}
	return err
}

// noteReach is noteWrite's sibling for a storage cluster that stops
// answering (etcd without quorum, or out of reach): one line at Error
// when an episode begins, one at Info when a call gets an answer again,
// whatever the answer. err is a store call's outcome, returned unchanged.
// A call that fails this way starts the probe, whose own ping decides
// whether an episode begins: a call may fail after the cluster came back
// (it was sent before, and waited out its timeout), and that must not
// begin another episode.
func (s *Service) noteReach(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, storage.ErrUnavailable):
		s.probe()
	case s.storageDown.Load():
		if s.storageDown.CompareAndSwap(true, false) {
			s.log.InfoContext(ctx, "the CA's storage cluster answers again")
		}
	}
	return err
}

// What may be answered from memory (OCSP, the health check) must not wait
// out a storage cluster's request timeout (5 s by default; an OCSP
// client's patience is about 2) once per request. So, on a shared store:
//   - such a read waits at most quickWait for its answer; past that it
//     is answered from memory (ErrUnavailable to the caller), while the
//     read goes on in its goroutine and reports its outcome (noteReach);
//   - then, or when anything meets ErrUnavailable, one probe pings the
//     store, again every probeEvery, until it answers (a ping that fails
//     begins the episode, logged once);
//     while it runs, such reads do not ask the store at all, so a flood
//     of them during an episode waits for nothing and piles up nothing
//     (the goroutines left waiting are those begun in the quickWait
//     before the probe started). The probe's answer ends the episode,
//     and logs so, within probeEvery of the cluster's return.
//
// This rather than a short timeout per read: the Store's reads take no
// context, and the probe also ends an episode when no request comes.
const (
	quickWait  = 500 * time.Millisecond
	probeEvery = 250 * time.Millisecond
)

// errProbing answers a quick read while the probe waits for the store.
var errProbing = fmt.Errorf("%w: a check in the background waits for it to answer again", storage.ErrUnavailable)

// quickRead is read, for what may be answered from memory if the storage
// cluster does not answer at once; see above.
func quickRead[T any](s *Service, read func() (T, error)) (T, error) {
	if !s.store.Shared() {
		return read() // one process's file: it answers, or fails, at once
	}
	var zero T
	if s.probing.Load() {
		return zero, errProbing
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := read()
		s.noteReach(context.Background(), err)
		done <- result{v, err}
	}()
	wait := time.NewTimer(quickWait)
	defer wait.Stop()
	select {
	case r := <-done:
		return r.v, r.err
	case <-wait.C:
		s.probe()
		return zero, fmt.Errorf("%w: no answer within %v", storage.ErrUnavailable, quickWait)
	}
}

// probe starts the probe unless it runs: it pings the store until an
// answer other than ErrUnavailable, which ends the episode (noteReach); a
// ping that fails begins one.
func (s *Service) probe() {
	if !s.probing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.probing.Store(false)
		ctx := context.Background()
		for {
			err := s.store.Ping()
			if !errors.Is(err, storage.ErrUnavailable) {
				s.noteReach(ctx, err)
				return
			}
			if s.storageDown.CompareAndSwap(false, true) {
				s.log.ErrorContext(ctx, "the CA's storage cluster does not answer: requests that need it get 503 until it does; OCSP, CRLs and CA certificates are served from memory meanwhile", "err", err)
			}
			time.Sleep(probeEvery) // the cluster does not answer: ask again soon
		}
	}()
}

// ocspSource reads statuses for the OCSP responder as quick reads: when
// the storage cluster does not answer, the responder is told so at once
// (ocsp.ErrTryLater) and serves what it signed before, or tryLater; the
// episode is logged once, here, not per request.
type ocspSource struct {
	revocationSource
	s *Service
}

func (o ocspSource) Status(serial *big.Int) (ocsp.Status, error) {
	st, err := quickRead(o.s, func() (ocsp.Status, error) { return o.revocationSource.Status(serial) })
	if errors.Is(err, storage.ErrUnavailable) {
		return st, fmt.Errorf("%w: %w", ocsp.ErrTryLater, err)
	}
	return st, err
}

// Health reports whether the storage answers (an error) and whether its
// writes fail for lack of space (degraded): reads, OCSP and CRLs still
// answer then; issuing and revoking do not. A storage cluster that does
// not answer is ErrUnavailable at once (a quick read), logged once per
// episode; a check that succeeds ends the episode.
func (s *Service) Health() (degraded bool, err error) {
	if _, err := quickRead(s, func() (struct{}, error) { return struct{}{}, s.store.Ping() }); err != nil {
		return false, err
	}
	return s.store.WritesFailing(), nil
}
