package challenge

import (
	"context"
	"fmt"
	"testing"
)

// TestSlots_ForgetsRequesters: a requester is kept only while it holds or
// waits for a slot, so many users over time do not grow the map.
func TestSlots_ForgetsRequesters(t *testing.T) {
	s := newSlots(4, 1)
	for i := range 100 {
		release, err := s.acquire(t.Context(), fmt.Sprintf("user%d", i))
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	held, err := s.acquire(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	// alice is at her bound: a second acquire waits, and gives up with ctx.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.acquire(ctx, "alice"); err == nil {
		t.Fatal("second slot for alice at her bound of 1")
	}
	held()
	if n := len(s.by); n != 0 {
		t.Errorf("%d requesters remembered after every slot was given back, want 0", n)
	}
	if n := len(s.total); n != 0 {
		t.Errorf("%d slots still taken, want 0", n)
	}
}
