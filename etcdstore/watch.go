package etcdstore

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"
)

// watched is a range of keys a node watches: a table, or one key.
type watched struct{ from, end string }

func (db *DB) table(t string) watched { p := db.key(t, ""); return watched{p, prefixEnd(p)} }
func (db *DB) one(t, id string) watched {
	k := db.key(t, id)
	return watched{k, k + "\x00"}
}

// follow watches spans from now on until ctx ends, and hands fn every
// event. A watch that ends (the cluster compacted past it, lost its
// leader, or cannot be reached) is started again from the current
// revision; fn may have missed events in between, so reset is called
// before each start, the first included. With proven, it asks for a
// progress notification every progressEvery, one at a time, and calls
// proven with the time each answered request was sent: every change
// committed before then has been delivered. A request unanswered for
// freshFor starts the watch over.
func (db *DB) follow(ctx context.Context, spans []watched, fn func(clientv3.WatchResponse), reset func(), proven func(sent time.Time)) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		asOf := time.Now()
		rev, err := db.revision()
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		reset()
		db.watchFrom(ctx, rev, asOf, spans, fn, proven)
	}
}

// watchFrom watches spans from rev+1, the cluster's revision at asOf,
// until a watch ends or ctx does. Once every watch is in place, what was
// committed before asOf needs no delivery (a read now sees it): proven
// hears asOf.
func (db *DB) watchFrom(ctx context.Context, rev int64, asOf time.Time, spans []watched, fn func(clientv3.WatchResponse), proven func(time.Time)) {
	// Without a leader a member cannot say what is committed: the watch
	// ends, rather than going quiet. Its own stream (the client shares
	// one per metadata) keeps its progress requests from waiting on
	// other watches.
	wctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(clientv3.WithRequireLeader(ctx), "certmaker-watch", spans[0].from))
	defer cancel()
	resps := make(chan clientv3.WatchResponse)
	for _, s := range spans {
		ch := db.cli.Watch(wctx, s.from, clientv3.WithRange(s.end), clientv3.WithRev(rev+1), clientv3.WithCreatedNotify())
		go func() {
			defer cancel() // one watch ending ends them all
			for r := range ch {
				select {
				case resps <- r:
				case <-wctx.Done():
					return
				}
			}
		}()
	}
	var tick <-chan time.Time
	if proven != nil {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		tick = t.C
	}
	created := 0
	var sent time.Time // the request not answered yet
	for {
		select {
		case <-wctx.Done():
			return
		case <-tick:
			switch {
			case created < len(spans):
				// Not on the stream yet: a request would go nowhere.
			case sent.IsZero():
				sent = time.Now()
				// On the watches' own stream (their context's metadata),
				// whose every watch gets the notification. Not from this
				// loop: the request waits for the stream, which may be
				// waiting for this loop to take a response.
				go db.cli.RequestProgress(wctx)
			case time.Since(sent) > freshFor:
				return
			}
		case r := <-resps:
			switch {
			case r.Err() != nil || r.Canceled:
				return
			case r.Created:
				if created++; created == len(spans) && proven != nil {
					proven(asOf)
				}
			case r.IsProgressNotify():
				if !sent.IsZero() && proven != nil {
					proven(sent)
					sent = time.Time{}
				}
			default:
				fn(r)
			}
		}
	}
}

// progressEvery is how often a watch that must prove it is up to date
// asks for a progress notification.
const progressEvery = 200 * time.Millisecond

// revision is the cluster's current revision (a linearizable read).
func (db *DB) revision() (int64, error) {
	var rev int64
	err := db.do(func(ctx context.Context) error {
		resp, err := db.cli.Get(ctx, db.key(tMeta, kSchema), clientv3.WithCountOnly())
		if err == nil {
			rev = resp.Header.Revision
		}
		return err
	})
	return rev, err
}
