package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	clientv3 "go.etcd.io/etcd/client/v3"

	"certmaker/storage"
)

// tNodes holds a key per serving node under the node's claims' lease:
// it goes when the node closes the store (its lease is revoked), or
// claimTTL after the node died. migrate --to bbolt refuses while any is
// there: a certificate a node acknowledged during the copy would be
// missing from the file.
const tNodes = "nodes/" // node id → storage.Node (JSON)

// Serving records n under this node's lease, until Close; should the
// lease be lost (the node stalled longer than claimTTL), again under the
// next one.
func (db *DB) Serving(n storage.Node) error {
	v, err := json.Marshal(n)
	if err != nil {
		return err
	}
	if err := db.putNode(n.ID, v); err != nil {
		return err
	}
	go db.keepServing(n.ID, v)
	return nil
}

// keepServing puts the node's key again each time its lease is lost,
// until the store is closed.
func (db *DB) keepServing(id string, v []byte) {
	for {
		db.lease.mu.Lock()
		alive := db.lease.alive
		db.lease.mu.Unlock()
		if alive == nil {
			alive = make(chan struct{})
			close(alive)
		}
		select {
		case <-db.life.Done():
			return
		case <-alive:
		}
		if db.life.Err() != nil {
			return // closing closes alive too: nothing to put again
		}
		for db.putNode(id, v) != nil {
			select {
			case <-db.life.Done():
				return
			case <-time.After(time.Second): // etcd does not answer: try again
			}
		}
	}
}

func (db *DB) putNode(id string, v []byte) error {
	for {
		lease, err := db.claimLease()
		if err != nil {
			return fmt.Errorf("recording this node as serving: %w", err)
		}
		err = db.noteWrite(db.do(func(ctx context.Context) error {
			_, err := db.cli.Put(ctx, db.key(tNodes, id), string(v), clientv3.WithLease(lease))
			return err
		}))
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			db.lease.lost(lease)
			continue
		}
		if err != nil {
			return fmt.Errorf("recording this node as serving: %w", err)
		}
		return nil
	}
}

// ServingNodes lists the nodes whose key is there now, by id.
func (db *DB) ServingNodes() ([]storage.Node, error) {
	var out []storage.Node
	err := db.view(func(t *tx) error {
		p := db.key(tNodes, "")
		return t.each(p, prefixEnd(p), func(k string, v []byte) error {
			var n storage.Node
			if err := json.Unmarshal(v, &n); err != nil {
				n = storage.Node{ID: k[len(p):]} // a newer node's record: its id still says who
			}
			out = append(out, n)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing the nodes serving %s: %w", db.where, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

var _ storage.Nodes = (*DB)(nil)
