package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"certmaker/etcdstore"
	"certmaker/storage"
)

// A claim holds across nodes: while one node holds it the other cannot
// take it, a waiter on the other node gets it once it is released, and a
// node that closes releases its claims at once.
func TestClaim_AcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	ca, ok, err := a.Claim(ctx, "order/o1", false)
	if err != nil || !ok {
		t.Fatalf("claim on a: %v, %v", ok, err)
	}
	if _, ok, err := b.Claim(ctx, "order/o1", false); err != nil || ok {
		t.Fatalf("claim on b of a's: %v, %v", ok, err)
	}
	if held, err := b.Claimed("order/o1"); err != nil || !held {
		t.Fatalf("b sees a's claim: %v, %v", held, err)
	}
	got := make(chan storage.Claim, 1)
	go func() {
		c, ok, err := b.Claim(ctx, "order/o1", true)
		if err != nil || !ok {
			t.Errorf("waiting on b: %v, %v", ok, err)
		}
		got <- c
	}()
	ca.Release()
	cb := <-got
	if cb == nil {
		t.Fatal("no claim")
	}
	if _, ok, _ := a.Claim(ctx, "order/o1", false); ok {
		t.Fatal("a took b's claim")
	}

	// A node that closes lets its claims go.
	o := storeOptions(t)
	o.Prefix, o.KeyFile, o.Create = strings.TrimSuffix(a.Prefix(), "v1/"), a.KeyFile(), false
	c, err := etcdstore.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Claim(ctx, "challenge/x", false); err != nil || !ok {
		t.Fatalf("claim on c: %v, %v", ok, err)
	}
	c.Close()
	if _, ok, err := a.Claim(ctx, "challenge/x", false); err != nil || !ok {
		t.Fatalf("claim of a closed node's name: %v, %v", ok, err)
	}
}

// Jepsen's point about etcd's locks: a holder that stalls past its lease
// has lost the lock, and another may hold it. Its final write must fail
// and write nothing, since the write checks the claim in its commit.
func TestClaim_LostClaimFencesTheWrite(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	ca, ok, err := a.Claim(ctx, "challenge/ch1", false)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	// The stall: a's lease runs out (revoked here, rather than waited for).
	cli := rawClient(t)
	resp, err := cli.Get(ctx, a.Prefix()+"claims/challenge/ch1")
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 {
		t.Fatalf("the claim key: %v, %v", resp, err)
	}
	if _, err := cli.Revoke(ctx, clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	cb, ok, err := b.Claim(ctx, "challenge/ch1", false)
	if err != nil || !ok {
		t.Fatalf("b claims after a's lease ended: %v, %v", ok, err)
	}
	defer cb.Release()
	err = ca.Fenced().CreateUser(storage.User{Name: "late", TokenHash: storage.HashToken("late")})
	if !errors.Is(err, storage.ErrClaimLost) {
		t.Fatalf("a's write after its claim was lost: %v, want ErrClaimLost", err)
	}
	if _, err := b.User("late"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the lost claim's write is stored: %v", err)
	}
	if err := cb.Fenced().CreateUser(storage.User{Name: "holder", TokenHash: storage.HashToken("holder")}); err != nil {
		t.Fatalf("the holder's write: %v", err)
	}
	// a's node goes on claiming under a new lease.
	if _, ok, err := a.Claim(ctx, "challenge/other", false); err != nil || !ok {
		t.Fatalf("a claims anew: %v, %v", ok, err)
	}
}

// A claim taken through another's Fenced store (a finalize's claim on
// the certificate cap, within its order's) writes only while both hold:
// losing either one fences the write.
func TestClaim_WithinAnotherFencedByBoth(t *testing.T) {
	db := openStore(t)
	ctx := context.Background()
	cli := rawClient(t)
	for i, lose := range []string{"order/o1", "unbound-certificates"} {
		outer, ok, err := db.Claim(ctx, "order/o1", false)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		inner, ok, err := outer.Fenced().Claim(ctx, "unbound-certificates", true)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		held := storage.User{Name: fmt.Sprintf("held%d", i), TokenHash: storage.HashToken(fmt.Sprintf("held%d", i))}
		if err := inner.Fenced().CreateUser(held); err != nil {
			t.Fatalf("a write while both claims hold: %v", err)
		}
		// The claim is lost as a stalled node loses it: its key is gone.
		if _, err := cli.Delete(ctx, db.Prefix()+"claims/"+lose); err != nil {
			t.Fatal(err)
		}
		late := storage.User{Name: fmt.Sprintf("late%d", i), TokenHash: storage.HashToken(fmt.Sprintf("late%d", i))}
		if err := inner.Fenced().CreateUser(late); !errors.Is(err, storage.ErrClaimLost) {
			t.Errorf("a write after %s was lost: %v, want ErrClaimLost", lose, err)
		}
		if _, err := db.User(late.Name); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the write after %s was lost is stored: %v", lose, err)
		}
		inner.Release()
		outer.Release()
	}
}

// A user disabled, or given a new token, through one node is refused by
// the other within a second, although it just let the token in from its
// cache; with the watch ignored (the negative control's setting), the
// other node goes on letting it in.
func TestTokenCache_AcrossNodes(t *testing.T) {
	for _, stale := range []bool{false, true} {
		name := "watched"
		if stale {
			name = "ignored"
		}
		t.Run(name, func(t *testing.T) {
			a := openStore(t)
			o := storeOptions(t)
			o.Prefix, o.KeyFile, o.Create = strings.TrimSuffix(a.Prefix(), "v1/"), a.KeyFile(), false
			o.UnsafeStaleTokens = stale
			b, err := etcdstore.Open(o)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			h := storage.HashToken("alice-token")
			if err := a.CreateUser(storage.User{Name: "alice", TokenHash: h}); err != nil {
				t.Fatal(err)
			}
			// b has the user cached and its watch vouching for it.
			deadline := time.Now().Add(30 * time.Second)
			for !b.TokenCached(h) {
				if _, err := b.UserByTokenHash(h); err != nil {
					t.Fatal(err)
				}
				if time.Now().After(deadline) {
					t.Fatal("b never cached the user")
				}
			}
			disabled := time.Now()
			if _, err := a.UpdateUser("alice", func(u *storage.User) error { u.Disabled = true; return nil }); err != nil {
				t.Fatal(err)
			}
			for {
				u, err := b.UserByTokenHash(h)
				if err != nil {
					t.Fatal(err)
				}
				if u.Disabled {
					if stale {
						t.Fatalf("b saw the disable with the watch ignored: the control proves nothing")
					}
					t.Logf("b refused the disabled user after %v", time.Since(disabled))
					break
				}
				if time.Since(disabled) > time.Second {
					if stale {
						t.Logf("with the watch ignored, b still lets the disabled user in after %v", time.Since(disabled))
						return
					}
					t.Fatalf("b still lets the disabled user in after %v", time.Since(disabled))
				}
			}
			// A new token: the old one is refused on b.
			h2 := storage.HashToken("alice-token-2")
			if _, err := a.UpdateUser("alice", func(u *storage.User) error { u.Disabled, u.TokenHash = false, h2; return nil }); err != nil {
				t.Fatal(err)
			}
			retoken := time.Now()
			for {
				_, err := b.UserByTokenHash(h)
				if errors.Is(err, storage.ErrNotFound) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if time.Since(retoken) > time.Second {
					t.Fatalf("b still takes the replaced token after %v", time.Since(retoken))
				}
			}
			if u, err := b.UserByTokenHash(h2); err != nil || u.Name != "alice" || u.Disabled {
				t.Fatalf("the new token on b: %+v, %v", u, err)
			}
		})
	}
}

// A nonce used through one node is refused by the other; sessions and
// changes to the roots are seen by every node.
func TestSharedState_AcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	n := []byte("nonce-0123456789")
	if err := a.SpendNonce(n, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := b.SpendNonce(n, time.Now().Add(time.Minute)); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("the nonce spent on a, on b: %v", err)
	}

	id := []byte("session id")
	s := storage.Session{User: "alice", CSRF: "c", Expires: time.Now().Add(time.Hour).UTC()}
	if err := a.PutSession(id, s); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Session(id); err != nil || got.User != "alice" {
		t.Fatalf("a's session on b: %+v, %v", got, err)
	}
	if err := b.DeleteSession(id); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(id); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a session ended on b, on a: %v", err)
	}

	changed := make(chan struct{}, 1)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	b.WatchRoots(ctx, func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	for i := 0; ; i++ {
		if err := a.PutRoot(storage.Root{Fingerprint: "r" + string(rune('a'+i%26)), CertDER: []byte("der")}, true); err != nil {
			t.Fatal(err)
		}
		select {
		case <-changed:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if i == 300 {
			t.Fatal("b never heard of a's roots")
		}
	}
}
