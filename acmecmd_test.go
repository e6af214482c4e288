package main

import (
	"strings"
	"testing"
)

// TestBinary_ACMEAccounts: `certmaker acme accounts` and `acme
// deactivate` as an operator runs them, on the file and through a
// running server: a table (or JSON, [] for none), and one clear line for
// an account or user that does not exist.
func TestBinary_ACMEAccounts(t *testing.T) {
	dir := t.TempDir()
	binary.Must(t, dir, "init")
	check := func(where string) {
		t.Helper()
		if out := binary.Must(t, dir, "acme", "accounts"); !strings.HasPrefix(out, "ID ") || strings.Count(out, "\n") != 1 {
			t.Errorf("%s: acme accounts printed %q, want the header alone", where, out)
		}
		if out := binary.Must(t, dir, "acme", "accounts", "--unbound", "--json"); strings.TrimSpace(out) != "[]" {
			t.Errorf("%s: acme accounts --json printed %q", where, out)
		}
		for _, args := range [][]string{{"acme", "deactivate", "nope"}, {"acme", "accounts", "--user", "nobody"}, {"acme", "deactivate"}} {
			_, errOut, err := binary.Run(t, dir, args...)
			if err == nil || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "nope") && !strings.Contains(errOut, "nobody") && !strings.Contains(errOut, "account id") {
				t.Errorf("%s: %v: err %v, stderr %q; want one line naming what is missing", where, args, err, errOut)
			}
		}
	}
	check("on the file")
	srv := binary.Start(t, dir)
	defer srv.Stop(t)
	check("through the server")
}
