package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"certmaker/storage"
)

// FollowRoots keeps the roots and the active issuer as the store has them,
// until ctx ends: a root rotated, an intermediate rotated or revoked, or a
// root key put offline through another node of the store is used here
// within a second (storage.Coordination.WatchRoots; a file's one process
// needs none of it). The CRLs kept are dropped too: a root's CRL that
// another node signed anew is read again.
//
// A reload that fails (the cluster did not answer, or the new issuer's key
// is sealed under a key file not yet copied here after a rekey) is tried
// again, backing off up to a few seconds, until one succeeds: a change
// heard is never dropped. Meanwhile the store refuses any certificate the
// retired issuer signs (storage.ErrIssuerRetired, signAndCommit).
func (s *Service) FollowRoots(ctx context.Context) {
	changed := make(chan struct{}, 1)
	go s.reloadRootsOn(ctx, changed)
	s.store.WatchRoots(ctx, func() {
		select {
		case changed <- struct{}{}:
		default: // a reload is due already, and reads everything
		}
	})
}

// Bounds of the wait between reloads of the roots that failed.
const (
	reloadFirstWait = 50 * time.Millisecond
	reloadMaxWait   = 2 * time.Second
)

// reloadRootsOn reloads the roots each time changed says they changed,
// until a reload succeeds, logging a run of failures once.
func (s *Service) reloadRootsOn(ctx context.Context, changed <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		failed := false
		for wait := reloadFirstWait; ; wait = min(2*wait, reloadMaxWait) {
			err := s.reloadRoots(ctx)
			if err == nil {
				if failed {
					s.log.InfoContext(ctx, "reloaded the roots another node changed")
				}
				break
			}
			if !failed {
				failed = true
				s.log.ErrorContext(ctx, "reloading the roots another node changed: trying again until it works; meanwhile the store refuses certificates of a retired issuer", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
}

// reloadRoots loads the roots and the active issuer from the store and
// drops the CRLs kept.
func (s *Service) reloadRoots(ctx context.Context) error {
	s.rotating.Lock()
	defer s.rotating.Unlock()
	if _, err := s.LoadRoots(); err != nil {
		return s.noteReach(ctx, err)
	}
	s.crls.Forget()
	return nil
}

// signAndCommit signs a certificate (sign) and stores it (commit). When
// the store refuses it because another node retired its issuer after this
// node loaded the roots (storage.ErrIssuerRetired: this node's reload
// failed, or has not come yet), the node loads the roots at once and signs
// once more, with the issuer the store has; a second refusal, or a reload
// that fails, is the caller's error (Unavailable: the client retries).
// c is the last certificate signed, whatever err.
func (s *Service) signAndCommit(ctx context.Context, sign func() (*storage.Certificate, error), commit func(*storage.Certificate) error) (c *storage.Certificate, err error) {
	for attempt := 0; ; attempt++ {
		if c, err = sign(); err != nil {
			return nil, err
		}
		err = commit(c)
		if !errors.Is(err, storage.ErrIssuerRetired) || attempt > 0 {
			return c, err
		}
		if rerr := s.reloadRoots(ctx); rerr != nil {
			return c, fmt.Errorf("%w; loading the new issuer: %w", err, rerr)
		}
	}
}
