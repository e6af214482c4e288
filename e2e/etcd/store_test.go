package etcd

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"certmaker/etcdstore"
	"certmaker/storage"
)

func TestOpen_CreatesAndPings(t *testing.T) {
	db := openStore(t)
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(storage.User{Name: "alice", TokenHash: storage.HashToken("a")}); err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByTokenHash(storage.HashToken("a"))
	if err != nil || u.Name != "alice" {
		t.Fatalf("got %+v, %v", u, err)
	}
}

func TestOpen_NoStoreWithoutCreate(t *testing.T) {
	o := storeOptions(t)
	o.Create = false
	_, err := etcdstore.Open(o)
	if !errors.Is(err, etcdstore.ErrNoStore) {
		t.Fatalf("got %v, want ErrNoStore", err)
	}
}

// Every node has the same key file: one with another key is refused in
// one line that names the key file, and so is one without any.
func TestOpen_AnotherKeyFileIsRefused(t *testing.T) {
	o := storeOptions(t)
	db, err := etcdstore.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	other := o
	other.KeyFile = t.TempDir() + "/other.key"
	other.Create = true // would make a new key file, but the store has a check value
	_, err = etcdstore.Open(other)
	if err == nil || !strings.Contains(err.Error(), other.KeyFile) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("another key file: got %v", err)
	}
	missing := o
	missing.KeyFile = t.TempDir() + "/missing.key"
	missing.Create = false
	if _, err := etcdstore.Open(missing); err == nil || !strings.Contains(err.Error(), missing.KeyFile) {
		t.Fatalf("no key file: got %v", err)
	}
	o.Create = false
	db, err = etcdstore.Open(o)
	if err != nil {
		t.Fatalf("the right key file: %v", err)
	}
	db.Close()
}

// A certificate with 100 names needs 205 keys, over etcd's 128 writes per
// transaction: it is written in two, and then every name finds it and
// nothing is left pending.
func TestHundredNames(t *testing.T) {
	db := openStore(t)
	c := newCert(t, "alice", t0, 30, manyNames(100, "home.lan")...)
	if err := db.PutCertificate(c); err != nil {
		t.Fatal(err)
	}
	for _, owner := range []string{"", "alice"} {
		for _, name := range c.Names {
			page, _, err := db.ListCertificates(storage.ListQuery{Owner: owner, Name: name, Limit: 10})
			if err != nil || len(page) != 1 || page[0].Serial.Cmp(c.Serial) != 0 {
				t.Fatalf("owner %q, name %s: %d found, %v", owner, name, len(page), err)
			}
		}
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Repair(); err != nil || n != 0 {
		t.Fatalf("repair found %d pending, %v", n, err)
	}
	got, err := db.Certificate(c.Serial)
	if err != nil || string(got.KeyPKCS8) != string(c.KeyPKCS8) || len(got.Names) != 100 {
		t.Fatalf("read back: %v", err)
	}
}

// A node that dies between a certificate's first transaction and its last
// leaves the record, a pending marker and some name entries: Check says
// which are missing until a repair (which every node runs at start)
// writes them.
func TestRepair_FinishesAnInterruptedWrite(t *testing.T) {
	o := storeOptions(t)
	db, err := etcdstore.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := newCert(t, "bob", t0, 30, manyNames(100, "cut.lan")...)
	if err := db.PutCertificate(c); err != nil {
		t.Fatal(err)
	}
	// What the crash left: the last name entries missing, and the marker.
	cli := rawClient(t)
	ctx := context.Background()
	base := o.Prefix + "v1/"
	resp, err := cli.Get(ctx, base+"ix/name/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil || len(resp.Kvs) != 200 {
		t.Fatalf("%d name entries, %v", len(resp.Kvs), err)
	}
	for _, kv := range resp.Kvs[150:] {
		if _, err := cli.Delete(ctx, string(kv.Key)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Check(); !errors.Is(err, storage.ErrDamaged) {
		t.Fatalf("check before the marker: %v, want damage", err)
	}
	if _, err := cli.Put(ctx, base+"pending/"+string(c.Serial.Bytes()), ""); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Fatalf("check with the marker (a writer may be at work): %v", err)
	}

	// A node starting repairs it.
	o.Create = false
	db2, err := etcdstore.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	resp, err = cli.Get(ctx, base+"ix/name/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 200 {
		t.Fatalf("after repair: %d name entries, %v", resp.Count, err)
	}
	resp, err = cli.Get(ctx, base+"pending/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 0 {
		t.Fatalf("after repair: %d pending markers, %v", resp.Count, err)
	}
	if err := db2.Check(); err != nil {
		t.Fatal(err)
	}
}

// Two handles stand for two nodes: certificates issued concurrently
// through both are all stored and counted, with no conflict between them
// (no counter is shared: no transaction ran again).
func TestConcurrentIssuance(t *testing.T) {
	a, b := twoNodes(t)
	before := a.Retries() + b.Retries()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		st := a
		if w%2 == 1 {
			st = b
		}
		wg.Go(func() {
			for i := range each {
				c := newCert(t, fmt.Sprintf("user%d", w%3), t0.Add(time.Duration(i)*time.Second), 10+i, fmt.Sprintf("h%d-%d.lan", w, i))
				errs <- st.PutCertificate(c)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// A commit that lost a race runs again and succeeds, so only the
	// retries show that issuances contended for a key (a shared
	// counter's): distinct certificates share none.
	if r := a.Retries() + b.Retries() - before; r != 0 {
		t.Fatalf("%d transactions retried while issuing distinct certificates: they contend for a key", r)
	}
	n, err := b.CountAllCertificates()
	if err != nil || n != workers*each {
		t.Fatalf("count %d, %v; want %d", n, err, workers*each)
	}
	sum := 0
	for u := range 3 {
		k, _ := a.CountCertificates(fmt.Sprintf("user%d", u))
		sum += k
	}
	if sum != n {
		t.Fatalf("per-user counts add to %d, want %d", sum, n)
	}
}

// A challenge solved at once through two nodes stores one certificate,
// and every solver answers with it.
func TestCompleteChallenge_OnceAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	ch := storage.Challenge{ID: "ch1", Owner: "alice", Token: "tok", Request: []byte("{}"), Created: t0, Expires: t0.Add(time.Hour)}
	if err := a.PutChallenge(ch); err != nil {
		t.Fatal(err)
	}
	if err := b.PutChallenge(ch); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second put: %v", err)
	}
	const solvers = 6
	serials := make(chan *big.Int, solvers)
	var wg sync.WaitGroup
	for i := range solvers {
		st := []*etcdstore.DB{a, b}[i%2]
		wg.Go(func() {
			got, err := st.CompleteChallenge("ch1", newCert(t, "alice", t0, 30, "a.lan"))
			if err != nil {
				t.Error(err)
				return
			}
			serials <- got.Serial
		})
	}
	wg.Wait()
	close(serials)
	var first *big.Int
	for s := range serials {
		if first == nil {
			first = s
		} else if s.Cmp(first) != 0 {
			t.Fatalf("solvers answered %s and %s", first, s)
		}
	}
	if n, _ := a.CountAllCertificates(); n != 1 {
		t.Fatalf("%d certificates stored, want 1", n)
	}
	// The sweep, in pages: many expired challenges and one that is not.
	for i := range 300 {
		c := ch
		c.ID = fmt.Sprintf("old%03d", i)
		if err := a.PutChallenge(c); err != nil {
			t.Fatal(err)
		}
	}
	n, err := b.DeleteChallengesExpiredBefore(t0.Add(2 * time.Hour))
	if err != nil || n != 301 {
		t.Fatalf("swept %d, %v; want 301", n, err)
	}
}

// Revoking an EAB key deactivates every account it bound, over several
// transactions, and an account cannot be made with it afterwards.
func TestRevokeACMEEAB_ManyAccounts(t *testing.T) {
	db := openStore(t)
	if err := db.CreateUser(storage.User{Name: "alice", TokenHash: storage.HashToken("a")}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateACMEEAB(storage.ACMEEAB{ID: "kid1", Owner: "alice", Key: []byte("0123456789abcdef0123456789abcdef"), Created: t0}); err != nil {
		t.Fatal(err)
	}
	const n = 150
	for i := range n {
		a := storage.ACMEAccount{ID: fmt.Sprintf("acct%03d", i), Owner: "alice", Thumbprint: fmt.Sprintf("tp%03d", i), Status: "valid", EABKeyID: "kid1", Created: t0}
		if _, err := db.CreateACMEAccount(a); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := db.ACMEEABs("alice")
	if err != nil || len(infos) != 1 || infos[0].Accounts != n {
		t.Fatalf("EAB infos %+v, %v", infos, err)
	}
	k, err := db.ACMEEABKey("kid1")
	if err != nil || string(k.Key) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("EAB key: %v", err)
	}
	got, err := db.RevokeACMEEAB("kid1")
	if err != nil || got != n {
		t.Fatalf("deactivated %d, %v; want %d", got, err, n)
	}
	for i := range n {
		a, err := db.ACMEAccount(fmt.Sprintf("acct%03d", i))
		if err != nil || a.Status != "deactivated" {
			t.Fatalf("account %d: %+v, %v", i, a, err)
		}
	}
	_, err = db.CreateACMEAccount(storage.ACMEAccount{ID: "late", Thumbprint: "tp-late", Status: "valid", EABKeyID: "kid1"})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("account with a revoked key: %v", err)
	}
	if _, err := db.RevokeACMEEAB("kid1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("revoking again: %v", err)
	}
}

// CRL numbers and revocation generations come from etcd's revisions: they
// grow strictly, whichever node asks.
func TestCRLNumbersGrow(t *testing.T) {
	a, b := twoNodes(t)
	var last uint64
	for i := range 10 {
		n, err := []*etcdstore.DB{a, b}[i%2].NextCRLNumber("root-a")
		if err != nil {
			t.Fatal(err)
		}
		if n <= last {
			t.Fatalf("CRL number %d after %d", n, last)
		}
		last = n
	}
	g0, _ := a.RevocationGeneration("root-a")
	c := newCert(t, "alice", t0, 30, "a.lan")
	if err := a.PutCertificate(c); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Revoke(c.Serial, t0, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Revoke(c.Serial, t0, 1); !errors.Is(err, storage.ErrRevoked) {
		t.Fatalf("second revocation: %v", err)
	}
	g1, _ := a.RevocationGeneration("root-a")
	if g1 <= g0 {
		t.Fatalf("generation %d after a revocation, was %d", g1, g0)
	}
	st, err := a.CertificateStatus(c.Serial)
	if err != nil || !st.Revoked || st.Root != "root-a" {
		t.Fatalf("status %+v, %v", st, err)
	}
}

// Unreachable etcd is ErrUnavailable (503 at the doors), never a hang.
func TestUnavailable(t *testing.T) {
	dir := t.TempDir()
	e, err := startEmbedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := storeOptions(t)
	o.Endpoints = []string{e.Clients[0].Addr().String()}
	o.RequestTimeout = time.Second
	db, err := etcdstore.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e.Close()
	start := time.Now()
	err = db.PutCertificate(newCert(t, "alice", t0, 30, "a.lan"))
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("put: %v, want ErrUnavailable", err)
	}
	if _, err := db.Certificate(big.NewInt(5)); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("read: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("took %v", d)
	}
	os.RemoveAll(dir)
}

func rawClient(t *testing.T) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{embedded.endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// twoNodes opens one new store twice, as two nodes do.
func twoNodes(t *testing.T) (a, b *etcdstore.DB) {
	t.Helper()
	a = openStore(t)
	o := storeOptions(t)
	o.Prefix = strings.TrimSuffix(a.Prefix(), "v1/")
	o.KeyFile = a.KeyFile()
	o.Create = false
	b, err := etcdstore.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// etcd over its space quota (the NOSPACE alarm) is ErrFull, as a full
// disk is: writes fail and say so, reads go on.
func TestFull(t *testing.T) {
	dir := t.TempDir()
	e, err := startEmbedded(dir, func(c *embed.Config) { c.QuotaBackendBytes = 1 << 20 })
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	o := storeOptions(t)
	o.Endpoints = []string{e.Clients[0].Addr().String()}
	db, err := etcdstore.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var first *storage.Certificate
	for i := range 5000 {
		c := newCert(t, "alice", t0, 30, fmt.Sprintf("h%d.lan", i))
		err = db.PutCertificate(c)
		if err != nil {
			break
		}
		if first == nil {
			first = c
		}
	}
	if !errors.Is(err, storage.ErrFull) || !db.WritesFailing() {
		t.Fatalf("after filling the quota: %v (writes failing: %v), want ErrFull", err, db.WritesFailing())
	}
	if _, err := db.Certificate(first.Serial); err != nil {
		t.Fatalf("a read when full: %v", err)
	}
}
