package etcd

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"certmaker/etcdstore"
	"certmaker/storage"
)

// Dashboard sessions on etcd are capped as bbolt caps them: at the cap,
// a new session makes the one closest to its end go. Sessions that end in
// the same minute share one lease, not one each.
func TestSessions_CappedAndSharingLeases(t *testing.T) {
	o := storeOptions(t)
	o.MaxSessions = 5
	db, err := etcdstore.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := time.Now().Add(time.Hour).Truncate(time.Minute).Add(time.Second)
	id := func(i int) []byte { return fmt.Appendf(nil, "session-%d", i) }
	for i := range 8 {
		s := storage.Session{User: "alice", CSRF: "c", Expires: base.Add(time.Duration(i) * time.Second).UTC()}
		if err := db.PutSession(id(i), s); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 8 {
		_, err := db.Session(id(i))
		if gone := errors.Is(err, storage.ErrNotFound); gone != (i < 3) || (err != nil && !gone) {
			t.Fatalf("session %d: %v (the 3 closest to their end must go)", i, err)
		}
	}
	resp, err := rawClient(t).Get(context.Background(), db.Prefix()+"sessions/", clientv3.WithPrefix())
	if err != nil || len(resp.Kvs) != 5 {
		t.Fatalf("%d session keys, %v; want 5", len(resp.Kvs), err)
	}
	leases := map[int64]bool{}
	for _, kv := range resp.Kvs {
		leases[kv.Lease] = true
	}
	if len(leases) != 1 || leases[0] {
		t.Fatalf("5 sessions ending within one minute have leases %v, want one shared", leases)
	}
	// A session ended is gone with what indexes it; the next one fits.
	must(t, db.DeleteSession(id(7)))
	must(t, db.PutSession(id(8), storage.Session{User: "bob", Expires: base.Add(time.Minute).UTC()}))
	for _, i := range []int{3, 4, 5, 6, 8} {
		if _, err := db.Session(id(i)); err != nil {
			t.Fatalf("session %d after a sign-out and a sign-in: %v", i, err)
		}
	}
}
