package binarytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// OpenSSLVerify checks leafPEM against rootPEM with `openssl verify`, an
// independent judge; it skips the test without openssl. leafPEM is the
// chain as certmaker serves it (leaf, then intermediate): the intermediate
// is given as untrusted, the root alone is trusted.
func OpenSSLVerify(t *testing.T, dir, rootPEM, leafPEM string) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	root, leaf := filepath.Join(dir, "root.pem"), filepath.Join(dir, "leaf.pem")
	os.WriteFile(root, []byte(rootPEM), 0o600)
	os.WriteFile(leaf, []byte(leafPEM), 0o600)
	out, err := exec.Command("openssl", "verify", "-CAfile", root, "-untrusted", leaf, leaf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}
