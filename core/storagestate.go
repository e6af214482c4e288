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
// answering (etcd without quorum, or out of reach): err is a store call's
// outcome, returned unchanged. A call that fails this way starts the
// probe (below), and only the probe's own pings begin an episode (one
// line at Error) and end it (one at Info): a call's outcome may belong
// to before (a request sent before the cluster went away, answered or
// timed out after), and must neither begin another episode nor end one.
func (s *Service) noteReach(_ context.Context, err error) error {
	if errors.Is(err, storage.ErrUnavailable) {
		s.probe()
	}
	return err
}

// What may be answered from memory (OCSP, the health check, the roots,
// CRLs) must not wait out a storage cluster's request timeout (5 s by
// default; an OCSP client's patience is about 2) once per request; but a
// cluster that is only slow still answers, and its answer (a revocation
// since, the CRL agreed since) must not be traded for memory's. So, on a
// shared store:
//   - such a read that has no answer within quickWait starts the probe,
//     and goes on waiting for its answer until the probe decides the
//     cluster does not answer (its ping, bounded at about a second,
//     fails: the episode begins, logged once); then memory answers;
//   - during an episode such reads do not ask the store at all, so a
//     flood of them waits for nothing and piles up nothing; the probe
//     pings again every probeEvery, and its first answer ends the
//     episode (logged once), whether or not requests come.
//
// This rather than a short timeout per read: the Store's reads take no
// context, and a short timeout would serve memory's answers whenever the
// cluster is slow.
const (
	quickWait  = 500 * time.Millisecond
	probeEvery = 250 * time.Millisecond
	// downPoll is how often a waiting read looks for the probe's verdict.
	downPoll = 50 * time.Millisecond
)

// errDown answers a quick read during an episode.
var errDown = fmt.Errorf("%w: a check in the background waits for it to answer again", storage.ErrUnavailable)

// quickRead is read, for what may be answered from memory if the storage
// cluster does not answer; see above.
func quickRead[T any](s *Service, read func() (T, error)) (T, error) {
	if !s.store.Shared() {
		return read() // one process's file: it answers, or fails, at once
	}
	var zero T
	if s.storageDown.Load() {
		s.probe()
		return zero, errDown
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
	}
	s.probe()
	poll := time.NewTicker(downPoll)
	defer poll.Stop()
	for {
		select {
		case r := <-done:
			return r.v, r.err
		case <-poll.C:
			if s.storageDown.Load() {
				return zero, fmt.Errorf("%w: no answer within %v, and its ping failed", storage.ErrUnavailable, quickWait)
			}
		}
	}
}

// probe starts the probe unless it runs: it pings the store until the
// ping is answered, which ends the episode; a ping that fails begins one.
func (s *Service) probe() {
	if !s.probing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.probing.Store(false)
		ctx := context.Background()
		for {
			// Only a ping answered ends it: an error a member gives for
			// an expired deadline may not read as ErrUnavailable.
			err := s.store.Ping()
			if err == nil {
				if s.storageDown.CompareAndSwap(true, false) {
					s.log.InfoContext(ctx, "the CA's storage cluster answers again")
				}
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
