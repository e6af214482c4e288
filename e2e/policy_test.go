package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestACME_LegoPolicy: lego, for a user whose policy allows lego.test
// alone, for at most 10 days: a name outside the policy is refused at
// newOrder (rejectedIdentifier, naming it), before any challenge; its own
// name is issued, for 10 days instead of [acme] days; and once the
// operator changes the policy on the running server, the next renewal is
// refused.
func TestACME_LegoPolicy(t *testing.T) {
	if _, err := exec.LookPath("lego"); err != nil {
		t.Skip("lego is not installed (scripts/deps.sh installs Debian's lego)")
	}
	const name = "lego.test"
	dir, srv, port := acmeServer(t, name, "127.0.0.2")
	kid, hmac := eabFor(t, dir, "alice")
	binary.Must(t, dir, "user", "policy", "alice", "--allow", name, "--max-days", "10")
	lego := func(domain string, cmd ...string) []string {
		return append([]string{
			"--server", srv.URL + "/acme/directory", "--accept-tos", "--email", "alice@example.com",
			"--eab", "--kid", kid, "--hmac", hmac, "--path", filepath.Join(dir, "lego"),
			"--domains", domain, "--http", "--http.port", fmt.Sprintf("127.0.0.2:%d", port),
		}, cmd...)
	}

	out := runClientFailing(t, dir, "lego", lego("vault.test", "run")...)
	if !strings.Contains(out, "rejectedIdentifier") || !strings.Contains(out, "vault.test") || !strings.Contains(out, "allows only lego.test") {
		t.Errorf("lego for a name outside the policy:\n%s", out)
	}
	if strings.Contains(srv.Stderr.String(), "action=challenge") {
		t.Error("a challenge was tried for a refused order")
	}

	runClient(t, dir, nil, "lego", lego(name, "run")...)
	leaf := leafOf(t, dir, filepath.Join(dir, "lego", "certificates", name+".crt"), name)
	if d := leaf.NotAfter.Sub(leaf.NotBefore).Hours() / 24; d != 10 {
		t.Errorf("valid for %v days under a policy of at most 10", d)
	}

	binary.Must(t, dir, "user", "policy", "alice", "--allow", "other.test")
	out = runClientFailing(t, dir, "lego", lego(name, "renew", "--days", "3650", "--no-random-sleep")...)
	if !strings.Contains(out, "rejectedIdentifier") || !strings.Contains(out, "refuses lego.test") {
		t.Errorf("renewing after the policy changed:\n%s", out)
	}
}

// runClientFailing runs an ACME client that must fail, and returns what
// it printed.
func runClientFailing(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	out, err := execClient(dir, nil, name, args...)
	if err == nil {
		t.Fatalf("%s %s succeeded, want a refusal\n%s", name, strings.Join(args, " "), out)
	}
	return out
}
