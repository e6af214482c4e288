package ocsp

import (
	"crypto"
	"sync"
	"time"
)

// cacheKey names one cached response. The hash algorithm is part of it
// because the response echoes the request's CertID, hashes included.
type cacheKey struct {
	issuer string // root fingerprint
	serial string
	hash   crypto.Hash
}

func newCacheKey(k *issuerKey, req request) cacheKey {
	// The DER contents when the parser kept them (two's complement, so a
	// negative serial never shares a key with its absolute value), else the
	// number in hex; the prefixes keep the two forms apart.
	if req.serialDER != nil {
		return cacheKey{issuer: k.fingerprint, serial: "d" + string(req.serialDER), hash: req.hash}
	}
	return cacheKey{issuer: k.fingerprint, serial: "x" + req.serial.Text(16), hash: req.hash}
}

// entry is a signed response and the answer it was signed for.
type entry struct {
	answer     answer
	der        []byte
	etag       string
	thisUpdate time.Time
	nextUpdate time.Time

	// headers are made on first use; see (*entry).header.
	headersOnce sync.Once
	headers     *entryHeaders
}

// flight is a signature under way, so that a burst of requests for a
// certificate not yet cached waits for one signature instead of making many.
type flight struct {
	answer answer
	done   chan struct{}
	entry  *entry
	err    error
}

// cache holds signed responses, bounded by max entries and maxBytes of
// estimated memory. Reads take only the read lock; a miss takes the write
// lock to join or start a flight.
type cache struct {
	max      int
	maxBytes int
	validity time.Duration

	mu      sync.RWMutex
	entries map[cacheKey]*entry
	flights map[cacheKey]*flight
	bytes   int // sum of entryCost over entries
}

func newCache(max, maxBytes int, validity time.Duration) *cache {
	return &cache{
		max:      max,
		maxBytes: maxBytes,
		validity: validity,
		entries:  make(map[cacheKey]*entry),
		flights:  make(map[cacheKey]*flight),
	}
}

// entryOverhead is what an entry holds besides its response, ETag and key
// serial: the entry and its map slot, and the header values ServeHTTP makes
// for it. TestCache_CostCoversHeap holds it to the heap it really takes.
const entryOverhead = 1024

// entryCost estimates the memory e takes in the cache under key.
func entryCost(key cacheKey, e *entry) int {
	return entryOverhead + len(e.der) + len(e.etag) + len(key.serial)
}

// fresh reports whether e may be served for answer a at now: it must say the
// same thing, and be less than half its validity old, so that clients and
// HTTP caches always get a response with a good part of its life left.
func (c *cache) fresh(e *entry, a answer, now time.Time) bool {
	return e != nil && e.answer == a &&
		!now.Before(e.thisUpdate) && now.Before(e.thisUpdate.Add(c.validity/2))
}

// get returns the response for key saying a, signing it with sign when the
// cached one is missing, stale or says something else (a revocation).
func (c *cache) get(key cacheKey, a answer, now time.Time, sign func() (*entry, error)) (*entry, error) {
	c.mu.RLock()
	e := c.entries[key]
	c.mu.RUnlock()
	if c.fresh(e, a, now) {
		return e, nil
	}

	c.mu.Lock()
	if e := c.entries[key]; c.fresh(e, a, now) {
		c.mu.Unlock()
		return e, nil
	}
	// Join a flight only if it signs the same answer: a request that saw
	// a revocation must not be handed the good response signed before it.
	if f := c.flights[key]; f != nil && f.answer == a {
		c.mu.Unlock()
		<-f.done
		return f.entry, f.err
	}
	f := &flight{answer: a, done: make(chan struct{})}
	c.flights[key] = f
	c.mu.Unlock()

	f.entry, f.err = sign()

	c.mu.Lock()
	// A flight replaced by one for a newer answer must not store its
	// response over that one's.
	if c.flights[key] == f {
		delete(c.flights, key)
		if f.err == nil {
			c.put(key, f.entry)
		}
	}
	c.mu.Unlock()
	close(f.done)
	return f.entry, f.err
}

// put stores e; c.mu must be held. When full it evicts arbitrary entries:
// map iteration starts at a random place, which makes a cheap random
// eviction, and a response evicted costs only one signature to make again.
func (c *cache) put(key cacheKey, e *entry) {
	cost := entryCost(key, e)
	if cost > c.maxBytes {
		return
	}
	if old, ok := c.entries[key]; ok {
		c.bytes -= entryCost(key, old)
		delete(c.entries, key)
	}
	for k, old := range c.entries {
		if len(c.entries) < c.max && c.bytes+cost <= c.maxBytes {
			break
		}
		c.bytes -= entryCost(k, old)
		delete(c.entries, k)
	}
	c.entries[key] = e
	c.bytes += cost
}

// last returns the response cached under key while it is valid (between
// its thisUpdate and nextUpdate), whatever it says: what a responder that
// cannot read the status now may still answer.
func (c *cache) last(key cacheKey, now time.Time) *entry {
	c.mu.RLock()
	e := c.entries[key]
	c.mu.RUnlock()
	if e == nil || now.Before(e.thisUpdate) || !now.Before(e.nextUpdate) {
		return nil
	}
	return e
}

// len is the number of cached responses.
func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// size is the estimated memory the cached responses take.
func (c *cache) size() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.bytes
}
