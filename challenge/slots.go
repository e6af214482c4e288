package challenge

import (
	"context"
	"sync"
)

// slots bounds the fetches in flight: at most cap(total) across the whole
// Checker and at most perRequester for any one requester, so that one user
// with many slow solves cannot make everyone else's wait.
type slots struct {
	total        chan struct{}
	perRequester int

	mu sync.Mutex
	// by holds a requester only while it holds or waits for a slot, so it
	// never grows past the checks running.
	by map[string]*requesterSlots
}

type requesterSlots struct {
	held  chan struct{} // one token per slot of this requester
	users int           // checks holding or waiting for one; guarded by slots.mu
}

func newSlots(total, perRequester int) *slots {
	return &slots{
		total:        make(chan struct{}, total),
		perRequester: perRequester,
		by:           map[string]*requesterSlots{},
	}
}

// acquire waits for a slot of requester's own and then for one of the
// total, in that order: a requester at its bound waits without holding a
// slot someone else could use. It returns the release, or ctx's error.
func (s *slots) acquire(ctx context.Context, requester string) (release func(), err error) {
	s.mu.Lock()
	r := s.by[requester]
	if r == nil {
		r = &requesterSlots{held: make(chan struct{}, s.perRequester)}
		s.by[requester] = r
	}
	r.users++
	s.mu.Unlock()
	leave := func() {
		s.mu.Lock()
		if r.users--; r.users == 0 {
			delete(s.by, requester)
		}
		s.mu.Unlock()
	}

	select {
	case r.held <- struct{}{}:
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
	select {
	case s.total <- struct{}{}:
	case <-ctx.Done():
		<-r.held
		leave()
		return nil, ctx.Err()
	}
	return func() {
		<-s.total
		<-r.held
		leave()
	}, nil
}
