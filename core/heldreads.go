package core

import (
	"context"
	"sync"
	"time"
)

// What a node holds in memory (the roots, kept current by FollowRoots;
// the CRLs it signed) it serves without waiting out the store's request
// timeout when the store does not answer: those reads are read from the
// store only while it answers promptly.

// heldWait is how long a read that memory can also answer waits for the
// store before memory answers. Far below the request timeout (5 s by
// default) and a browser's patience; above what a store that answers
// takes (milliseconds).
const heldWait = 300 * time.Millisecond

// heldReads are the kinds of such reads that wait for the store in the
// background: one at a time per kind, so that a cluster that does not
// answer costs one waiting read per kind, not one per request.
type heldReads struct {
	mu      sync.Mutex
	waiting map[string]bool
}

// take marks a read of kind as waiting in the background; false if one
// already is.
func (h *heldReads) take(kind string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.waiting[kind] {
		return false
	}
	if h.waiting == nil {
		h.waiting = map[string]bool{}
	}
	h.waiting[kind] = true
	return true
}

func (h *heldReads) release(kind string) {
	h.mu.Lock()
	delete(h.waiting, kind)
	h.mu.Unlock()
}

func (h *heldReads) busy(kind string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.waiting[kind]
}

// fromStore runs read, a store read of kind whose answer memory also
// holds, and reports whether it answered (with its error, noted as
// noteReach does); false: the caller answers from memory. While the
// storage cluster is known not to answer (an episode is on), or a read of
// this kind waits already, it does not wait at all; else it waits up to
// heldWait. A read that does not answer in time goes on in the
// background, one per kind, and its outcome starts or ends the episode:
// so the episode ends as soon as the store answers, whatever is asked.
// read must only set what the caller reads once it answered.
func (s *Service) fromStore(ctx context.Context, kind string, read func() error) (bool, error) {
	if s.storageDown.Load() {
		if s.held.take(kind) {
			go func() {
				defer s.held.release(kind)
				s.noteReach(context.WithoutCancel(ctx), read())
			}()
		}
		return false, nil
	}
	if s.held.busy(kind) {
		return false, nil
	}
	done := make(chan error, 1)
	go func() { done <- read() }()
	wait := time.NewTimer(heldWait)
	defer wait.Stop()
	select {
	case err := <-done:
		return true, s.noteReach(ctx, err)
	case <-wait.C:
	case <-ctx.Done():
	}
	if s.held.take(kind) {
		go func() {
			defer s.held.release(kind)
			s.noteReach(context.WithoutCancel(ctx), <-done)
		}()
	}
	return false, nil
}
