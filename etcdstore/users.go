package etcdstore

import (
	"fmt"

	"certmaker/storage"
	"certmaker/storage/codec"
)

// CreateUser stores a new user and its token hash; ErrExists if either is
// taken.
func (db *DB) CreateUser(u storage.User) error {
	v, err := codec.Encode(u)
	if err != nil {
		return err
	}
	_, err = db.update(func(t *tx) error {
		uk := db.key(tUsers, u.Name)
		old, err := t.get(uk)
		if err != nil {
			return err
		}
		if old != nil {
			return fmt.Errorf("user %q: %w", u.Name, storage.ErrExists)
		}
		if err := t.tokenFree(u.TokenHash, u.Name); err != nil {
			return err
		}
		t.put(uk, v)
		t.put(db.key(tTokens, string(u.TokenHash)), []byte(u.Name))
		return nil
	})
	return err
}

// tokenFree refuses a token hash that names another user.
func (t *tx) tokenFree(h []byte, name string) error {
	if len(h) == 0 {
		return fmt.Errorf("user %q: token hash is empty", name)
	}
	owner, err := t.get(t.db.key(tTokens, string(h)))
	if err != nil {
		return err
	}
	if owner != nil && string(owner) != name {
		return fmt.Errorf("user %q: token hash: %w", name, storage.ErrExists)
	}
	return nil
}

// User reads one user by name.
func (db *DB) User(name string) (storage.User, error) {
	var u storage.User
	err := db.view(func(t *tx) error { return t.user(name, &u) })
	return u, err
}

func (t *tx) user(name string, u *storage.User) error {
	v, err := t.get(t.db.key(tUsers, name))
	if err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("user %q: %w", name, storage.ErrNotFound)
	}
	return codec.Decode(v, u)
}

// UserByTokenHash finds the user whose token hashes to h: from the token
// cache while its watch vouches for it (tokencache.go), else with two
// reads at one revision, linearizable, so a token replaced or a user
// disabled through any node is refused here within a second.
func (db *DB) UserByTokenHash(h []byte) (storage.User, error) {
	if u, ok := db.tokens.get(h); ok {
		return u, nil
	}
	gen := db.tokens.generation()
	var u storage.User
	var rec []byte
	err := db.view(func(t *tx) error {
		name, err := t.get(db.key(tTokens, string(h)))
		if err != nil {
			return err
		}
		if name == nil {
			return fmt.Errorf("token: %w", storage.ErrNotFound)
		}
		if rec, err = t.get(db.key(tUsers, string(name))); err != nil {
			return err
		}
		if rec == nil {
			return fmt.Errorf("user %q of a token: %w", name, storage.ErrNotFound)
		}
		return codec.Decode(rec, &u)
	})
	if err == nil {
		db.tokens.put(h, rec, gen)
	}
	return u, err
}

// Users lists every user by name.
func (db *DB) Users() ([]storage.User, error) {
	var out []storage.User
	err := db.view(func(t *tx) error {
		p := db.key(tUsers, "")
		return t.each(p, prefixEnd(p), func(_ string, v []byte) error {
			var u storage.User
			if err := codec.Decode(v, &u); err != nil {
				return err
			}
			out = append(out, u)
			return nil
		})
	})
	return out, err
}

// UpdateUser changes a user in one transaction; a new token hash replaces
// the old one's entry in the same commit. This node's token cache forgets
// every user before it returns; the others' hear of it by their watch.
func (db *DB) UpdateUser(name string, fn func(*storage.User) error) (storage.User, error) {
	var u storage.User
	defer db.tokens.drop(false)
	_, err := db.update(func(t *tx) error {
		u = storage.User{}
		if err := t.user(name, &u); err != nil {
			return err
		}
		old, moved, err := storage.EditUser(name, &u, fn)
		if err != nil {
			return err
		}
		v, err := codec.Encode(u)
		if err != nil {
			return err
		}
		t.put(db.key(tUsers, name), v)
		if moved {
			if err := t.tokenFree(u.TokenHash, name); err != nil {
				return err
			}
			t.del(db.key(tTokens, string(old)))
			t.put(db.key(tTokens, string(u.TokenHash)), []byte(name))
		}
		return nil
	})
	return u, err
}

// CountUsers counts the users (etcd counts the keys).
func (db *DB) CountUsers() (int, error) {
	var n int
	err := db.view(func(t *tx) error {
		p := db.key(tUsers, "")
		var err error
		n, err = t.count(p, prefixEnd(p))
		return err
	})
	return n, err
}
