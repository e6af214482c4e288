package etcd

import (
	"bytes"
	"context"
	bin "encoding/binary"
	"fmt"
	"math/big"
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

// TestConformance_Broken: the suite must catch the slip, where it looks,
// and nowhere else.
func TestConformance_Broken(t *testing.T) {
	storagetest.MustCatch(t, storagetest.Backend{New: brokenPlace(func(db *etcdstore.DB, cli *clientv3.Client) storagetest.Store {
		return brokenDB{db, cli}
	}), Reruns: true}, []string{"Indexes", "Concurrent"}, []string{"Users", "Roots", "ACMEOrders"})
}

// brokenPlace is etcdPlace with its store wrapped in a broken one.
func brokenPlace(wrap func(*etcdstore.DB, *clientv3.Client) storagetest.Store) func(t *testing.T) storagetest.Place {
	return func(t *testing.T) storagetest.Place {
		place := etcdPlace(t)
		cli := rawClient(t)
		return storagetest.Place{
			Open: func(keyFile string) (storagetest.Store, error) {
				s, err := place.Open(keyFile)
				if err != nil {
					return nil, err
				}
				return wrap(s.(*etcdstore.DB), cli), nil
			},
		}
	}
}

// uncountedDB is the etcd store with one step of PutACMECertificate
// undone: the key that counts a certificate of an account without a
// binding is deleted behind the store's back, so that the cap of such
// certificates would never be reached.
type uncountedDB struct {
	*etcdstore.DB
	cli *clientv3.Client
}

func (b uncountedDB) PutACMECertificate(orderID string, c *storage.Certificate, fn func(*storage.ACMEOrder) error) (storage.ACMEOrder, error) {
	o, err := b.DB.PutACMECertificate(orderID, c, fn)
	if err != nil {
		return o, err
	}
	_, err = b.cli.Delete(context.Background(), b.Prefix()+"acme/unbound-certs/"+string(c.Serial.Bytes()))
	return o, err
}

// TestConformance_BrokenACME: the suite catches an uncounted certificate
// of an account without a binding in the part that counts them, and
// nowhere else.
func TestConformance_BrokenACME(t *testing.T) {
	storagetest.MustCatch(t, storagetest.Backend{New: brokenPlace(func(db *etcdstore.DB, cli *clientv3.Client) storagetest.Store {
		return uncountedDB{db, cli}
	}), Reruns: true}, []string{"ACMEUnbound"}, []string{"ACMEAccounts", "ACMEOrders", "ACMESweep", "Indexes"})
}
