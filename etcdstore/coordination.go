package etcdstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"certmaker/storage"
	"certmaker/storage/codec"
)

// What the nodes agree on besides records. A claim is a key created only
// if absent, under this node's lease: it ends when released, or when the
// lease runs out because the node died or stalled longer than claimTTL.
// A write made under a claim goes through its Fenced store, whose commits
// also compare the claim key's CreateRevision with the one this claim
// created: after the lease ran out (and perhaps another node claimed
// anew) the write fails with storage.ErrClaimLost. Used ACME nonces and
// dashboard sessions are keys with a lease that ends with them.

// claimTTL is the claims' lease: how long a dead node's claims hold up
// the others (a client retries), and how long a stall may last before a
// node's claims are lost.
const claimTTL = 15

// leases are this node's: one kept alive for its claims, and one for the
// used nonces of each minute in which their records may go.
type leases struct {
	mu     sync.Mutex
	claims clientv3.LeaseID
	alive  chan struct{} // closed when the claims' lease is no longer kept alive
	nonces minuteLeases
}

// claimLease is the lease the node's claims are under, granted anew when
// the last one was lost.
func (db *DB) claimLease() (clientv3.LeaseID, error) {
	l := &db.lease
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := db.life.Err(); err != nil {
		// Closing: a lease granted now would outlive Close's revoke.
		return 0, fmt.Errorf("granting the claims' lease: the store is closing: %w", err)
	}
	if l.claims != 0 {
		select {
		case <-l.alive:
		default:
			return l.claims, nil
		}
	}
	var id clientv3.LeaseID
	err := db.do(func(ctx context.Context) error {
		g, err := db.cli.Grant(ctx, claimTTL)
		if err == nil {
			id = g.ID
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("granting the claims' lease: %w", err)
	}
	kept, err := db.cli.KeepAlive(db.life, id)
	if err != nil {
		return 0, fmt.Errorf("keeping the claims' lease alive: %w", err)
	}
	alive := make(chan struct{})
	go func() {
		for range kept {
		}
		close(alive)
	}()
	l.claims, l.alive = id, alive
	return id, nil
}

// lost forgets a claims' lease etcd no longer has (it ran out while the
// node stalled), so that the next claim is under a new one.
func (l *leases) lost(id clientv3.LeaseID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.claims == id {
		l.claims, l.alive = 0, nil
	}
}

// revoke ends the claims' lease as the node closes, releasing its claims
// at once rather than after claimTTL.
func (l *leases) revoke(db *DB) {
	l.mu.Lock()
	id := l.claims
	l.mu.Unlock()
	if id != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), db.timeout)
		db.cli.Revoke(ctx, id)
		cancel()
	}
}

// fence is a claim that a Fenced store's commits check.
type fence struct {
	key string
	rev int64 // the claim key's CreateRevision
}

type claim struct {
	db   *DB
	f    fence
	once sync.Once
}

// Fenced checks this claim, and those of the store it was claimed
// through: a claim taken through another's Fenced store writes only
// while both hold.
func (c *claim) Fenced() storage.Store {
	return &DB{conn: c.db.conn, fences: append(slices.Clip(c.db.fences), c.f)}
}

func (c *claim) Release() {
	c.once.Do(func() {
		c.db.do(func(ctx context.Context) error {
			_, err := c.db.cli.Txn(ctx).
				If(clientv3.Compare(clientv3.CreateRevision(c.f.key), "=", c.f.rev)).
				Then(clientv3.OpDelete(c.f.key)).Commit()
			return err
		})
	})
}

// Claim takes name among every node of the cluster; with wait it waits
// for the claim to be released (or its holder's lease to run out).
func (db *DB) Claim(ctx context.Context, name string, wait bool) (storage.Claim, bool, error) {
	k := db.key(tClaims, name)
	for {
		lease, err := db.claimLease()
		if err != nil {
			return nil, false, err
		}
		var resp *clientv3.TxnResponse
		err = db.do(func(rctx context.Context) error {
			var err error
			resp, err = db.cli.Txn(rctx).
				If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
				Then(clientv3.OpPut(k, "", clientv3.WithLease(lease))).
				Commit()
			return err
		})
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			db.lease.lost(lease)
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("claiming %s: %w", name, err)
		}
		if resp.Succeeded {
			return &claim{db: db, f: fence{key: k, rev: resp.Header.Revision}}, true, nil
		}
		if !wait {
			return nil, false, nil
		}
		// Wait for the key to go, then try again (another waiter may be
		// quicker).
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		gone := db.cli.Watch(wctx, k, clientv3.WithRev(resp.Header.Revision+1), clientv3.WithFilterPut())
		select {
		case <-gone:
		case <-ctx.Done():
		}
		cancel()
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
	}
}

// Claimed reports whether any node holds name.
func (db *DB) Claimed(name string) (bool, error) {
	var n int64
	err := db.do(func(ctx context.Context) error {
		resp, err := db.cli.Get(ctx, db.key(tClaims, name), clientv3.WithCountOnly())
		if err == nil {
			n = resp.Count
		}
		return err
	})
	return n > 0, err
}

// WatchRoots calls changed after every change to the roots or the active
// issuer (this node's own too), and whenever the watch had to start over
// and may have missed one.
func (db *DB) WatchRoots(ctx context.Context, changed func()) {
	first := true
	go db.follow(ctx, []watched{db.table(tRoots), db.one(tMeta, kActiveRoot)},
		func(clientv3.WatchResponse) { changed() },
		func() {
			if !first {
				changed()
			}
			first = false
		}, nil)
}

// Shared is true: every node of the cluster serves the store.
func (db *DB) Shared() bool { return true }

// SpendNonce creates the nonce's key if it is absent, under the lease of
// the minute until falls in (minuteLeases), which ends a minute at most
// after until; ErrExists if it was there.
func (db *DB) SpendNonce(nonce []byte, until time.Time) error {
	k := db.key(tNonces, string(nonce))
	var ok bool
	var err error
	for attempt := 0; ; attempt++ {
		var lease clientv3.LeaseID
		if lease, err = db.minuteLease(&db.lease.nonces, until); err != nil {
			return fmt.Errorf("spending a nonce: %w", err)
		}
		err = db.do(func(ctx context.Context) error {
			resp, err := db.cli.Txn(ctx).
				If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
				Then(clientv3.OpPut(k, "", clientv3.WithLease(lease))).
				Commit()
			if err == nil {
				ok = resp.Succeeded
			}
			return err
		})
		if !errors.Is(err, rpctypes.ErrLeaseNotFound) || attempt > 0 {
			break
		}
		db.lease.nonces.forget(lease) // etcd lost it (a restore): take another
	}
	if err = db.noteWrite(err); err != nil {
		return fmt.Errorf("spending a nonce: %w", err)
	}
	if !ok {
		return fmt.Errorf("nonce: %w", storage.ErrExists)
	}
	return nil
}

func (db *DB) sessionKey(id []byte) string {
	h := sha256.Sum256(id)
	return db.key(tSessions, string(h[:]))
}

// PutSession stores a session under a lease that ends with it (shared by
// the sessions that end in the same minute), at most maxSessions
// (sessions.go); a session stored again keeps its lease.
func (db *DB) PutSession(id []byte, s storage.Session) error {
	v, err := codec.Encode(s)
	if err != nil {
		return err
	}
	k := db.sessionKey(id)
	var kept bool
	err = db.do(func(ctx context.Context) error {
		resp, err := db.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(k), ">", 0)).
			Then(clientv3.OpPut(k, string(v), clientv3.WithIgnoreLease())).
			Commit()
		if err == nil {
			kept = resp.Succeeded
		}
		return err
	})
	if err != nil || kept {
		return db.noteWrite(err)
	}
	if !time.Now().Before(s.Expires) {
		return nil // ended already
	}
	return db.putNewSession(id, v, s.Expires)
}

// Session reads a session; ErrNotFound once it ended.
func (db *DB) Session(id []byte) (storage.Session, error) {
	var s storage.Session
	err := db.view(func(t *tx) error {
		v, err := t.get(db.sessionKey(id))
		if err != nil {
			return err
		}
		if v == nil {
			return fmt.Errorf("session: %w", storage.ErrNotFound)
		}
		return codec.Decode(v, &s)
	})
	if err == nil && !time.Now().Before(s.Expires) {
		err = fmt.Errorf("session: %w", storage.ErrNotFound)
	}
	return s, err
}

// DeleteSession ends a session on every node.
func (db *DB) DeleteSession(id []byte) error { return db.deleteSession(id) }
