package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinary_ACMEDefaultUserWarning: with require_eab off, serve warns
// when acme.default_user does not exist, but not on the first start that
// creates it (default_user = "admin", the user the first start makes).
func TestBinary_ACMEDefaultUserWarning(t *testing.T) {
	const warning = "acme.default_user does not exist yet"
	for _, c := range []struct {
		user string
		warn bool
	}{{"admin", false}, {"proxy", true}} {
		t.Run(c.user, func(t *testing.T) {
			dir := t.TempDir()
			conf := "[acme]\nrequire_eab = false\ndefault_user = \"" + c.user + "\"\n"
			if err := os.WriteFile(filepath.Join(dir, "certmaker.toml"), []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			srv := binary.Start(t, dir)
			defer srv.Stop(t)
			if srv.Token == "" {
				t.Fatal("not the first start: no admin token printed")
			}
			if got := strings.Contains(srv.Stderr.String(), warning); got != c.warn {
				t.Errorf("default_user %q: warned %v, want %v:\n%s", c.user, got, c.warn, srv.Stderr)
			}
		})
	}
}
