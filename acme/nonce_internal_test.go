package acme

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certmaker/storage"
)

func nonceDetail(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	p := asProblem(err)
	if p.Type != problemPrefix+probBadNonce {
		t.Fatalf("problem %s, want badNonce", p.Type)
	}
	return p.Detail
}

// TestNonces_Window: with a window of 4, each nonce works once while it is
// among the latest 4 handed out, and never after; a slot reused by a newer
// nonce does not revive the old one.
func TestNonces_Window(t *testing.T) {
	n := newNonces(make([]byte, 32), 4)
	var got []string
	for range 4 {
		got = append(got, n.next())
	}
	if err := n.use(got[0]); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if d := nonceDetail(t, n.use(got[0])); !strings.Contains(d, "used") {
		t.Errorf("second use: %q", d)
	}
	fifth := n.next() // takes got[0]'s slot
	if d := nonceDetail(t, n.use(got[0])); !strings.Contains(d, "expired") {
		t.Errorf("use after the window moved on: %q", d)
	}
	if err := n.use(fifth); err != nil {
		t.Errorf("the nonce in the reused slot: %v", err)
	}
	for _, s := range got[1:] {
		if err := n.use(s); err != nil {
			t.Errorf("nonce inside the window: %v", err)
		}
	}
	for range 4 {
		n.next()
	}
	for _, s := range append(got[1:], fifth) {
		if d := nonceDetail(t, n.use(s)); !strings.Contains(d, "expired") && !strings.Contains(d, "used") {
			t.Errorf("old nonce: %q", d)
		}
	}
}

// TestNonces_Forged: a nonce with a valid MAC but a counter not handed out
// yet, another process's instance, or another key is refused.
func TestNonces_Forged(t *testing.T) {
	key := make([]byte, 32)
	n := newNonces(key, 16)
	n.next()
	forge := func(instance [8]byte, counter uint64, by *nonces) string {
		b := append(instance[:], binary.BigEndian.AppendUint64(nil, counter)...)
		return base64.RawURLEncoding.EncodeToString(append(b, by.mac(b)...))
	}
	if d := nonceDetail(t, n.use(forge(n.instance, 5, n))); !strings.Contains(d, "not issued") {
		t.Errorf("counter not handed out: %q", d)
	}
	restarted := newNonces(key, 16)
	if d := nonceDetail(t, restarted.use(n.next())); !strings.Contains(d, "restart") {
		t.Errorf("nonce of the process before: %q", d)
	}
	other := newNonces(make([]byte, 32), 16)
	other.key = []byte("another key")
	if d := nonceDetail(t, n.use(forge(n.instance, 0, other))); !strings.Contains(d, "not issued") {
		t.Errorf("another key's MAC: %q", d)
	}
	for _, s := range []string{"", "!!", base64.RawURLEncoding.EncodeToString(make([]byte, 40))} {
		if nonceDetail(t, n.use(s)) == "" {
			t.Errorf("%q accepted", s)
		}
	}
}

// TestNonces_Concurrent: nonces handed out and used from many goroutines,
// each used twice at once, are each accepted exactly once.
func TestNonces_Concurrent(t *testing.T) {
	n := newNonces(make([]byte, 32), 64)
	var accepted, twice atomic.Int64
	var wg sync.WaitGroup
	const workers, each = 8, 500
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				s := n.next()
				var uses atomic.Int64
				var inner sync.WaitGroup
				for range 2 {
					inner.Add(1)
					go func() {
						defer inner.Done()
						if n.use(s) == nil {
							uses.Add(1)
						}
					}()
				}
				inner.Wait()
				if uses.Load() > 1 {
					twice.Add(1)
				}
				accepted.Add(min(uses.Load(), 1))
			}
		}()
	}
	wg.Wait()
	if twice.Load() > 0 {
		t.Errorf("%d nonces accepted twice", twice.Load())
	}
	// A nonce may leave the small window before its use (then it is
	// refused), but most are used in time.
	if got := accepted.Load(); got < workers*each/2 {
		t.Errorf("only %d of %d nonces accepted", got, workers*each)
	}
}

// TestNonces_SharedPerMinute: a node of a shared store hands out at most
// perMinute nonces a minute that the store records; past that, nonces of
// its own, which it takes once, which another node refuses, and which
// cost the store nothing. The next minute, shared ones again.
func TestNonces_SharedPerMinute(t *testing.T) {
	key := make([]byte, 32)
	var now time.Time
	clock := func() time.Time { return now }
	now = time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	spent, spend := spendOnce()
	a := newSharedNonces(key, spend, clock, 3, 16)
	b := newSharedNonces(key, spend, clock, 3, 16)
	var shared []string
	for range 3 {
		shared = append(shared, a.next())
	}
	own := a.next()
	for _, s := range shared {
		if err := b.use(s); err != nil {
			t.Errorf("node b taking one of node a's shared nonces: %v", err)
		}
		if nonceDetail(t, a.use(s)) == "" {
			t.Errorf("a shared nonce taken twice")
		}
	}
	if len(spent) != 3 {
		t.Fatalf("%d nonces recorded in the store, want 3", len(spent))
	}
	if d := nonceDetail(t, b.use(own)); !strings.Contains(d, "another node") {
		t.Errorf("node a's own nonce on node b: %q", d)
	}
	if err := a.use(own); err != nil {
		t.Errorf("node a's own nonce on node a: %v", err)
	}
	if d := nonceDetail(t, a.use(own)); !strings.Contains(d, "used") {
		t.Errorf("node a's own nonce again: %q", d)
	}
	if len(spent) != 3 {
		t.Errorf("nonces past the minute's share wrote %d records, want none", len(spent)-3)
	}
	now = now.Add(time.Minute)
	if err := b.use(a.next()); err != nil {
		t.Errorf("a shared nonce of the next minute: %v", err)
	}
}

// TestNonces_ForAccountPastTheBudget: once strangers used up a minute's
// shared nonces, the answers to requests an account signed still carry
// nonces every node takes, so a client whose requests a balancer spreads
// over the nodes goes on.
func TestNonces_ForAccountPastTheBudget(t *testing.T) {
	key := make([]byte, 32)
	now := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	clock := func() time.Time { return now }
	spent, spend := spendOnce()
	a := newSharedNonces(key, spend, clock, 2, 16)
	b := newSharedNonces(key, spend, clock, 2, 16)
	for range 10 {
		a.next() // HEAD newNonce from a stranger
	}
	if d := nonceDetail(t, b.use(a.next())); !strings.Contains(d, "another node") {
		t.Fatalf("past the budget, node a's next nonce on node b: %q, want node a's own", d)
	}
	for range 3 {
		if err := b.use(a.forAccount()); err != nil {
			t.Errorf("a nonce node a gave an account's request, on node b: %v", err)
		}
	}
	if len(spent) != 3 {
		t.Errorf("%d nonces recorded in the store, want the 3 accounts' ones", len(spent))
	}
}

// spendOnce is a shared store's SpendNonce in a map: each id once.
func spendOnce() (map[string]bool, func([]byte, time.Time) error) {
	spent := map[string]bool{}
	return spent, func(id []byte, _ time.Time) error {
		if spent[string(id)] {
			return storage.ErrExists
		}
		spent[string(id)] = true
		return nil
	}
}
