package core

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"certmaker/inventory"
	"certmaker/storage"
)

// Status summarizes roots, users, certificates and the storage, with what
// ends soon (Warnings).
func (s *Service) Status(_ context.Context, a Actor) (inventory.Summary, error) {
	if err := mayAdminister(a); err != nil {
		return inventory.Summary{}, err
	}
	now := s.ca.Now()
	sum, err := inventory.Summarize(s.store, now)
	if err != nil {
		return sum, err
	}
	sum.Warnings = inventory.Warnings(sum, now, s.warnDays)
	return sum, nil
}

// Warnings is what about the CA ends soon (inventory.Warnings), for the
// server's own log.
func (s *Service) Warnings() ([]inventory.Warning, error) {
	now := s.ca.Now()
	sum, err := inventory.Summarize(s.store, now)
	if err != nil {
		return nil, err
	}
	return inventory.Warnings(sum, now, s.warnDays), nil
}

// Backup writes a consistent copy of the whole store to w (one read
// transaction: writers go on, and the copy is the state at its start).
func (s *Service) Backup(ctx context.Context, a Actor, w io.Writer) (int64, error) {
	n, err := s.backup(a, w)
	s.audit(ctx, a, "store.backup", "", err, slog.Int64("bytes", n))
	return n, err
}

func (s *Service) backup(a Actor, w io.Writer) (int64, error) {
	if !a.operator() {
		return 0, Errorf(Forbidden, "only the operator may back up the store")
	}
	b, ok := s.store.(storage.Backuper)
	if !ok {
		return 0, fmt.Errorf("this storage backend has no backup: use its own tools")
	}
	return b.Backup(w)
}

// Rekey seals every private key and secret in the store under a new key
// and replaces the key file with it; it returns the key file's path.
func (s *Service) Rekey(ctx context.Context, a Actor) (string, error) {
	path, err := s.rekey(a)
	s.audit(ctx, a, "store.rekey", path, err)
	return path, err
}

func (s *Service) rekey(a Actor) (string, error) {
	if !a.operator() {
		return "", Errorf(Forbidden, "only the operator may rekey the store")
	}
	r, ok := s.store.(storage.Rekeyer)
	if !ok {
		return "", fmt.Errorf("this storage backend seals nothing with a key file")
	}
	return r.KeyFile(), s.noteWrite(context.Background(), r.Rekey())
}

// KeyFile is the key file the store's secrets are sealed with, "" for a
// backend without one: what a backup must never be written over.
func (s *Service) KeyFile() string {
	if r, ok := s.store.(storage.Rekeyer); ok {
		return r.KeyFile()
	}
	return ""
}

// SweepChallenges deletes challenges that expired before the retention,
// so requests that were never solved do not pile up.
func (s *Service) SweepChallenges(ctx context.Context) (int, error) {
	n, err := s.store.DeleteChallengesExpiredBefore(s.ca.Now().Add(-ChallengeRetention))
	return n, s.noteWrite(ctx, err)
}

// acmeSweepBatch bounds the records one transaction of the ACME sweep
// reads, so that other writers wait for none long.
const acmeSweepBatch = 500

// SweepACME deletes the ACME orders (but valid ones) and authorizations
// that expired before the retention, in batches: what clients began and
// never finished does not pile up. A valid order stays with its
// certificate, for good if its account has a binding; an account without
// one leaves only its certificates behind: its valid orders go once their
// certificates have expired, and the account once nothing of it has
// lasted for unboundIdle (acmelimit.go).
func (s *Service) SweepACME(ctx context.Context) (int, error) {
	now := s.ca.Now()
	q := storage.ACMESweep{Before: now.Add(-ChallengeRetention), Idle: now.Add(-unboundIdle), Max: acmeSweepBatch}
	total := 0
	for {
		n, next, err := s.store.DeleteExpiredACME(q)
		if err := s.noteWrite(ctx, err); err != nil {
			return total, err
		}
		total += n
		if next == "" || ctx.Err() != nil {
			return total, ctx.Err()
		}
		q.After = next
	}
}

// ReleaseMapped returns the store's memory-mapped pages to the kernel, if
// it maps any (storage.MappedReleaser).
func (s *Service) ReleaseMapped() error {
	if r, ok := s.store.(storage.MappedReleaser); ok {
		return r.ReleaseMapped()
	}
	return nil
}

// ChallengeRetention is how long a challenge stays after it expires, so
// that a client that solved it can still ask again for its answer.
const ChallengeRetention = 24 * time.Hour
