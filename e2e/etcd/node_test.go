package etcd

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"certmaker/internal/binarytest"
)

// sharedKey writes a new seal key into a file of its own, to be copied to
// every node (as an operator copies the first node's).
func sharedKey(t *testing.T) []byte {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	return []byte(base64.StdEncoding.EncodeToString(key) + "\n")
}

// nodeDir makes a node's directory: its key file and a certmaker.toml on
// the etcd store of endpoints under prefix, serving on a loopback port.
func nodeDir(t *testing.T, key []byte, prefix string, endpoints []string) (dir string, port int) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "seal.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	port = binarytest.FreePort(t)
	conf := nodeTOML(port, fmt.Sprintf("http://127.0.0.1:%d", port), endpoints, prefix, "")
	if err := os.WriteFile(filepath.Join(dir, "certmaker.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, port
}

// startNode runs `certmaker serve` in a node's directory.
func startNode(t *testing.T, dir string, port int) *binarytest.Server {
	t.Helper()
	cmd := exec.Command(string(binary), "serve")
	cmd.Dir = dir
	return binarytest.StartCmd(t, cmd, fmt.Sprintf("http://127.0.0.1:%d", port))
}

// newPrefix is a key prefix no other test uses.
func newPrefix() string { return fmt.Sprintf("/node-test-%d/", embedded.n.Add(1)) }

// nodeTOML is a node's certmaker.toml: serving on a loopback port under
// publicURL, its store under prefix on the etcd of endpoints, its key file
// beside it, then extra (more tables).
func nodeTOML(port int, publicURL string, endpoints []string, prefix, extra string) string {
	eps := make([]string, len(endpoints))
	for i, ep := range endpoints {
		eps[i] = fmt.Sprintf("%q", ep)
	}
	return fmt.Sprintf(`[server]
listen = "127.0.0.1:%d"
public_url = %q

[store]
backend = "etcd"
key_file = "seal.key"

[store.etcd]
endpoints = [%s]
prefix = %q
request_timeout = "3s"
dial_timeout = "3s"

%s`, port, publicURL, strings.Join(eps, ", "), prefix, extra)
}

// editConf replaces, in a node's certmaker.toml, each old of pairs (old,
// new, ...) with its new, and returns what the file held before.
func editConf(t *testing.T, dir string, pairs ...string) (before []byte) {
	t.Helper()
	conf := filepath.Join(dir, "certmaker.toml")
	before, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	s := string(before)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("%s holds no %q", conf, pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	if err := os.WriteFile(conf, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return before
}

// restoreConf writes back what editConf returned.
func restoreConf(t *testing.T, dir string, before []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "certmaker.toml"), before, 0o600); err != nil {
		t.Fatal(err)
	}
}
