package etcd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"certmaker/etcdstore"
	"certmaker/storage"
)

// oneLine fails t unless a command failed and said want in one line.
func oneLine(t *testing.T, what string, stderr string, err error, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if err == nil || len(lines) != 1 {
		t.Fatalf("%s: err %v, want a failure in one line; stderr %q", what, err, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Fatalf("%s: stderr %q does not say %q", what, stderr, w)
		}
	}
}

// snapshot is every key under prefix with its ModRevision: what a refused
// command must leave as it was.
func snapshot(t *testing.T, prefix string) map[string]int64 {
	t.Helper()
	resp, err := rawClient(t).Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = kv.ModRevision
	}
	return out
}

func sameKeys(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// migrate --to bbolt while a node serves the etcd store is refused, naming
// the node, and writes no file: a certificate the node acknowledged
// meanwhile would be missing from it. Once the node stopped, it copies.
func TestMigrate_RefusedWhileNodesServe(t *testing.T) {
	key, prefix := sharedKey(t), newPrefix()
	dir, port := nodeDir(t, key, prefix, []string{embedded.endpoint})
	node := startNode(t, dir, port)
	back := filepath.Join(t.TempDir(), "back.db")
	_, stderr, err := binary.Run(t, dir, "migrate", "--to", "bbolt", back)
	oneLine(t, "migrate while serving", stderr, err, "serving", fmt.Sprintf("127.0.0.1:%d", port))
	if _, err := os.Lstat(back); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused migration left %s: %v", back, err)
	}
	node.Stop(t)
	if out := binary.Must(t, dir, "migrate", "--to", "bbolt", back); !strings.Contains(out, "users 1") {
		t.Fatalf("migrate after the node stopped said %q", out)
	}
}

// migrate --to etcd into a prefix that holds anything but what a new
// store holds (its schema and check value) is refused, saying what it
// found, and writes nothing there. The case of the review: what a node
// that died after making its roots leaves (no user, no certificate).
func TestMigrate_RefusedIntoAPrefixInUse(t *testing.T) {
	key, prefix := sharedKey(t), newPrefix()
	dir, _ := nodeDir(t, key, prefix, []string{embedded.endpoint})
	// The source: a node of one's file, made by init beside the same
	// configuration.
	etcdConf := editConf(t, dir, `backend = "etcd"`, `backend = "bbolt"`)
	binary.Must(t, dir, "init")
	restoreConf(t, dir, etcdConf)

	// What a node that died after making its roots leaves.
	seed, err := etcdstore.Open(etcdstore.Options{Endpoints: []string{embedded.endpoint}, Prefix: prefix, KeyFile: filepath.Join(dir, "seal.key"), Create: true})
	if err != nil {
		t.Fatal(err)
	}
	must(t, seed.PutRoot(storage.Root{Fingerprint: "root-a", CertDER: []byte("der-a"), KeyPKCS8: []byte("root key a"), Created: t0}, false))
	must(t, seed.PutRoot(storage.Root{Fingerprint: "int-a", CertDER: []byte("der-i"), KeyPKCS8: []byte("int key"), Parent: "root-a", Created: t0}, true))
	_, err = seed.ACMENonceKey()
	must(t, err)
	seed.Close()

	before := snapshot(t, prefix)
	_, stderr, err := binary.Run(t, dir, "migrate", "--to", "etcd")
	oneLine(t, "migrate into a prefix with roots", stderr, err, "not empty", "roots/", "meta/active_root")
	if after := snapshot(t, prefix); !sameKeys(before, after) {
		t.Fatalf("the refused migration wrote: %d keys before, %d after", len(before), len(after))
	}

	// A key of someone else's under the prefix is refused too.
	other := newPrefix()
	if _, err := rawClient(t).Put(context.Background(), other+"someone-else", "x"); err != nil {
		t.Fatal(err)
	}
	editConf(t, dir, prefix, other)
	_, stderr, err = binary.Run(t, dir, "migrate", "--to", "etcd")
	oneLine(t, "migrate into a prefix with a foreign key", stderr, err, "not empty", "someone-else")
	if got := snapshot(t, other); len(got) != 1 {
		t.Fatalf("the refused migration wrote under %s: %v", other, got)
	}

	// A new store's schema and check value alone are empty: a store made
	// and never used (a first start that failed at once) takes the copy.
	fresh := newPrefix()
	made, err := etcdstore.Open(etcdstore.Options{Endpoints: []string{embedded.endpoint}, Prefix: fresh, KeyFile: filepath.Join(dir, "seal.key"), Create: true})
	if err != nil {
		t.Fatal(err)
	}
	made.Close()
	restoreConf(t, dir, etcdConf)
	editConf(t, dir, prefix, fresh)
	if out := binary.Must(t, dir, "migrate", "--to", "etcd"); !strings.Contains(out, "users 1") {
		t.Fatalf("migrate into a new store said %q", out)
	}
}
