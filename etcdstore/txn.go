package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"certmaker/storage"
)

// maxOps is etcd's default limit (--max-txn-ops) on the writes of one
// transaction, and on its compares: certmaker splits its writes to fit
// it. A cluster may raise the limit (certmaker still uses 128). An
// operator may also lower it, and then etcd refuses every transaction of
// certmaker's over the new limit (a certificate of many names, an ACME
// order of many identifiers, a full page of a batched job): those writes
// fail with etcd's "too many operations in txn request" until it is 128
// again. docs/cluster.md says to leave it at 128 or more.
const maxOps = 128

// maxAttempts bounds how often a transaction that lost a race runs again.
// Races are on one record (two solves of one challenge, two updates of one
// order), never on a counter, so a few rounds settle them.
const maxAttempts = 32

// errConflict is a transaction that lost its race maxAttempts times.
var errConflict = errors.New("etcd: too many conflicting writes, giving up")

// tx is one optimistic transaction: reads at one revision, remembering
// what each key's ModRevision was (0: absent), and writes buffered until
// commit compares them all.
type tx struct {
	db    *DB
	rev   int64
	reads map[string]int64
	ops   []clientv3.Op
	at    map[string]int // key → its op, so a key is written once
}

func (db *DB) newTx() *tx {
	return &tx{db: db, reads: map[string]int64{}, at: map[string]int{}}
}

// get reads one key at the transaction's revision; nil if absent, not
// nil if present (an index entry is present and empty).
func (t *tx) get(key string) ([]byte, error) {
	vs, err := t.getAll([]string{key})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// getAll reads keys at the transaction's revision, maxOps per request;
// nil for each absent one.
func (t *tx) getAll(keys []string) ([][]byte, error) {
	out := make([][]byte, 0, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), maxOps)
		ops := make([]clientv3.Op, n)
		for i, k := range keys[:n] {
			ops[i] = clientv3.OpGet(k, t.atRev()...)
		}
		var resp *clientv3.TxnResponse
		err := t.db.do(func(ctx context.Context) error {
			var err error
			resp, err = t.db.cli.Txn(ctx).Then(ops...).Commit()
			return err
		})
		if err != nil {
			return nil, err
		}
		if t.rev == 0 {
			t.rev = resp.Header.Revision
		}
		for i, r := range resp.Responses {
			kvs := r.GetResponseRange().Kvs
			if len(kvs) == 0 {
				t.reads[keys[i]] = 0
				out = append(out, nil)
				continue
			}
			t.reads[keys[i]] = kvs[0].ModRevision
			v := kvs[0].Value
			if v == nil {
				v = []byte{} // present, and empty (an index entry)
			}
			out = append(out, v)
		}
		keys = keys[n:]
	}
	return out, nil
}

func (t *tx) atRev() []clientv3.OpOption {
	if t.rev == 0 {
		return nil
	}
	return []clientv3.OpOption{clientv3.WithRev(t.rev)}
}

// scan reads up to limit keys of [from, end) in key order at the
// transaction's revision. The keys are not compared at commit: a scan
// finds candidates, and a transaction that writes one reads it with get.
func (t *tx) scan(from, end string, limit int) ([]*mvccpb.KeyValue, bool, error) {
	opts := append(t.atRev(), clientv3.WithRange(end), clientv3.WithLimit(int64(limit)))
	var resp *clientv3.GetResponse
	err := t.db.do(func(ctx context.Context) error {
		var err error
		resp, err = t.db.cli.Get(ctx, from, opts...)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	return resp.Kvs, resp.More, nil
}

// count counts the keys of [from, end) at the transaction's revision:
// etcd counts them in its index, sending none.
func (t *tx) count(from, end string) (int, error) {
	opts := append(t.atRev(), clientv3.WithRange(end), clientv3.WithCountOnly())
	var resp *clientv3.GetResponse
	err := t.db.do(func(ctx context.Context) error {
		var err error
		resp, err = t.db.cli.Get(ctx, from, opts...)
		return err
	})
	if err != nil {
		return 0, err
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	return int(resp.Count), nil
}

func (t *tx) put(key string, v []byte) { t.write(key, clientv3.OpPut(key, string(v))) }
func (t *tx) del(key string)           { t.write(key, clientv3.OpDelete(key)) }

// delPrefix deletes every key that starts with p, in one op.
func (t *tx) delPrefix(p string) {
	t.write("\x00range\x00"+p, clientv3.OpDelete(p, clientv3.WithRange(prefixEnd(p))))
}

// peek reads key as t would leave it, its own writes included, without
// comparing it at commit: for a job that is the only writer (an import).
func (t *tx) peek(key string) ([]byte, error) {
	if i, ok := t.at[key]; ok {
		op := t.ops[i]
		if !op.IsPut() {
			return nil, nil
		}
		if v := op.ValueBytes(); v != nil {
			return v, nil
		}
		return []byte{}, nil
	}
	kvs, _, err := t.scan(key, key+"\x00", 1)
	if err != nil || len(kvs) == 0 {
		return nil, err
	}
	if kvs[0].Value == nil {
		return []byte{}, nil
	}
	return kvs[0].Value, nil
}

func (t *tx) write(key string, op clientv3.Op) {
	if i, ok := t.at[key]; ok {
		t.ops[i] = op
		return
	}
	t.at[key] = len(t.ops)
	t.ops = append(t.ops, op)
}

// commit writes the buffered ops if no key read has changed; ok is false
// when one has (the transaction lost a race and must run again). On a
// claim's Fenced store it also checks the claims: storage.ErrClaimLost if
// one of them ended.
func (t *tx) commit() (rev int64, ok bool, err error) {
	fences := t.db.fences
	n := len(t.reads) + len(fences)
	if n > maxOps || len(t.ops) > maxOps {
		return 0, false, fmt.Errorf("etcd transaction of %d reads and %d writes is over etcd's %d", n, len(t.ops), maxOps)
	}
	cmps := make([]clientv3.Cmp, 0, n)
	for k, mod := range t.reads {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", mod))
	}
	orElse := make([]clientv3.Op, 0, len(fences))
	for _, f := range fences {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(f.key), "=", f.rev))
		orElse = append(orElse, clientv3.OpGet(f.key))
	}
	var resp *clientv3.TxnResponse
	err = t.db.do(func(ctx context.Context) error {
		var err error
		resp, err = t.db.cli.Txn(ctx).If(cmps...).Then(t.ops...).Else(orElse...).Commit()
		return err
	})
	if err != nil {
		return 0, false, err
	}
	if !resp.Succeeded {
		for i, f := range fences {
			if kvs := resp.Responses[i].GetResponseRange().Kvs; len(kvs) == 0 || kvs[0].CreateRevision != f.rev {
				return 0, false, fmt.Errorf("%s: %w", strings.TrimPrefix(f.key, t.db.key(tClaims, "")), storage.ErrClaimLost)
			}
		}
	}
	return resp.Header.Revision, resp.Succeeded, nil
}

// update runs fn in a transaction and commits what it wrote, running it
// again on fresh reads while the commit loses races. An error from fn
// commits nothing. It returns the revision of the commit (of the reads,
// when fn wrote nothing).
func (db *DB) update(fn func(*tx) error) (int64, error) {
	for attempt := 0; ; attempt++ {
		t := db.newTx()
		if err := fn(t); err != nil {
			return 0, err
		}
		if len(t.ops) == 0 {
			return t.rev, nil
		}
		rev, ok, err := t.commit()
		if err != nil {
			return 0, db.noteWrite(err)
		}
		if ok {
			db.noteWrite(nil)
			return rev, nil
		}
		db.retries.Add(1)
		if attempt+1 == maxAttempts {
			return 0, errConflict
		}
		// Jitter keeps two nodes that raced from racing again in step.
		time.Sleep(time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 6))))
	}
}

// view runs fn on reads at one revision.
func (db *DB) view(fn func(*tx) error) error {
	return fn(db.newTx())
}

// do runs one request with the request timeout and turns etcd's errors
// into storage's: a cluster that does not answer is ErrUnavailable, and a
// full one ErrFull. (The core logs an episode of either once.)
func (db *DB) do(fn func(ctx context.Context) error) error {
	return db.doWithin(db.timeout, fn)
}

// doWithin is do with another timeout.
func (db *DB) doWithin(timeout time.Duration, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := fn(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rpctypes.ErrNoSpace):
		return fmt.Errorf("%w: %s is over its space quota (etcd alarm NOSPACE: compact, defragment, raise --quota-backend-bytes, then disarm the alarm): %w", storage.ErrFull, db.where, err)
	case unavailable(err) || ctx.Err() != nil:
		// Also any error once our deadline has passed: the member may
		// see it first and answer "context deadline exceeded" with
		// code Unknown, which would otherwise be a 500.
		return fmt.Errorf("%w: %s: %w", storage.ErrUnavailable, db.where, err)
	}
	return fmt.Errorf("%s: %w", db.where, err)
}

// unavailable recognizes a cluster that cannot answer now: no leader, a
// timeout, no member reachable.
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, clientv3.ErrNoAvailableEndpoints) {
		return true
	}
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		switch ee.Code() {
		case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.Canceled:
			// Canceled from the server: a proposal dropped as its member
			// lost the leader (etcdserver: request cancelled).
			return true
		case codes.ResourceExhausted:
			return !errors.Is(err, rpctypes.ErrNoSpace) // too many requests
		}
		return false
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Unavailable, codes.DeadlineExceeded:
			return true
		}
	}
	return false
}

// noteWrite records whether a commit failed for lack of space.
func (db *DB) noteWrite(err error) error {
	switch {
	case err == nil:
		db.full.Store(false)
	case errors.Is(err, storage.ErrFull):
		db.full.Store(true)
	}
	return err
}
