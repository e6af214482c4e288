package core

import "sync"

// claims are the ACME authorizations being validated and the orders being
// finalized by a request of this process. They replace the "processing"
// states that used to be a commit each: those states answer nothing a
// client relies on after a crash. A process that dies mid-validation or
// mid-finalize leaves the object as last stored (pending, ready), and the
// client, which got no answer, sends its request again, as RFC 8555 7.5.1
// and 7.4 let it. While a claim is held, a second request for the same
// object is told it is processing instead of doing the work twice.
//
// A claim lives as long as the request that holds it, so the map never
// holds more than the requests in flight. With several servers on one store
// (etcd) two of them could validate the same challenge at once; the commit
// that records the outcome only accepts a challenge still pending, so the
// second outcome is dropped and its request answers with the first.
type claims struct {
	mu   sync.Mutex
	held map[string]struct{}
}

func newClaims() *claims { return &claims{held: map[string]struct{}{}} }

// claim takes id unless another request holds it.
func (c *claims) claim(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.held[id]; ok {
		return false
	}
	c.held[id] = struct{}{}
	return true
}

func (c *claims) release(id string) {
	c.mu.Lock()
	delete(c.held, id)
	c.mu.Unlock()
}

// holds reports whether a request is working on id.
func (c *claims) holds(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.held[id]
	return ok
}
