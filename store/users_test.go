package store_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"certmaker/store"
)

func mustCreateUser(t *testing.T, db *store.DB, name, token string) store.User {
	t.Helper()
	u := store.User{Name: name, Created: time.Now().UTC(), TokenHash: store.HashToken(token)}
	if err := db.CreateUser(u); err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

func assertUserEqual(t *testing.T, got, want store.User) {
	t.Helper()
	if got.Name != want.Name || got.Admin != want.Admin || got.Disabled != want.Disabled ||
		!got.Created.Equal(want.Created) || !bytes.Equal(got.TokenHash, want.TokenHash) {
		t.Errorf("user = %+v, want %+v", got, want)
	}
}

func TestHashToken(t *testing.T) {
	a, b := store.HashToken("token-a"), store.HashToken("token-b")
	if len(a) != 32 {
		t.Errorf("len(HashToken) = %d, want 32 (SHA-256)", len(a))
	}
	if !bytes.Equal(a, store.HashToken("token-a")) {
		t.Error("HashToken is not deterministic")
	}
	if bytes.Equal(a, b) {
		t.Error("different tokens hash alike")
	}
	if bytes.Contains(a, []byte("token-a")) {
		t.Error("hash contains the token")
	}
}

func TestDB_User(t *testing.T) {
	t.Run("CreateAndRead", func(t *testing.T) {
		db := mustOpen(t)
		want := store.User{Name: "alice", Admin: true, Created: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC), TokenHash: store.HashToken("tok-alice")}
		if err := db.CreateUser(want); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		got, err := db.User("alice")
		if err != nil {
			t.Fatalf("User: %v", err)
		}
		assertUserEqual(t, got, want)
		got, err = db.UserByTokenHash(store.HashToken("tok-alice"))
		if err != nil {
			t.Fatalf("UserByTokenHash: %v", err)
		}
		assertUserEqual(t, got, want)

		db = reopen(t, db)
		got, err = db.UserByTokenHash(store.HashToken("tok-alice"))
		if err != nil {
			t.Fatalf("after reopen, UserByTokenHash: %v", err)
		}
		assertUserEqual(t, got, want)
	})

	t.Run("Exists", func(t *testing.T) {
		db := mustOpen(t)
		first := mustCreateUser(t, db, "alice", "tok-1")
		err := db.CreateUser(store.User{Name: "alice", Admin: true, TokenHash: store.HashToken("tok-2")})
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate CreateUser: err = %v, want ErrExists", err)
		}
		got, err := db.User("alice")
		if err != nil {
			t.Fatal(err)
		}
		assertUserEqual(t, got, first)
		if _, err := db.UserByTokenHash(store.HashToken("tok-2")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused user's token: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("TokenHashTaken", func(t *testing.T) {
		// One token hash must name one user: a second user with the same
		// hash would take over the first one's logins.
		db := mustOpen(t)
		alice := mustCreateUser(t, db, "alice", "shared")
		err := db.CreateUser(store.User{Name: "mallory", TokenHash: store.HashToken("shared")})
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("CreateUser with a taken token hash: err = %v, want ErrExists", err)
		}
		if _, err := db.User("mallory"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused user was stored: err = %v", err)
		}
		mustCreateUser(t, db, "bob", "tok-bob")
		_, err = db.UpdateUser("bob", func(u *store.User) error {
			u.TokenHash = store.HashToken("shared")
			return nil
		})
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("UpdateUser to a taken token hash: err = %v, want ErrExists", err)
		}
		got, err := db.UserByTokenHash(store.HashToken("shared"))
		if err != nil {
			t.Fatal(err)
		}
		assertUserEqual(t, got, alice)
		if got, err := db.UserByTokenHash(store.HashToken("tok-bob")); err != nil || got.Name != "bob" {
			t.Errorf("bob's own token: %q, %v", got.Name, err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		db := mustOpen(t)
		mustCreateUser(t, db, "alice", "tok-alice")
		if _, err := db.User("bob"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("User(bob): err = %v, want ErrNotFound", err)
		}
		if _, err := db.User("al"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("User(al): err = %v, want ErrNotFound", err)
		}
		for _, h := range [][]byte{store.HashToken("tok-bob"), store.HashToken(""), nil, {}} {
			if _, err := db.UserByTokenHash(h); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("UserByTokenHash(%x): err = %v, want ErrNotFound", h, err)
			}
		}
		if _, err := db.UpdateUser("bob", func(*store.User) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateUser(bob): err = %v, want ErrNotFound", err)
		}
	})

	t.Run("Users", func(t *testing.T) {
		db := mustOpen(t)
		if us, err := db.Users(); err != nil || len(us) != 0 {
			t.Fatalf("Users on an empty file = %v, %v", us, err)
		}
		if n, err := db.CountUsers(); err != nil || n != 0 {
			t.Fatalf("CountUsers on an empty file = %d, %v", n, err)
		}
		for _, name := range []string{"carol", "alice", "bob", "al", "Zed"} {
			mustCreateUser(t, db, name, "tok-"+name)
		}
		want := []string{"Zed", "al", "alice", "bob", "carol"} // byte order
		for round := range 2 {
			if round == 1 {
				db = reopen(t, db)
			}
			us, err := db.Users()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, u := range us {
				names = append(names, u.Name)
			}
			if len(names) != len(want) {
				t.Fatalf("Users = %q, want %q", names, want)
			}
			for i := range want {
				if names[i] != want[i] {
					t.Fatalf("Users = %q, want %q", names, want)
				}
			}
			if n, err := db.CountUsers(); err != nil || n != len(want) {
				t.Errorf("CountUsers = %d, %v; want %d", n, err, len(want))
			}
		}
	})
}

func TestDB_UpdateUser(t *testing.T) {
	t.Run("Disable", func(t *testing.T) {
		db := mustOpen(t)
		want := mustCreateUser(t, db, "alice", "tok")
		got, err := db.UpdateUser("alice", func(u *store.User) error {
			u.Disabled = true
			return nil
		})
		if err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		want.Disabled = true
		assertUserEqual(t, got, want)
		db = reopen(t, db)
		got, err = db.UserByTokenHash(store.HashToken("tok"))
		if err != nil {
			t.Fatal(err)
		}
		assertUserEqual(t, got, want)
	})

	t.Run("NewToken", func(t *testing.T) {
		db := mustOpen(t)
		mustCreateUser(t, db, "alice", "old")
		mustCreateUser(t, db, "bob", "tok-bob")
		if _, err := db.UpdateUser("alice", func(u *store.User) error {
			u.TokenHash = store.HashToken("new")
			return nil
		}); err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		for round := range 2 {
			if round == 1 {
				db = reopen(t, db)
			}
			if _, err := db.UserByTokenHash(store.HashToken("old")); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("old token: err = %v, want ErrNotFound", err)
			}
			if got, err := db.UserByTokenHash(store.HashToken("new")); err != nil || got.Name != "alice" {
				t.Errorf("new token: %q, %v; want alice", got.Name, err)
			}
			if got, err := db.UserByTokenHash(store.HashToken("tok-bob")); err != nil || got.Name != "bob" {
				t.Errorf("another user's token: %q, %v; want bob", got.Name, err)
			}
		}
	})

	t.Run("InPlaceTokenEdit", func(t *testing.T) {
		// fn may overwrite the hash's bytes instead of replacing the slice;
		// the old entry must still go.
		db := mustOpen(t)
		mustCreateUser(t, db, "alice", "old")
		if _, err := db.UpdateUser("alice", func(u *store.User) error {
			copy(u.TokenHash, store.HashToken("new"))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UserByTokenHash(store.HashToken("old")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old token: err = %v, want ErrNotFound", err)
		}
		if got, err := db.UserByTokenHash(store.HashToken("new")); err != nil || got.Name != "alice" {
			t.Errorf("new token: %q, %v; want alice", got.Name, err)
		}
	})

	t.Run("CallbackError", func(t *testing.T) {
		db := mustOpen(t)
		want := mustCreateUser(t, db, "alice", "old")
		boom := errors.New("boom")
		_, err := db.UpdateUser("alice", func(u *store.User) error {
			u.Disabled = true
			u.Admin = true
			u.TokenHash = store.HashToken("new")
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the callback's error", err)
		}
		got, err := db.User("alice")
		if err != nil {
			t.Fatal(err)
		}
		assertUserEqual(t, got, want)
		if got, err := db.UserByTokenHash(store.HashToken("old")); err != nil || got.Name != "alice" {
			t.Errorf("old token after failed update: %q, %v", got.Name, err)
		}
		if _, err := db.UserByTokenHash(store.HashToken("new")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("new token after failed update: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("Rename", func(t *testing.T) {
		db := mustOpen(t)
		want := mustCreateUser(t, db, "alice", "tok")
		if _, err := db.UpdateUser("alice", func(u *store.User) error {
			u.Name = "bob"
			return nil
		}); err == nil {
			t.Fatal("rename succeeded")
		}
		got, err := db.User("alice")
		if err != nil {
			t.Fatal(err)
		}
		assertUserEqual(t, got, want)
		if _, err := db.User("bob"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("User(bob) after refused rename: err = %v", err)
		}
	})
}

func TestDB_User_Copied(t *testing.T) {
	db := mustOpen(t)
	u := mustCreateUser(t, db, "alice", "tok")
	want := u
	want.TokenHash = bytes.Clone(u.TokenHash)
	u.TokenHash[0] ^= 0xff // the caller's slice is not kept

	got, err := db.User("alice")
	if err != nil {
		t.Fatal(err)
	}
	assertUserEqual(t, got, want)
	for i := range got.TokenHash {
		got.TokenHash[i] = 0
	}
	byTok, err := db.UserByTokenHash(want.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	assertUserEqual(t, byTok, want)
	byTok.TokenHash[0] ^= 0xff
	us, err := db.Users()
	if err != nil || len(us) != 1 {
		t.Fatalf("Users = %v, %v", us, err)
	}
	assertUserEqual(t, us[0], want)
	us[0].TokenHash[0] ^= 0xff
	got, err = db.User("alice")
	if err != nil {
		t.Fatal(err)
	}
	assertUserEqual(t, got, want)
}

// TestDB_UserByTokenHash_Cached: token lookups are remembered, yet every
// change to a user shows in the very next lookup after UpdateUser returns,
// even while other lookups race with the change and would remember what
// they read before it committed.
func TestDB_UserByTokenHash_Cached(t *testing.T) {
	db := mustOpen(t)
	mustCreateUser(t, db, "alice", "token-a")
	h := store.HashToken("token-a")

	got, err := db.UserByTokenHash(h)
	if err != nil {
		t.Fatal(err)
	}
	got.TokenHash[0] ^= 0xff // the caller's copy, not the cache's
	if again, err := db.UserByTokenHash(h); err != nil || !bytes.Equal(again.TokenHash, h) {
		t.Fatalf("second lookup: %v, token hash %x, want %x", err, again.TokenHash, h)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				db.UserByTokenHash(h)
			}
		})
	}
	for i := range 200 {
		disabled := i%2 == 0
		if _, err := db.UpdateUser("alice", func(u *store.User) error { u.Disabled = disabled; return nil }); err != nil {
			t.Fatal(err)
		}
		u, err := db.UserByTokenHash(h)
		if err != nil {
			t.Fatal(err)
		}
		if u.Disabled != disabled {
			close(stop)
			wg.Wait()
			t.Fatalf("round %d: lookup after UpdateUser says disabled=%v, want %v", i, u.Disabled, disabled)
		}
	}
	close(stop)
	wg.Wait()

	// A new token replaces the old one at once.
	h2 := store.HashToken("token-b")
	if _, err := db.UpdateUser("alice", func(u *store.User) error { u.TokenHash = h2; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UserByTokenHash(h); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old token after replacement: %v, want ErrNotFound", err)
	}
	if u, err := db.UserByTokenHash(h2); err != nil || u.Name != "alice" {
		t.Errorf("new token: %+v, %v", u, err)
	}
}
