package etcd

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"certmaker/app"
	"certmaker/config"
	"certmaker/etcdstore"
	"certmaker/storage"
)

// cutNames leaves c as a node that died after a certificate's first
// transaction leaves it: the last 50 of its name entries missing, and its
// pending marker.
func cutNames(t *testing.T, prefix string, c *storage.Certificate) {
	t.Helper()
	cli, ctx := rawClient(t), context.Background()
	base := prefix + "v1/"
	resp, err := cli.Get(ctx, base+"ix/name/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil || len(resp.Kvs) != 2*len(c.Names) {
		t.Fatalf("%d name entries, %v", len(resp.Kvs), err)
	}
	for _, kv := range resp.Kvs[len(resp.Kvs)-50:] {
		if _, err := cli.Delete(ctx, string(kv.Key)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Put(ctx, base+"pending/"+string(c.Serial.Bytes()), ""); err != nil {
		t.Fatal(err)
	}
}

// nameEntries counts the name entries and pending markers under prefix.
func nameEntries(t *testing.T, prefix string) (names, pending int64) {
	t.Helper()
	cli, ctx := rawClient(t), context.Background()
	r1, err := cli.Get(ctx, prefix+"v1/ix/name/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	must(t, err)
	r2, err := cli.Get(ctx, prefix+"v1/pending/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	must(t, err)
	return r1.Count, r2.Count
}

// readyOrder makes an account and a ready order for c's names in st.
func readyOrder(t *testing.T, st storage.Store, names []string) storage.ACMEOrder {
	t.Helper()
	must(t, st.CreateUser(storage.User{Name: "alice", TokenHash: storage.HashToken("a"), Created: t0}))
	must(t, st.CreateACMEEAB(storage.ACMEEAB{ID: "kid1", Owner: "alice", Key: []byte("0123456789abcdef0123456789abcdef"), Created: t0}))
	_, err := st.CreateACMEAccount(storage.ACMEAccount{ID: "acct1", Owner: "alice", Thumbprint: "tp1", Key: []byte(`{"kty":"EC"}`), Status: "valid", EABKeyID: "kid1", Created: t0})
	must(t, err)
	o := storage.ACMEOrder{ID: "ord1", Account: "acct1", Status: "ready", Expires: time.Now().Add(time.Hour), Created: t0}
	for _, n := range names {
		o.Identifiers = append(o.Identifiers, storage.ACMEIdentifier{Type: "dns", Value: n})
	}
	must(t, st.CreateACMEOrder(o, nil))
	return o
}

// An ACME certificate whose name entries a failed commit left unfinished
// is finished when the same certificate is stored again (a lost answer's
// retry), as PutCertificate does, rather than refused as existing.
func TestPutACMECertificate_AgainFinishesItsNames(t *testing.T) {
	db := openStore(t)
	prefix := db.Prefix()[:len(db.Prefix())-len("v1/")]
	c := newCert(t, "alice", t0, 30, manyNames(100, "acme.lan")...)
	o := readyOrder(t, db, c.Names)
	valid := func(o *storage.ACMEOrder) error { o.Status, o.Serial = "valid", c.Serial; return nil }
	if _, err := db.PutACMECertificate(o.ID, c, valid); err != nil {
		t.Fatal(err)
	}
	cutNames(t, prefix, c)
	got, err := db.PutACMECertificate(o.ID, c, valid)
	if err != nil || got.Serial == nil || got.Serial.Cmp(c.Serial) != 0 {
		t.Fatalf("stored again: %+v, %v", got, err)
	}
	if names, pending := nameEntries(t, prefix); names != 200 || pending != 0 {
		t.Fatalf("after storing again: %d name entries, %d pending", names, pending)
	}
	must(t, db.Check())
	// Another certificate for the valid order is still refused.
	other := newCert(t, "alice", t0, 30, c.Names...)
	if _, err := db.PutACMECertificate(o.ID, other, func(o *storage.ACMEOrder) error { o.Serial = other.Serial; return nil }); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("another certificate for the order: %v", err)
	}
}

// A running node completes an unfinished name index without a restart
// (app runs the core's RepairIndexes with its chores), and only one node
// at a time does it: while another holds the repair's claim, it leaves
// the work to that node.
func TestCore_RepairIndexesWithoutARestart(t *testing.T) {
	dir := t.TempDir()
	prefix := newPrefix()
	cfg := config.Default()
	cfg.Store.Backend, cfg.Store.Path, cfg.Store.KeyFile = "etcd", filepath.Join(dir, "node.db"), filepath.Join(dir, "seal.key")
	cfg.Store.Etcd.Endpoints, cfg.Store.Etcd.Prefix = []string{embedded.endpoint}, prefix
	st, err := app.OpenStore(cfg, app.OpenOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := app.NewCore(cfg, st, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := newCert(t, "alice", t0, 30, manyNames(100, "late.lan")...)
	must(t, st.PutCertificate(c))
	cutNames(t, prefix, c)

	other, err := etcdstore.Open(etcdstore.Options{Endpoints: []string{embedded.endpoint}, Prefix: prefix, KeyFile: cfg.Store.KeyFile, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	held, ok, err := other.Claim(context.Background(), "repair-indexes", false)
	if err != nil || !ok {
		t.Fatalf("claiming the repair as another node: %v %v", ok, err)
	}
	if n, err := svc.RepairIndexes(context.Background()); err != nil || n != 0 {
		t.Fatalf("while another node repairs: %d, %v", n, err)
	}
	if _, pending := nameEntries(t, prefix); pending != 1 {
		t.Fatalf("repaired while another node held the claim")
	}
	held.Release()
	if n, err := svc.RepairIndexes(context.Background()); err != nil || n != 1 {
		t.Fatalf("repair: %d, %v", n, err)
	}
	if names, pending := nameEntries(t, prefix); names != 200 || pending != 0 {
		t.Fatalf("after the repair: %d name entries, %d pending", names, pending)
	}
}
