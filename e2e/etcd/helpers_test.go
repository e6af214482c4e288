package etcd

import (
	"fmt"
	"path/filepath"
	"testing"

	"certmaker/etcdstore"
)

// openStore opens a new, empty store under a prefix of its own, with a
// key file in t.TempDir(), closed when the test ends.
func openStore(t *testing.T) *etcdstore.DB {
	t.Helper()
	o := storeOptions(t)
	db, err := etcdstore.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func storeOptions(t *testing.T) etcdstore.Options {
	t.Helper()
	return etcdstore.Options{
		Endpoints: []string{embedded.endpoint},
		Prefix:    fmt.Sprintf("/test/%d/", embedded.n.Add(1)),
		KeyFile:   filepath.Join(t.TempDir(), "seal.key"),
		Create:    true,
	}
}

// must fails t at once on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
