package etcdstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"certmaker/storage"
	"certmaker/storage/codec"
)

// Dashboard sessions are capped as bbolt caps them (storage.MaxSessions:
// at the cap, the session closest to its end goes), found through an
// index by end under the session's lease. Sessions that end in the same
// minute share one lease: a lease each would cost etcd a lease per
// sign-in to keep and expire. A session read after its own end is
// refused (Session), so a lease that outlives it by up to a minute
// changes nothing.
const tSessionEnds = "session-ends/" // end (8 bytes) SHA-256 of the id → ""

func (db *DB) sessionEndKey(id []byte, end time.Time) string {
	h := sha256.Sum256(id)
	return db.key(tSessionEnds, string(binary.BigEndian.AppendUint64(nil, nanos(end)))+string(h[:]))
}

// putNewSession stores a session that was not there, under the lease of
// the minute it ends, after making room at the cap.
func (db *DB) putNewSession(id, v []byte, end time.Time) error {
	if err := db.makeRoomForSession(); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		lease, err := db.minuteLease(&db.sessions, end)
		if err != nil {
			return err
		}
		err = db.noteWrite(db.do(func(ctx context.Context) error {
			_, err := db.cli.Txn(ctx).Then(
				clientv3.OpPut(db.sessionKey(id), string(v), clientv3.WithLease(lease)),
				clientv3.OpPut(db.sessionEndKey(id, end), "", clientv3.WithLease(lease)),
			).Commit()
			return err
		}))
		if errors.Is(err, rpctypes.ErrLeaseNotFound) && attempt == 0 {
			db.sessions.forget(lease) // etcd lost it (a restore): take another
			continue
		}
		return err
	}
}

// makeRoomForSession deletes the sessions closest to their end while the
// store holds maxSessions or more. Nodes signing people in at once may
// each see room for one more: the cap holds within a few.
func (db *DB) makeRoomForSession() error {
	var n int
	err := db.view(func(t *tx) error {
		p := db.key(tSessions, "")
		var err error
		n, err = t.count(p, prefixEnd(p))
		return err
	})
	if err != nil || n < db.maxSessions {
		return err
	}
	var ends []string
	err = db.view(func(t *tx) error {
		p := db.key(tSessionEnds, "")
		kvs, _, err := t.scan(p, prefixEnd(p), n-db.maxSessions+1)
		for _, kv := range kvs {
			ends = append(ends, string(kv.Key))
		}
		return err
	})
	if err != nil {
		return err
	}
	ops := make([]clientv3.Op, 0, 2*len(ends))
	for _, k := range ends {
		hash := k[len(db.key(tSessionEnds, ""))+8:]
		ops = append(ops, clientv3.OpDelete(k), clientv3.OpDelete(db.key(tSessions, hash)))
	}
	for len(ops) > 0 {
		chunk := ops[:min(len(ops), maxOps)]
		ops = ops[len(chunk):]
		if err := db.noteWrite(db.do(func(ctx context.Context) error {
			_, err := db.cli.Txn(ctx).Then(chunk...).Commit()
			return err
		})); err != nil {
			return fmt.Errorf("making room for a session: %w", err)
		}
	}
	return nil
}

// deleteSession deletes a session and its entry by end.
func (db *DB) deleteSession(id []byte) error {
	k := db.sessionKey(id)
	return db.noteWrite(db.do(func(ctx context.Context) error {
		resp, err := db.cli.Get(ctx, k)
		if err != nil || len(resp.Kvs) == 0 {
			return err
		}
		ops := []clientv3.Op{clientv3.OpDelete(k)}
		var s storage.Session
		if codec.Decode(resp.Kvs[0].Value, &s) == nil {
			ops = append(ops, clientv3.OpDelete(db.sessionEndKey(id, s.Expires)))
		}
		_, err = db.cli.Txn(ctx).Then(ops...).Commit()
		return err
	}))
}
