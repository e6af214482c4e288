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

// Health reports whether the storage answers (an error) and whether its
// writes fail for lack of space (degraded): reads, OCSP and CRLs still
// answer then; issuing and revoking do not.
func (s *Service) Health() (degraded bool, err error) {
	if err := s.store.Ping(); err != nil {
		return false, err
	}
	return s.store.WritesFailing(), nil
}
