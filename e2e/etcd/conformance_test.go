package etcd

import (
	"bytes"
	"context"
	bin "encoding/binary"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"certmaker/etcdstore"
	"certmaker/storage"
	"certmaker/storage/storagetest"
)

// etcdPlace is a prefix of its own on the embedded etcd, for the
// conformance suite.
func etcdPlace(t *testing.T) storagetest.Place {
	prefix := fmt.Sprintf("/conformance/%d/", embedded.n.Add(1))
	cli := rawClient(t)
	t.Cleanup(func() { cli.Delete(context.Background(), prefix, clientv3.WithPrefix()) })
	return storagetest.Place{
		Open: func(keyFile string) (storagetest.Store, error) {
			db, err := etcdstore.Open(etcdstore.Options{
				Endpoints: []string{embedded.endpoint}, Prefix: prefix, KeyFile: keyFile, Create: true,
			})
			if err != nil {
				return nil, err // not a nil *DB inside a non-nil Store
			}
			return db, nil
		},
		Raw: func() ([]byte, error) {
			resp, err := cli.Get(context.Background(), prefix, clientv3.WithPrefix())
			if err != nil {
				return nil, err
			}
			var b bytes.Buffer
			for _, kv := range resp.Kvs {
				b.Write(kv.Key)
				b.Write(kv.Value)
			}
			return b.Bytes(), nil
		},
	}
}

// The etcd store keeps storage.Store's contract, the suite the bbolt store
// passes, unchanged. Optimistic transactions run an update function again
// when another writer changed what it read.
func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Backend{New: etcdPlace, Reruns: true})
}

// brokenDB is the etcd store with one step of Revoke undone: a revoked
// certificate stays in the expiry indexes (written back behind the store's
// back, as docs/cluster.md lays them out), the kind of slip a backend
// makes.
type brokenDB struct {
	*etcdstore.DB
	cli *clientv3.Client
}

func (b brokenDB) Revoke(serial *big.Int, at time.Time, reason int) (storage.Certificate, error) {
	c, err := b.DB.Revoke(serial, at, reason)
	if err != nil {
		return c, err
	}
	ek := string(bin.BigEndian.AppendUint64(nil, uint64(c.NotAfter.UnixNano()))) + string(c.Serial.Bytes())
	_, err = b.cli.Txn(context.Background()).Then(
		clientv3.OpPut(b.Prefix()+"ix/expiry/"+ek, ""),
		clientv3.OpPut(b.Prefix()+"ix/owner-expiry/"+c.Owner+"\x00"+ek, ""),
	).Commit()
	return c, err
}

// TestConformance_Broken runs the conformance suite against brokenDB in a
// child process (its failures must not fail this test) and requires that
// the suite catches the slip, where it looks, and nowhere else.
func TestConformance_Broken(t *testing.T) {
	if os.Getenv("CERTMAKER_BROKEN_STORE") == "1" {
		storagetest.Run(t, storagetest.Backend{New: brokenPlace, Reruns: true})
		return
	}
	if testing.Short() {
		t.Skip("runs the whole suite again")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestConformance_Broken$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "CERTMAKER_BROKEN_STORE=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed a store that keeps revoked certificates in the expiry index:\n%s", out)
	}
	for _, part := range []string{"Indexes", "Concurrent"} {
		if !strings.Contains(string(out), "--- FAIL: TestConformance_Broken/"+part) {
			t.Errorf("the suite's %s part did not fail on the broken store:\n%s", part, out)
		}
	}
	for _, part := range []string{"Users", "Roots", "ACMEOrders"} {
		if !strings.Contains(string(out), "--- PASS: TestConformance_Broken/"+part) {
			t.Errorf("the suite's %s part, which Revoke does not touch, did not pass:\n%s", part, out)
		}
	}
}

func brokenPlace(t *testing.T) storagetest.Place {
	place := etcdPlace(t)
	cli := rawClient(t)
	return storagetest.Place{
		Open: func(keyFile string) (storagetest.Store, error) {
			s, err := place.Open(keyFile)
			if err != nil {
				return nil, err
			}
			return brokenDB{s.(*etcdstore.DB), cli}, nil
		},
	}
}
