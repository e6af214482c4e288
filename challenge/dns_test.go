package challenge_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"certmaker/challenge"
	"certmaker/internal/dnstest"
)

// dnsTarget is a DNS proof of name wanting value.
func dnsTarget(name, value string) challenge.Target {
	return challenge.Target{Method: challenge.DNS, Identifier: name, Want: value}
}

// dnsChecker is a checker that asks srv, with a short timeout.
func dnsChecker(t *testing.T, servers ...*dnstest.Server) *challenge.Checker {
	t.Helper()
	var addrs []netip.AddrPort
	for _, s := range servers {
		addrs = append(addrs, s.Addr)
	}
	return newChecker(t, challenge.Config{Timeout: 2 * time.Second, DNSServers: addrs})
}

// wantFail checks that err is a *challenge.Error with code and a reason
// that starts with prefix.
func wantFail(t *testing.T, err error, code challenge.Code, prefix string) {
	t.Helper()
	got := reasonOf(t, err)
	var ce *challenge.Error
	if !errors.As(err, &ce) || ce.Code != code {
		t.Errorf("code %v (reason %q), want %v", ce.Code, got, code)
	}
	if !strings.HasPrefix(got, prefix) {
		t.Errorf("reason %q, want it to start with %q", got, prefix)
	}
}

func TestChecker_DNS(t *testing.T) {
	srv := dnstest.Serve(t, "127.0.0.2")
	srv.TXT("_acme-challenge.one.test", "good")
	srv.TXT("_acme-challenge.several.test", "other", "good", "third")
	srv.TXT("_acme-challenge.split.test", "go|od") // one record, two strings
	srv.TXT("_acme-challenge.wrong.test", "bad")
	srv.TXT("_acme-challenge.wrongs.test", "bad", "worse")
	srv.A("_acme-challenge.nodata.test", netip.MustParseAddr("127.0.0.9"))
	srv.TXT("_acme-challenge.wild.test", "good")
	srv.TXT("_acme-challenge.case.test", "Good")
	c := dnsChecker(t, srv)

	for _, name := range []string{"one.test", "several.test", "split.test", "*.wild.test", "wild.test", "ONE.test."} {
		if err := c.CheckOne(t.Context(), requester, dnsTarget(name, "good")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, tc := range []struct {
		name   string
		code   challenge.Code
		reason string
	}{
		{"wrong.test", challenge.CodeWrongToken, "wrong TXT value at _acme-challenge.wrong.test"},
		{"case.test", challenge.CodeWrongToken, "wrong TXT value"}, // values are compared exactly
		{"wrongs.test", challenge.CodeWrongToken, "none of the 2 TXT values at _acme-challenge.wrongs.test is the expected one"},
		{"missing.test", challenge.CodeNoRecord, "no TXT record at _acme-challenge.missing.test: the name does not exist"},
		{"nodata.test", challenge.CodeNoRecord, "no TXT record at _acme-challenge.nodata.test"},
		{"192.0.2.1", challenge.CodeTarget, "an IP address cannot be proven with DNS"},
	} {
		err := c.CheckOne(t.Context(), requester, dnsTarget(tc.name, "good"))
		wantFail(t, err, tc.code, tc.reason)
	}
	if err := c.CheckOne(t.Context(), requester, dnsTarget("one.test", "")); reasonOf(t, err) != "no expected token" {
		t.Errorf("an empty value: %v", err)
	}
	// Asked for exactly the proof's names, never anything else.
	for _, q := range srv.Queries() {
		if !strings.HasPrefix(q, "TXT _acme-challenge.") {
			t.Errorf("query %q", q)
		}
	}
}

// TestChecker_DNS_Aliases: CNAMEs are followed, by the client itself when
// the server answers with the alias alone (an authoritative server whose
// alias leads into another zone), up to eight, and a loop ends.
func TestChecker_DNS_Aliases(t *testing.T) {
	srv := dnstest.Serve(t, "127.0.0.2")
	srv.CNAME("_acme-challenge.nas.test", "nas.acme.test")
	srv.TXT("nas.acme.test", "good")
	chain := func(from string, n int) {
		prev := "_acme-challenge." + from
		for i := range n {
			next := fmt.Sprintf("hop%d.%s", i, from)
			srv.CNAME(prev, next)
			prev = next
		}
		srv.TXT(prev, "good")
	}
	chain("eight.test", 8)
	chain("nine.test", 9)
	srv.CNAME("_acme-challenge.loop.test", "a.loop.test")
	srv.CNAME("a.loop.test", "b.loop.test")
	srv.CNAME("b.loop.test", "a.loop.test")
	srv.CNAME("_acme-challenge.dangling.test", "nowhere.test")
	c := dnsChecker(t, srv)

	for _, follow := range []bool{false, true} {
		srv.Follow(follow)
		for _, name := range []string{"nas.test", "eight.test"} {
			if err := c.CheckOne(t.Context(), requester, dnsTarget(name, "good")); err != nil {
				t.Errorf("follow %v, %s: %v", follow, name, err)
			}
		}
		err := c.CheckOne(t.Context(), requester, dnsTarget("nine.test", "good"))
		wantFail(t, err, challenge.CodeDNSServer, "more than 8 aliases (CNAME) from _acme-challenge.nine.test")
		err = c.CheckOne(t.Context(), requester, dnsTarget("loop.test", "good"))
		wantFail(t, err, challenge.CodeDNSServer, "the aliases (CNAME) of _acme-challenge.loop.test form a loop")
		err = c.CheckOne(t.Context(), requester, dnsTarget("dangling.test", "good"))
		wantFail(t, err, challenge.CodeNoRecord, "no TXT record at _acme-challenge.dangling.test: the name does not exist")
		// Where an alias led is the DNS's business, not the reason's.
		if strings.Contains(err.Error(), "nowhere") {
			t.Errorf("reason names the alias target: %v", err)
		}
	}
}

// TestChecker_DNS_Transport: a truncated UDP answer is asked again over
// TCP; an answer with another id is ignored; a failing or silent server
// leaves the next one its turn.
func TestChecker_DNS_Transport(t *testing.T) {
	srv := dnstest.Serve(t, "127.0.0.2")
	srv.TXT("_acme-challenge.a.test", "good")

	srv.Truncate(true)
	if err := dnsChecker(t, srv).CheckOne(t.Context(), requester, dnsTarget("a.test", "good")); err != nil {
		t.Errorf("truncated over UDP: %v", err)
	}
	srv.Truncate(false)

	srv.Spoof(true)
	if err := dnsChecker(t, srv).CheckOne(t.Context(), requester, dnsTarget("a.test", "good")); err != nil {
		t.Errorf("with a spoofed answer first: %v", err)
	}
	srv.Spoof(false)

	broken := dnstest.Serve(t, "127.0.0.3")
	broken.RCode(dnsmessage.RCodeServerFailure)
	err := dnsChecker(t, broken).CheckOne(t.Context(), requester, dnsTarget("a.test", "good"))
	wantFail(t, err, challenge.CodeDNSServer, "DNS server answered SERVFAIL")
	if err := dnsChecker(t, broken, srv).CheckOne(t.Context(), requester, dnsTarget("a.test", "good")); err != nil {
		t.Errorf("SERVFAIL, then a working server: %v", err)
	}
	broken.RCode(dnsmessage.RCodeRefused)
	err = dnsChecker(t, broken).CheckOne(t.Context(), requester, dnsTarget("a.test", "good"))
	wantFail(t, err, challenge.CodeDNSServer, "DNS server answered REFUSED")

	silent := dnstest.Serve(t, "127.0.0.4")
	silent.Silent(true)
	if err := dnsChecker(t, silent, srv).CheckOne(t.Context(), requester, dnsTarget("a.test", "good")); err != nil {
		t.Errorf("a silent server, then a working one: %v", err)
	}
	if len(silent.Queries()) == 0 {
		t.Error("the silent server was never asked")
	}
}

// TestChecker_DNS_Oversized: a server that ignores EDNS's size sends a
// UDP answer larger than the buffer the client reads into; the client
// asks again over TCP instead of waiting, until its timeout, for an
// answer that parses.
func TestChecker_DNS_Oversized(t *testing.T) {
	srv := dnstest.Serve(t, "127.0.0.2")
	values := []string{"good"}
	for i := range 24 {
		values = append(values, fmt.Sprintf("%03d%s", i, strings.Repeat("x", 250)))
	}
	srv.TXT("_acme-challenge.big.test", values...)
	c := newChecker(t, challenge.Config{Timeout: 3 * time.Second, DNSServers: []netip.AddrPort{srv.Addr}})
	if err := c.CheckOne(t.Context(), requester, dnsTarget("big.test", "good")); err != nil {
		t.Errorf("a 6 KB answer: %v", err)
	}
}

// TestChecker_DNS_Timeout: a resolver that never answers costs the
// check's timeout and no more, and says so.
func TestChecker_DNS_Timeout(t *testing.T) {
	silent := dnstest.Serve(t, "127.0.0.3")
	silent.Silent(true)
	c := newChecker(t, challenge.Config{Timeout: 300 * time.Millisecond, DNSServers: []netip.AddrPort{silent.Addr}})
	start := time.Now()
	err := c.CheckOne(t.Context(), requester, dnsTarget("a.test", "good"))
	wantFail(t, err, challenge.CodeTimeout, "timed out after 300ms")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the check took %s", took)
	}
	// Nothing listens at all: a refusal, not a wait.
	pc, err := net.ListenPacket("udp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := netip.MustParseAddrPort(pc.LocalAddr().String())
	pc.Close()
	c = newChecker(t, challenge.Config{Timeout: 2 * time.Second, DNSServers: []netip.AddrPort{closed}})
	err = c.CheckOne(t.Context(), requester, dnsTarget("a.test", "good"))
	wantFail(t, err, challenge.CodeDNSServer, "the DNS server refused the connection")
}

// TestChecker_DNS_NeverEchoes: what the DNS holds (a TXT value, an alias
// target) never appears in a reason or an error's message.
func TestChecker_DNS_NeverEchoes(t *testing.T) {
	srv := dnstest.Serve(t, "127.0.0.2")
	srv.TXT("_acme-challenge.a.test", marker)
	srv.TXT("_acme-challenge.b.test", marker, "x"+marker)
	srv.CNAME("_acme-challenge.c.test", marker+".test")
	srv.TXT(marker+".test", marker)
	c := dnsChecker(t, srv)
	for _, name := range []string{"a.test", "b.test", "c.test"} {
		err := c.CheckOne(t.Context(), requester, dnsTarget(name, "good"))
		reasonOf(t, err)
		if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(marker)) {
			t.Errorf("%s: error %q repeats what the DNS holds", name, err)
		}
	}
}

// TestChecker_DNS_FairShare: DNS proofs take the same slots as fetches:
// one user's stalled lookups hold their share only, and another user's
// proof goes through meanwhile.
func TestChecker_DNS_FairShare(t *testing.T) {
	silent := dnstest.Serve(t, "127.0.0.3")
	silent.Silent(true)
	p := serve(t, "127.0.0.2:0", serveFile(challenge.WellKnownPath, tok))
	c := newChecker(t, challenge.Config{Timeout: time.Minute, MaxInFlight: 4, MaxPerRequester: 1, AllowedPorts: []int{p},
		DNSServers: []netip.AddrPort{silent.Addr}, Hosts: map[string][]netip.Addr{"fast.test": {ip2}}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 5)
	for i := range 5 {
		go func() { done <- c.CheckOne(ctx, "mallory", dnsTarget(fmt.Sprintf("slow%d.test", i), "good")) }()
	}
	waitFor(t, func() bool { return len(silent.Queries()) >= 1 })
	// One slot per requester: one lookup of mallory's is asked, the
	// others wait for her slot.
	time.Sleep(100 * time.Millisecond)
	if got := len(silent.Queries()); got != 1 {
		t.Errorf("mallory had %d lookups in flight, want 1", got)
	}
	// bob's proof goes through the same checker's slots meanwhile.
	if err := c.CheckOne(t.Context(), "bob", target("fast.test", p)); err != nil {
		t.Fatalf("bob: %v", err)
	}
	cancel()
	for range 5 {
		if err := <-done; reasonOf(t, err) != "canceled" {
			t.Errorf("mallory's check after cancel: %v", err)
		}
	}
}

// TestChecker_DNSServers_ResolveTargets: with DNS servers configured, the
// addresses of an HTTP proof's name are looked up there too.
func TestChecker_DNSServers_ResolveTargets(t *testing.T) {
	srv := dnstest.Serve(t, "127.0.0.2")
	srv.A("web.test", ip3)
	srv.CNAME("alias.test", "web.test")
	p := serve(t, "127.0.0.3:0", serveFile(challenge.WellKnownPath, tok))
	c := newChecker(t, challenge.Config{AllowedPorts: []int{p}, DNSServers: []netip.AddrPort{srv.Addr}})
	for _, name := range []string{"web.test", "alias.test"} {
		if err := c.CheckOne(t.Context(), requester, target(name, p)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	err := c.CheckOne(t.Context(), requester, target("missing.test", p))
	if got := reasonOf(t, err); got != "no such host" {
		t.Errorf("a name the DNS server does not know: %q", got)
	}
}
