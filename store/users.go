package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// CreateUser adds a user and its token hash; ErrExists if the name is taken.
func (db *DB) CreateUser(u User) error {
	v, err := encode(u)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		users := tx.Bucket(bucketUsers)
		if users.Get([]byte(u.Name)) != nil {
			return fmt.Errorf("user %q: %w", u.Name, ErrExists)
		}
		tokens := tx.Bucket(bucketTokens)
		if err := checkTokenFree(tokens, u.TokenHash, u.Name); err != nil {
			return err
		}
		if err := users.Put([]byte(u.Name), v); err != nil {
			return err
		}
		return tokens.Put(u.TokenHash, []byte(u.Name))
	})
}

// checkTokenFree refuses a token hash that already names another user:
// putting it would silently hand that user's logins to this one.
func checkTokenFree(tokens *bolt.Bucket, h []byte, name string) error {
	if len(h) == 0 {
		return fmt.Errorf("user %q: token hash is empty", name)
	}
	if owner := tokens.Get(h); owner != nil && string(owner) != name {
		return fmt.Errorf("user %q: token hash: %w", name, ErrExists)
	}
	return nil
}

// User reads one user by name.
func (db *DB) User(name string) (User, error) {
	var u User
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return getUser(tx, name, &u)
	})
	return u, err
}

func getUser(tx *bolt.Tx, name string, u *User) error {
	v := tx.Bucket(bucketUsers).Get([]byte(name))
	if v == nil {
		return fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return decode(v, u)
}

// UserByTokenHash finds the user whose token hashes to h. The lookup is by
// hash, so the time it takes says nothing about the token itself.
func (db *DB) UserByTokenHash(h []byte) (User, error) {
	var u User
	err := db.bolt.View(func(tx *bolt.Tx) error {
		name := tx.Bucket(bucketTokens).Get(h)
		if name == nil {
			return fmt.Errorf("token: %w", ErrNotFound)
		}
		return getUser(tx, string(name), &u)
	})
	return u, err
}

// Users lists every user, sorted by name.
func (db *DB) Users() ([]User, error) {
	var out []User
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
			var u User
			if err := decode(v, &u); err != nil {
				return err
			}
			out = append(out, u)
			return nil
		})
	})
	return out, err
}

// UpdateUser changes a user inside one transaction: fn sees the current
// record and edits it. A changed TokenHash replaces the old token's entry,
// so the old token stops working in the same commit.
func (db *DB) UpdateUser(name string, fn func(*User) error) (User, error) {
	var u User
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if err := getUser(tx, name, &u); err != nil {
			return err
		}
		old := bytes.Clone(u.TokenHash)
		if err := fn(&u); err != nil {
			return err
		}
		if u.Name != name {
			return fmt.Errorf("renaming users is not supported")
		}
		v, err := encode(u)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketUsers).Put([]byte(name), v); err != nil {
			return err
		}
		if !bytes.Equal(old, u.TokenHash) {
			tokens := tx.Bucket(bucketTokens)
			if err := checkTokenFree(tokens, u.TokenHash, name); err != nil {
				return err
			}
			if err := tokens.Delete(old); err != nil {
				return err
			}
			return tokens.Put(u.TokenHash, []byte(name))
		}
		return nil
	})
	return u, err
}

// CountUsers is the number of users.
func (db *DB) CountUsers() (int, error) {
	var n int
	err := db.bolt.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketUsers).Stats().KeyN
		return nil
	})
	return n, err
}
