package core

import (
	"context"
	"errors"

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
// when the first call fails, one at Info when a call gets an answer
// again, whatever the answer. err is a store call's outcome, returned
// unchanged.
func (s *Service) noteReach(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, storage.ErrUnavailable):
		if s.storageDown.CompareAndSwap(false, true) {
			s.log.ErrorContext(ctx, "the CA's storage cluster does not answer: requests that need it get 503 until it does; OCSP, CRLs and CA certificates are served from memory meanwhile", "err", err)
		}
	case s.storageDown.Load():
		if s.storageDown.CompareAndSwap(true, false) {
			s.log.InfoContext(ctx, "the CA's storage cluster answers again")
		}
	}
	return err
}

// Health reports whether the storage answers (an error) and whether its
// writes fail for lack of space (degraded): reads, OCSP and CRLs still
// answer then; issuing and revoking do not.
func (s *Service) Health() (degraded bool, err error) {
	if err := s.store.Ping(); err != nil {
		return false, err
	}
	return s.store.WritesFailing(), nil
}
