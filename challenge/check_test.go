package challenge_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"certmaker/challenge"
)

func TestChecker_Check(t *testing.T) {
	good := newSite(serveFile(challenge.WellKnownPath, tok))
	pGood := serve(t, "127.0.0.2:0", good)
	bad := newSite(serveFile(challenge.WellKnownPath, "stale-token"))
	pBad := serve(t, "127.0.0.3:0", bad)
	c := newChecker(t, challenge.Config{AllowedPorts: []int{pGood, pBad, 1}, Hosts: map[string][]netip.Addr{
		"a.test": {ip2},
		"b.test": {ip3},
	}})

	t.Run("AllPass", func(t *testing.T) {
		targets := []challenge.Target{target("a.test", pGood), target("127.0.0.2", pGood), target("localhost", 1)}
		if err := c.Check(t.Context(), requester, targets); err != nil {
			t.Fatalf("Check: %v", err)
		}
	})
	t.Run("OneOfTwoFails", func(t *testing.T) {
		err := c.Check(t.Context(), requester, []challenge.Target{target("a.test", pGood), target("b.test", pBad)})
		var ce *challenge.Error
		if !errors.As(err, &ce) {
			t.Fatalf("Check: %v, want a *challenge.Error", err)
		}
		if ce.Identifier != "b.test" || ce.Reason != "wrong token" {
			t.Errorf("got %q / %q, want b.test / wrong token", ce.Identifier, ce.Reason)
		}
		if got, want := err.Error(), "b.test: wrong token"; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		if err := c.Check(t.Context(), requester, nil); err != nil {
			t.Fatalf("Check(nil): %v", err)
		}
	})
}

// TestChecker_Check_StopsAtFirstFailure proves that a failure cancels the
// fetches still waiting on a server that never answers.
func TestChecker_Check_StopsAtFirstFailure(t *testing.T) {
	release := make(chan struct{})
	slow := newSite(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	pSlow := serve(t, "127.0.0.2:0", slow)
	t.Cleanup(func() { close(release) })
	pClosed := closedPort(t, "127.0.0.3")
	c := newChecker(t, challenge.Config{
		Timeout:      5 * time.Second,
		Concurrency:  4,
		AllowedPorts: []int{pSlow, pClosed},
		Hosts: map[string][]netip.Addr{
			"slow1.test": {ip2}, "slow2.test": {ip2}, "slow3.test": {ip2},
			"refused.test": {ip3},
		},
	})
	targets := []challenge.Target{
		target("slow1.test", pSlow), target("slow2.test", pSlow), target("slow3.test", pSlow),
		target("refused.test", pClosed),
	}
	start := time.Now()
	err := c.Check(t.Context(), requester, targets)
	elapsed := time.Since(start)
	var ce *challenge.Error
	if !errors.As(err, &ce) {
		t.Fatalf("Check: %v, want a *challenge.Error", err)
	}
	if ce.Identifier != "refused.test" || ce.Reason != "connection refused" {
		t.Errorf("got %q / %q, want refused.test / connection refused", ce.Identifier, ce.Reason)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Check took %s; the slow fetches were not canceled", elapsed)
	}
}

func TestChecker_Check_Concurrency(t *testing.T) {
	var (
		mu             sync.Mutex
		inFlight, peak int
	)
	s := newSite(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		io.WriteString(w, tok)
	}))
	p := serve(t, "127.0.0.2:0", s)
	hosts := map[string][]netip.Addr{}
	var targets []challenge.Target
	for i := range 6 {
		name := fmt.Sprintf("n%d.test", i)
		hosts[name] = []netip.Addr{ip2}
		targets = append(targets, target(name, p))
	}
	c := newChecker(t, challenge.Config{Concurrency: 2, AllowedPorts: []int{p}, Hosts: hosts})
	if err := c.Check(t.Context(), requester, targets); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := s.Hits(); got != 6 {
		t.Errorf("server saw %d requests, want 6", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if peak != 2 {
		t.Errorf("at most %d fetches ran at once, want 2", peak)
	}
}

// TestChecker_Check_ExemptNeverFetched: nothing listens and the resolver
// knows no name, so any fetch or lookup would fail.
func TestChecker_Check_ExemptNeverFetched(t *testing.T) {
	p := closedPort(t, "127.0.0.1")
	r := &mapResolver{}
	c := newChecker(t, challenge.Config{AllowedPorts: []int{p}, Resolver: r})
	var targets []challenge.Target
	for _, id := range []string{"localhost", "LOCALHOST.", "127.0.0.1", "::1", "0:0:0:0:0:0:0:1"} {
		targets = append(targets, target(id, p))
	}
	if err := c.Check(t.Context(), requester, targets); err != nil {
		t.Fatalf("Check: %v, want nil for exempt identifiers", err)
	}
	if asked := r.Asked(); len(asked) != 0 {
		t.Errorf("resolver asked for %q, want nothing", asked)
	}
	// The same targets fail when really fetched, so nil above means skipped.
	if got, want := reasonOf(t, c.CheckOne(t.Context(), requester, target("127.0.0.1", p))), "connection refused"; got != want {
		t.Errorf("CheckOne(127.0.0.1): reason %q, want %q", got, want)
	}
	if got, want := reasonOf(t, c.CheckOne(t.Context(), requester, target("localhost", p))), "no such host"; got != want {
		t.Errorf("CheckOne(localhost): reason %q, want %q", got, want)
	}
}

func TestChecker_Check_CanceledContext(t *testing.T) {
	s := newSite(serveFile(challenge.WellKnownPath, tok))
	p := serve(t, "127.0.0.2:0", s)
	c := newChecker(t, challenge.Config{AllowedPorts: []int{p}, Hosts: map[string][]netip.Addr{"a.test": {ip2}}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := c.Check(ctx, requester, []challenge.Target{target("a.test", p)})
	if got, want := reasonOf(t, err), "canceled"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(%v, context.Canceled) = false", err)
	}
	if got := s.Hits(); got != 0 {
		t.Errorf("server saw %d requests, want none", got)
	}
}
