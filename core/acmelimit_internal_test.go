package core

import (
	"net/netip"
	"testing"
	"time"
)

// TestSignups_Bounded: new accounts from ever new addresses never grow
// the table past its bound (strangers keep it), and the client whose
// window began first is the one dropped.
func TestSignups_Bounded(t *testing.T) {
	var s signups
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	first := netip.MustParseAddr("192.0.2.1")
	s.take(first, now)
	for i := range 3 * maxSignupClients {
		now = now.Add(time.Millisecond)
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if _, ok := s.take(a, now); !ok {
			t.Fatalf("a new address was refused")
		}
		if len(s.m) > maxSignupClients {
			t.Fatalf("%d clients kept after %d, at most %d", len(s.m), i+1, maxSignupClients)
		}
	}
	if _, ok := s.m[clientPrefix(first)]; ok {
		t.Error("the client whose window began first survived a full table")
	}
}

// TestSignups_Window: a client makes signupsPerClient accounts per window,
// then waits until its window ends; an IPv6 client counts by its /64, an
// IPv4 one mapped into IPv6 as itself.
func TestSignups_Window(t *testing.T) {
	var s signups
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := netip.MustParseAddr("2001:db8:1:2::1")
	for i := range signupsPerClient {
		if _, ok := s.take(a, now.Add(time.Duration(i)*time.Minute)); !ok {
			t.Fatalf("account %d refused", i+1)
		}
	}
	wait, ok := s.take(netip.MustParseAddr("2001:db8:1:2:ffff::9"), now.Add(30*time.Minute))
	if ok || wait != 30*time.Minute {
		t.Errorf("one more from the same /64: %v, %v; want refused for 30m", wait, ok)
	}
	if _, ok := s.take(netip.MustParseAddr("2001:db8:1:3::1"), now); !ok {
		t.Error("another /64 was refused")
	}
	if _, ok := s.take(a, now.Add(signupWindow)); !ok {
		t.Error("refused after the window")
	}
	v4 := netip.MustParseAddr("192.0.2.7")
	for range signupsPerClient {
		s.take(v4, now)
	}
	if _, ok := s.take(netip.MustParseAddr("::ffff:192.0.2.7"), now); ok {
		t.Error("the mapped address of a client that used its window was let in")
	}
}
