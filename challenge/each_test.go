package challenge_test

import (
	"net/netip"
	"slices"
	"testing"

	"certmaker/challenge"
)

// TestChecker_CheckEach proves that every name gets its own result, in the
// order asked, whichever fails first; exempt names are marked, not fetched.
func TestChecker_CheckEach(t *testing.T) {
	good := newSite(serveFile(challenge.WellKnownPath, tok))
	pGood := serve(t, "127.0.0.2:0", good)
	bad := newSite(serveFile(challenge.WellKnownPath, "stale-token"))
	pBad := serve(t, "127.0.0.3:0", bad)
	pClosed := closedPort(t, "127.0.0.4")
	c := newChecker(t, challenge.Config{AllowedPorts: []int{pGood, pBad, pClosed}, Hosts: map[string][]netip.Addr{
		"a.test": {ip2},
		"b.test": {ip3},
		"c.test": {netip.MustParseAddr("127.0.0.4")},
	}})
	targets := []challenge.Target{target("b.test", pBad), target("a.test", pGood), target("localhost", pGood), target("c.test", pClosed)}
	// Several runs: the order must not depend on which fetch ends first.
	for range 5 {
		res := c.CheckEach(t.Context(), requester, targets)
		var got []string
		for _, r := range res {
			switch {
			case r.Exempt:
				got = append(got, r.Identifier+" exempt")
			case r.Err != nil:
				got = append(got, r.Identifier+" "+r.Err.Reason)
			default:
				got = append(got, r.Identifier+" ok")
			}
		}
		want := []string{"b.test wrong token", "a.test ok", "localhost exempt", "c.test connection refused"}
		if !slices.Equal(got, want) {
			t.Fatalf("CheckEach = %q, want %q", got, want)
		}
		if f := res.Failed(); f == nil || f.Identifier != "b.test" {
			t.Fatalf("Failed() = %v, want b.test's failure", f)
		}
		if n := res.FailedCount(); n != 2 {
			t.Fatalf("FailedCount() = %d, want 2", n)
		}
	}
	if res := c.CheckEach(t.Context(), requester, targets[1:3]); res.Failed() != nil {
		t.Fatalf("all passing: Failed() = %v", res.Failed())
	}
}
