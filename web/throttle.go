package web

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Failed sign-ins are slowed per client: tokens are 256-bit, so guessing
// is hopeless anyway, but a client that keeps trying is worth a log line
// and should not be answered at full speed. The table is kept by the
// unauthenticated, so it is bounded: at most maxSigninClients entries,
// each forgotten after failureMemory without a failure.
const (
	// freeFailures are the failures a client may make before it waits.
	freeFailures = 5
	// maxSigninDelay bounds the wait, which doubles with each failure
	// after the free ones.
	maxSigninDelay = 5 * time.Minute
	failureMemory  = 15 * time.Minute
	// maxSigninClients bounds the table; when it is full the clients
	// that failed longest ago go first.
	maxSigninClients = 10000
)

// signinThrottle counts recent failed sign-ins per client.
type signinThrottle struct {
	now func() time.Time

	mu sync.Mutex
	m  map[string]*signinFailures
}

type signinFailures struct {
	n    int
	last time.Time
}

func newSigninThrottle(now func() time.Time) *signinThrottle {
	return &signinThrottle{now: now, m: make(map[string]*signinFailures)}
}

// clientKey is who a request comes from, as the connection says (a
// header is the client's word): its IP address, an IPv6 one by its /64,
// which one host usually has all of.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// wait is how long client must wait before its next attempt is heard.
func (t *signinThrottle) wait(client string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.m[client]
	if f == nil {
		return 0
	}
	now := t.now()
	if now.Sub(f.last) >= failureMemory {
		delete(t.m, client)
		return 0
	}
	return max(f.last.Add(signinDelay(f.n)).Sub(now), 0)
}

// signinDelay is the wait after n failures: none for the free ones, then
// a second, doubling up to maxSigninDelay.
func signinDelay(n int) time.Duration {
	if n < freeFailures {
		return 0
	}
	d := time.Second << min(n-freeFailures, 20)
	return min(d, maxSigninDelay)
}

// fail counts a failure of client and returns how many it has made.
func (t *signinThrottle) fail(client string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	f := t.m[client]
	if f == nil || now.Sub(f.last) >= failureMemory {
		if f == nil && len(t.m) >= maxSigninClients {
			t.prune(now)
		}
		f = &signinFailures{}
		t.m[client] = f
	}
	f.n++
	f.last = now
	return f.n
}

// succeed forgets client's failures.
func (t *signinThrottle) succeed(client string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, client)
}

// prune drops forgotten clients and, if the table is still full, the
// tenth that failed longest ago, so that a flood of new addresses pays
// for one sort per thousand of them. Called with mu held.
func (t *signinThrottle) prune(now time.Time) {
	type entry struct {
		key  string
		last time.Time
	}
	kept := make([]entry, 0, len(t.m))
	for k, f := range t.m {
		if now.Sub(f.last) >= failureMemory {
			delete(t.m, k)
			continue
		}
		kept = append(kept, entry{k, f.last})
	}
	if len(t.m) < maxSigninClients {
		return
	}
	slices.SortFunc(kept, func(a, b entry) int { return a.last.Compare(b.last) })
	for _, e := range kept[:maxSigninClients/10] {
		delete(t.m, e.key)
	}
}
