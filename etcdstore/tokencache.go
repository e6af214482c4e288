package etcdstore

import (
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"certmaker/storage"
	"certmaker/storage/codec"
)

// Every API request finds its user by token hash. A node keeps the users
// it found, as the file does, and a watch on the users table keeps them
// right: every change to a user or a token rewrites the user's record
// (UpdateUser, CreateUser), and any change drops every user kept. A kept
// user is only handed out while the watch has proven, within the last
// freshFor, that it delivered every change: a watch that fell behind,
// lost its leader or cannot reach the cluster stops the cache at once,
// and a user disabled or given a new token on another node is refused
// here within freshFor, whatever happens to the watch.

// freshFor is how long a progress notification vouches for the cache.
const freshFor = time.Second

type tokenCache struct {
	mu    sync.Mutex
	users map[string][]byte // token hash → the user's record as stored
	gen   uint64            // moves with every drop
	// fresh is when the progress request was sent whose answer last
	// proved that every change had been delivered.
	fresh time.Time
	// ignoreWatch: Options.UnsafeStaleTokens (a negative control).
	ignoreWatch bool
}

// get returns a kept user while the watch vouches for it.
func (c *tokenCache) get(h []byte) (storage.User, bool) {
	c.mu.Lock()
	v, ok := c.users[string(h)]
	ok = ok && time.Since(c.fresh) < freshFor
	c.mu.Unlock()
	var u storage.User
	if !ok || codec.Decode(v, &u) != nil {
		return storage.User{}, false
	}
	return u, true
}

// generation is taken before a read, so that put can tell whether a drop
// came in between (the read may predate the change that caused it).
func (c *tokenCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps a user read since gen, unless something was dropped since.
func (c *tokenCache) put(h, v []byte, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.users == nil {
		c.users = make(map[string][]byte)
	}
	c.users[string(h)] = v
}

// drop forgets every user, and, with stale, that the watch was fresh:
// the watch starts over and must prove itself again.
func (c *tokenCache) drop(stale bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users = nil
	c.gen++
	if stale {
		c.fresh = time.Time{}
	}
}

// saw takes the events of the watch.
func (c *tokenCache) saw(clientv3.WatchResponse) {
	c.mu.Lock()
	ignore := c.ignoreWatch
	c.mu.Unlock()
	if !ignore {
		c.drop(false)
	}
}

// proven takes the time of a progress request the watch answered.
func (c *tokenCache) proven(sent time.Time) {
	c.mu.Lock()
	c.fresh = sent
	c.mu.Unlock()
}

// followUsers keeps the token cache right until the store closes, and
// hears of another node's rekey (its new check value) at once, so that a
// node without the new key says so before a write finds it out.
func (db *DB) followUsers() {
	check := db.key(tMeta, kSealCheck)
	db.follow(db.life, []watched{db.table(tUsers), db.one(tMeta, kSealCheck)},
		func(r clientv3.WatchResponse) {
			for _, ev := range r.Events {
				if string(ev.Kv.Key) == check {
					db.catchUp(ev.Kv.Value)
					continue
				}
				db.tokens.saw(r)
				return
			}
		},
		func() { db.tokens.drop(true) }, db.tokens.proven)
}

// TokenCached reports whether UserByTokenHash would answer h from the
// cache now: what a test needs to know that a refusal came from the
// watch, not from a cache that was never used.
func (db *DB) TokenCached(h []byte) bool {
	_, ok := db.tokens.get(h)
	return ok
}
