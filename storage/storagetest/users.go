package storagetest

import (
	"slices"
	"testing"

	"certmaker/storage"
)

func newUser(name string) storage.User {
	return storage.User{Name: name, Created: base, TokenHash: storage.HashToken("token of " + name)}
}

func testUsers(t *testing.T, h *harness) {
	s := h.store(t)
	alice := newUser("alice")
	alice.Admin = true
	must(t, "CreateUser", s.CreateUser(alice))
	for _, name := range []string{"carol", "bob"} {
		must(t, "CreateUser", s.CreateUser(newUser(name)))
	}
	got, err := s.User("alice")
	if err != nil || got.Name != "alice" || !got.Admin || got.Disabled || !got.Created.Equal(base) || string(got.TokenHash) != string(alice.TokenHash) {
		t.Errorf("User(alice) = %+v, %v", got, err)
	}
	_, err = s.User("Alice")
	wantErr(t, "User(Alice): names are case-sensitive", err, storage.ErrNotFound)
	_, err = s.User("nobody")
	wantErr(t, "User(nobody)", err, storage.ErrNotFound)

	dup := newUser("alice")
	dup.TokenHash = storage.HashToken("another")
	wantErr(t, "CreateUser of a taken name", s.CreateUser(dup), storage.ErrExists)
	thief := newUser("mallory")
	thief.TokenHash = alice.TokenHash
	wantErr(t, "CreateUser with a taken token hash", s.CreateUser(thief), storage.ErrExists)
	_, err = s.User("mallory")
	wantErr(t, "a refused CreateUser wrote the user", err, storage.ErrNotFound)

	byToken, err := s.UserByTokenHash(storage.HashToken("token of bob"))
	if err != nil || byToken.Name != "bob" {
		t.Errorf("UserByTokenHash(bob's) = %+v, %v", byToken, err)
	}
	_, err = s.UserByTokenHash(storage.HashToken("guess"))
	wantErr(t, "UserByTokenHash(unknown)", err, storage.ErrNotFound)

	users, err := s.Users()
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if err != nil || !slices.Equal(names, []string{"alice", "bob", "carol"}) {
		t.Errorf("Users = %v, %v; want every user by name", names, err)
	}
	if n, err := s.CountUsers(); err != nil || n != 3 {
		t.Errorf("CountUsers = %d, %v; want 3", n, err)
	}

	// A new token replaces the old one in the same commit.
	newHash := storage.HashToken("bob's new token")
	u, err := s.UpdateUser("bob", func(u *storage.User) error { u.TokenHash, u.Disabled = newHash, true; return nil })
	if err != nil || !u.Disabled || string(u.TokenHash) != string(newHash) {
		t.Errorf("UpdateUser = %+v, %v", u, err)
	}
	_, err = s.UserByTokenHash(storage.HashToken("token of bob"))
	wantErr(t, "bob's old token after UpdateUser", err, storage.ErrNotFound)
	if u, err := s.UserByTokenHash(newHash); err != nil || u.Name != "bob" || !u.Disabled {
		t.Errorf("bob's new token: %+v, %v", u, err)
	}
	// Taking another user's token, renaming, or a refusal writes nothing.
	_, err = s.UpdateUser("carol", func(u *storage.User) error { u.TokenHash = newHash; return nil })
	wantErr(t, "UpdateUser to bob's token", err, storage.ErrExists)
	if _, err := s.UpdateUser("carol", func(u *storage.User) error { u.Name = "dave"; return nil }); err == nil {
		t.Error("UpdateUser renamed a user")
	}
	_, err = s.UpdateUser("carol", func(u *storage.User) error { u.Admin = true; return errRefused })
	wantErr(t, "UpdateUser refused by fn", err, errRefused)
	if c, err := s.User("carol"); err != nil || c.Admin || string(c.TokenHash) != string(storage.HashToken("token of carol")) {
		t.Errorf("carol after refused updates: %+v, %v", c, err)
	}
	if u, err := s.UserByTokenHash(newHash); err != nil || u.Name != "bob" {
		t.Errorf("bob's token after carol's refused update: %+v, %v", u, err)
	}
	testUserPolicy(t, s)

	_, err = s.UpdateUser("nobody", func(*storage.User) error { return nil })
	wantErr(t, "UpdateUser(nobody)", err, storage.ErrNotFound)
	if err := s.Ping(); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if s.WritesFailing() {
		t.Error("WritesFailing after writes that succeeded")
	}
}

// testUserPolicy: a user's policy is part of the user, read by every way
// of reading a user (a token lookup too, however it is cached), changed by
// UpdateUser at once, and owned by whoever read it: changing what a read
// returned changes nothing stored.
func testUserPolicy(t *testing.T, s storage.Store) {
	t.Helper()
	dave := newUser("dave")
	dave.Policy = storage.Policy{Allow: []string{"nas.home.lan", "192.168.1.20"}, Deny: []string{".secret.home.lan"},
		MaxDays: 30, KeyTypes: []string{"ecdsa-p256"}, Challenge: "required"}
	must(t, "CreateUser with a policy", s.CreateUser(dave))
	want := dave.Policy.Clone()
	reads := map[string]func() (storage.User, error){
		"User":            func() (storage.User, error) { return s.User("dave") },
		"UserByTokenHash": func() (storage.User, error) { return s.UserByTokenHash(dave.TokenHash) },
		"Users": func() (storage.User, error) {
			users, err := s.Users()
			for _, u := range users {
				if u.Name == "dave" {
					return u, err
				}
			}
			return storage.User{}, err
		},
	}
	check := func(when string, want storage.Policy) {
		t.Helper()
		for _, how := range []string{"User", "UserByTokenHash", "UserByTokenHash", "Users"} {
			u, err := reads[how]()
			if err != nil || !samePolicy(u.Policy, want) {
				t.Errorf("%s: %s(dave).Policy = %+v, %v; want %+v", when, how, u.Policy, err, want)
				continue
			}
			// The reader owns what it got.
			if len(u.Policy.Allow) > 0 {
				u.Policy.Allow[0] = "vault.home.lan"
			}
			if len(u.Policy.KeyTypes) > 0 {
				u.Policy.KeyTypes[0] = "rsa-2048"
			}
		}
	}
	check("after CreateUser", want)
	want.Allow = []string{".lab.home.lan"}
	want.MaxDays, want.Challenge = 0, "optional"
	if _, err := s.UpdateUser("dave", func(u *storage.User) error { u.Policy = want.Clone(); return nil }); err != nil {
		t.Fatalf("UpdateUser(policy): %v", err)
	}
	check("after UpdateUser", want)
	if _, err := s.UpdateUser("dave", func(u *storage.User) error { u.Policy = storage.Policy{}; return nil }); err != nil {
		t.Fatalf("UpdateUser(no policy): %v", err)
	}
	check("after clearing", storage.Policy{})
}

func samePolicy(a, b storage.Policy) bool {
	return slices.Equal(a.Allow, b.Allow) && slices.Equal(a.Deny, b.Deny) && a.MaxDays == b.MaxDays &&
		slices.Equal(a.KeyTypes, b.KeyTypes) && a.Challenge == b.Challenge
}
