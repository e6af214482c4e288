package web

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

// TestSigninThrottle_Bounded: failed sign-ins from ever new addresses (no
// credentials needed) never grow the table past its bound, and the client
// that failed longest ago is the one dropped.
func TestSigninThrottle_Bounded(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newSigninThrottle(func() time.Time { return now })
	s.fail("first")
	for i := range 3 * maxSigninClients {
		now = now.Add(time.Millisecond)
		s.fail(fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255))
		if len(s.m) > maxSigninClients {
			t.Fatalf("%d clients kept after %d, at most %d", len(s.m), i+1, maxSigninClients)
		}
	}
	if _, ok := s.m["first"]; ok {
		t.Error("the client that failed longest ago survived a full table")
	}
}

// TestSigninThrottle_Waits: the free failures cost nothing, then the wait
// doubles up to its bound, a success or a quiet spell forgets them, and
// each client counts alone.
func TestSigninThrottle_Waits(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newSigninThrottle(func() time.Time { return now })
	for range freeFailures - 1 {
		s.fail("a")
	}
	if w := s.wait("a"); w != 0 {
		t.Fatalf("after %d failures: wait %v, want none", freeFailures-1, w)
	}
	s.fail("a")
	if w := s.wait("a"); w != time.Second {
		t.Errorf("after %d failures: wait %v, want 1s", freeFailures, w)
	}
	s.fail("a")
	if w := s.wait("a"); w != 2*time.Second {
		t.Errorf("after %d failures: wait %v, want 2s", freeFailures+1, w)
	}
	for range 30 {
		s.fail("a")
	}
	if w := s.wait("a"); w != maxSigninDelay {
		t.Errorf("after many failures: wait %v, want %v", w, maxSigninDelay)
	}
	if w := s.wait("b"); w != 0 {
		t.Errorf("another client waits %v", w)
	}
	now = now.Add(failureMemory)
	if w := s.wait("a"); w != 0 || len(s.m) != 0 {
		t.Errorf("after a quiet spell: wait %v, %d kept", w, len(s.m))
	}
	for range freeFailures {
		s.fail("c")
	}
	s.succeed("c")
	if w := s.wait("c"); w != 0 {
		t.Errorf("after a success: wait %v", w)
	}
}

// TestClientKey: an IPv6 client is counted by its /64, an IPv4 one (also
// mapped into IPv6) by its address.
func TestClientKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:5000":             "192.0.2.7",
		"[::ffff:192.0.2.7]:5000":    "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2::9]:443":      "2001:db8:1:2::/64",
	} {
		r := httptest.NewRequest("POST", "/signin", nil)
		r.RemoteAddr = addr
		if got := clientKey(r); got != want {
			t.Errorf("clientKey(%s) = %s, want %s", addr, got, want)
		}
	}
}
