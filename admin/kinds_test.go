package admin_test

import (
	"context"
	"errors"
	"testing"

	"certmaker/ca"
	"certmaker/inventory"
	"certmaker/store"
)

// TestOperator_ErrorKindsCrossTheSocket: an error keeps its identity over
// the socket as on the file: errors.Is holds for the sentinel of its
// kind, whichever package defined it.
func TestOperator_ErrorKindsCrossTheSocket(t *testing.T) {
	for name, mk := range operators(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			op, _ := mk(t)
			if _, err := op.Certificates(ctx, inventory.Query{Limit: -1}); !errors.Is(err, inventory.ErrInvalid) {
				t.Errorf("listing with limit -1: %v, want inventory.ErrInvalid", err)
			}
			if _, err := op.Certificates(ctx, inventory.Query{Cursor: "zz"}); !errors.Is(err, inventory.ErrInvalid) {
				t.Errorf("listing from a bad cursor: %v, want inventory.ErrInvalid", err)
			}
			if err := op.Revoke(ctx, "1", "certificateHold"); !errors.Is(err, ca.ErrInvalid) {
				t.Errorf("revoking for certificateHold: %v, want ca.ErrInvalid", err)
			}
			if err := op.Revoke(ctx, "1", ""); !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists) {
				t.Errorf("revoking an unknown serial: %v, want store.ErrNotFound only", err)
			}
			if _, err := op.ResetToken(ctx, "nobody"); errors.Is(err, inventory.ErrInvalid) {
				t.Errorf("an unknown user is not an invalid query: %v", err)
			}
		})
	}
}
