package store

import (
	"certmaker/storage"
	"certmaker/storage/codec"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// CreateUser adds a user and its token hash; ErrExists if the name is taken.
func (db *DB) CreateUser(u User) error {
	v, err := codec.Encode(u)
	if err != nil {
		return err
	}
	defer db.tokens.invalidate()
	return db.update(func(tx *bolt.Tx) error {
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
	err := db.view(func(tx *bolt.Tx) error {
		return getUser(tx, name, &u)
	})
	return u, err
}

func getUser(tx *bolt.Tx, name string, u *User) error {
	v := tx.Bucket(bucketUsers).Get([]byte(name))
	if v == nil {
		return fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return codec.Decode(v, u)
}

// UserByTokenHash finds the user whose token hashes to h. The lookup is by
// hash, so the time it takes says nothing about the token itself. Every
// API request asks, so known tokens are remembered (tokenCache).
func (db *DB) UserByTokenHash(h []byte) (User, error) {
	if u, ok := db.tokens.get(h); ok {
		return u, nil
	}
	gen := db.tokens.generation()
	var u User
	err := db.view(func(tx *bolt.Tx) error {
		name := tx.Bucket(bucketTokens).Get(h)
		if name == nil {
			return fmt.Errorf("token: %w", ErrNotFound)
		}
		return getUser(tx, string(name), &u)
	})
	if err == nil {
		db.tokens.put(h, u, gen)
	}
	return u, err
}

// maxCachedTokens bounds the token cache; past it the cache starts over.
const maxCachedTokens = 1024

// tokenCache remembers the users of known token hashes. Every write to a
// user goes through this package and forgets the whole cache once it has
// committed, so a disabled user or a replaced token stops working at the
// same moment as without the cache. A lookup that read the file before
// such a write committed may finish after it: the generation it started in
// no longer matches, so it is not remembered. Unknown tokens are never
// remembered, so a client guessing tokens cannot fill the cache.
type tokenCache struct {
	mu     sync.Mutex
	gen    uint64
	byHash map[string]User
}

func (c *tokenCache) get(h []byte) (User, bool) {
	c.mu.Lock()
	u, ok := c.byHash[string(h)]
	c.mu.Unlock()
	return u.Clone(), ok // callers own what they get
}

func (c *tokenCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *tokenCache) put(h []byte, u User, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.byHash == nil || len(c.byHash) >= maxCachedTokens {
		c.byHash = make(map[string]User)
	}
	c.byHash[string(h)] = u.Clone()
}

func (c *tokenCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.byHash = nil
}

// Users lists every user, sorted by name.
func (db *DB) Users() ([]User, error) {
	var out []User
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
			var u User
			if err := codec.Decode(v, &u); err != nil {
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
	defer db.tokens.invalidate()
	var u User
	err := db.update(func(tx *bolt.Tx) error {
		if err := getUser(tx, name, &u); err != nil {
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
		if err := tx.Bucket(bucketUsers).Put([]byte(name), v); err != nil {
			return err
		}
		if moved {
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
	err := db.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketUsers).Stats().KeyN
		return nil
	})
	return n, err
}
