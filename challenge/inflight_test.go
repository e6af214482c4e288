package challenge_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"certmaker/challenge"
)

// peakSite answers with the token after a pause and records how many
// requests it was serving at once.
type peakSite struct {
	pause          time.Duration
	mu             sync.Mutex
	inFlight, peak int
	hits           int
}

func (s *peakSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.inFlight++
	s.hits++
	s.peak = max(s.peak, s.inFlight)
	s.mu.Unlock()
	time.Sleep(s.pause)
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
	io.WriteString(w, tok)
}

func (s *peakSite) stats() (peak, hits int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.hits
}

// TestChecker_MaxInFlight: many solves at once share one bound on fetches,
// instead of each opening Concurrency connections.
func TestChecker_MaxInFlight(t *testing.T) {
	site := &peakSite{pause: 30 * time.Millisecond}
	p := serve(t, "127.0.0.2:0", site)
	const checks, perCheck = 10, 4
	hosts := map[string][]netip.Addr{}
	for i := range perCheck {
		hosts[fmt.Sprintf("n%d.test", i)] = []netip.Addr{ip2}
	}
	c := newChecker(t, challenge.Config{Concurrency: perCheck, MaxInFlight: 3, AllowedPorts: []int{p}, Hosts: hosts})

	var wg sync.WaitGroup
	errs := make(chan error, checks)
	for n := range checks {
		wg.Go(func() {
			var targets []challenge.Target
			for i := range perCheck {
				targets = append(targets, target(fmt.Sprintf("n%d.test", i), p))
			}
			// Each by its own user: the bound across users is tested.
			errs <- c.Check(t.Context(), fmt.Sprintf("user%d", n), targets)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
	}
	peak, hits := site.stats()
	if hits != checks*perCheck {
		t.Errorf("server saw %d requests, want %d", hits, checks*perCheck)
	}
	// 40 fetches of 30 ms through 3 slots: the bound is reached, never passed.
	if peak != 3 {
		t.Errorf("at most %d fetches ran at once across checks, want 3", peak)
	}
}

// TestChecker_MaxInFlight_WaitEndsWithContext: a check queued behind busy
// slots gives up when its caller does, without fetching, and a slot given
// back lets the next check run.
func TestChecker_MaxInFlight_WaitEndsWithContext(t *testing.T) {
	release := make(chan struct{})
	slow := newSite(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
			io.WriteString(w, tok)
		case <-r.Context().Done():
		}
	}))
	pSlow := serve(t, "127.0.0.2:0", slow)
	fast := newSite(serveFile(challenge.WellKnownPath, tok))
	pFast := serve(t, "127.0.0.3:0", fast)
	c := newChecker(t, challenge.Config{
		MaxInFlight:  1,
		AllowedPorts: []int{pSlow, pFast},
		Hosts:        map[string][]netip.Addr{"slow.test": {ip2}, "fast.test": {ip3}},
	})

	holder := make(chan error, 1)
	// Another user holds the only slot: the bound across users is tested.
	go func() { holder <- c.CheckOne(context.Background(), "bob", target("slow.test", pSlow)) }()
	waitFor(t, func() bool { return slow.Hits() == 1 })

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err := c.Check(ctx, requester, []challenge.Target{target("fast.test", pFast)})
	if got, want := reasonOf(t, err), "timed out"; got != want {
		t.Errorf("queued check: reason %q, want %q", got, want)
	}
	if got := fast.Hits(); got != 0 {
		t.Errorf("the queued check fetched %d times while no slot was free", got)
	}

	close(release)
	if err := <-holder; err != nil {
		t.Fatalf("slow check: %v", err)
	}
	if err := c.Check(t.Context(), requester, []challenge.Target{target("fast.test", pFast)}); err != nil {
		t.Fatalf("check after the slot was freed: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestChecker_FairShare: one user with many slow solves in flight cannot
// take every fetch slot; another user's solve goes through while the
// first user's fetches are still stalled.
func TestChecker_FairShare(t *testing.T) {
	release := make(chan struct{})
	stalled := newSite(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
			io.WriteString(w, tok)
		case <-r.Context().Done():
		}
	}))
	pSlow := serve(t, "127.0.0.2:0", stalled)
	fast := newSite(serveFile(challenge.WellKnownPath, tok))
	pFast := serve(t, "127.0.0.3:0", fast)
	hosts := map[string][]netip.Addr{"fast.test": {ip3}}
	const aChecks = 20 // more than every slot of the checker
	for i := range aChecks {
		hosts[fmt.Sprintf("slow%d.test", i)] = []netip.Addr{ip2}
	}
	// The defaults: 16 slots in all. The timeout outlasts the test, so
	// nothing but release ends user A's fetches.
	c := newChecker(t, challenge.Config{Timeout: time.Minute, AllowedPorts: []int{pSlow, pFast}, Hosts: hosts})

	aDone := make(chan error, aChecks)
	for i := range aChecks {
		go func() {
			aDone <- c.CheckOne(context.Background(), "mallory", target(fmt.Sprintf("slow%d.test", i), pSlow))
		}()
	}
	// Let A's fetches reach the stalled server before B asks.
	waitFor(t, func() bool { return stalled.Hits() >= 4 })

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.Check(ctx, "bob", []challenge.Target{target("fast.test", pFast)}); err != nil {
		t.Errorf("bob's check while mallory's are stalled: %v", err)
	}
	select {
	case err := <-aDone:
		t.Fatalf("one of mallory's checks ended before the release: %v", err)
	default:
	}
	// A quarter of the 16 slots: mallory's other checks wait, unfetched.
	if got := stalled.Hits(); got != 4 {
		t.Errorf("mallory had %d fetches in flight, want 4", got)
	}

	close(release)
	for range aChecks {
		if err := <-aDone; err != nil {
			t.Errorf("mallory's check after the release: %v", err)
		}
	}
	if got := stalled.Hits(); got != aChecks {
		t.Errorf("stalled server saw %d requests, want %d", got, aChecks)
	}
}
