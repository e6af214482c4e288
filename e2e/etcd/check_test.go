package etcd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// certmaker check on an etcd node checks the etcd store, says so, and
// finds an index entry that is missing.
func TestCheck_OnEtcd(t *testing.T) {
	key, prefix := sharedKey(t), newPrefix()
	dir, port := nodeDir(t, key, prefix, []string{embedded.endpoint})
	node := startNode(t, dir, port)
	token := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	if code, _, body := node.Do(t, "POST", "/api/certificate/request", token, `{"domains":["a.home.lan"]}`); code != 200 {
		t.Fatalf("issue: %d %s", code, body)
	}
	out := binary.Must(t, dir, "check")
	if !strings.Contains(out, "etcd") || !strings.Contains(out, prefix) || strings.Contains(out, "bbolt") || strings.Contains(out, ".db") {
		t.Fatalf("check on etcd said %q", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "certmaker.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("check made a file: %v", err)
	}
	// An index entry gone: check says the store is damaged.
	if _, err := rawClient(t).Delete(context.Background(), prefix+"v1/ix/created/", clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := binary.Run(t, dir, "check")
	if err == nil || !strings.Contains(stdout, "ix/created/") {
		t.Fatalf("check after an index entry was deleted: %v\n%s", err, stdout)
	}
}
