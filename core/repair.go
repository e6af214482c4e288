package core

import (
	"context"

	"certmaker/storage"
)

// claimRepair is held by the node that runs the repair pass: one at a
// time is enough, and the others' passes would only write the same keys.
const claimRepair = "repair-indexes"

// RepairIndexes completes the indexes a writer left unfinished
// (storage.Repairer: on etcd, the name entries of a certificate stored in
// several transactions whose writer failed or died between them), so that
// a listing by name finds the certificate again without a restart. It
// returns how many it completed; 0 when another node of the store is at
// it, or when the store needs no repair.
func (s *Service) RepairIndexes(ctx context.Context) (int, error) {
	r, ok := s.store.(storage.Repairer)
	if !ok {
		return 0, nil
	}
	c, ok, err := s.claim(ctx, claimRepair, false)
	if err != nil || !ok {
		return 0, err
	}
	defer c.Release()
	n, err := r.Repair()
	return n, s.noteWrite(ctx, err)
}
