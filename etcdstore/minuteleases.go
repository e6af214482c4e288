package etcdstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// minuteLeases are leases a node shares among keys that may go in the
// same minute (dashboard sessions by their end, used ACME nonces by when
// they are too old to use): a lease each would cost etcd a lease per key
// to keep and expire, and one for all would keep them all until the last
// may go, and let them all go at once.
type minuteLeases struct {
	mu       sync.Mutex
	byMinute map[int64]clientv3.LeaseID // by the end of the minute, Unix seconds
}

// minuteLease is the lease in l of the keys that may go once t's minute is
// over: it lasts until then, and at most a second or two more (a lease
// counts from its grant, a little after it was asked for).
func (db *DB) minuteLease(l *minuteLeases, t time.Time) (clientv3.LeaseID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	over := t.Truncate(time.Minute).Add(time.Minute)
	now := time.Now()
	for m := range l.byMinute {
		if time.Unix(m, 0).Before(now) {
			delete(l.byMinute, m) // its lease ended with its minute
		}
	}
	if id, ok := l.byMinute[over.Unix()]; ok {
		return id, nil
	}
	var id clientv3.LeaseID
	err := db.do(func(ctx context.Context) error {
		g, err := db.cli.Grant(ctx, int64(max(time.Until(over), 0)/time.Second)+1)
		if err == nil {
			id = g.ID
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("granting a lease until %s: %w", over.Format(time.TimeOnly), err)
	}
	if l.byMinute == nil {
		l.byMinute = map[int64]clientv3.LeaseID{}
	}
	l.byMinute[over.Unix()] = id
	return id, nil
}

// forget drops a lease etcd no longer has (a restore): the next
// minuteLease of its minute grants another.
func (l *minuteLeases) forget(id clientv3.LeaseID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for m, v := range l.byMinute {
		if v == id {
			delete(l.byMinute, m)
		}
	}
}
