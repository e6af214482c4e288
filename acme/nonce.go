package acme

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"sync"
	"time"

	"certmaker/storage"
)

// Nonces (RFC 8555 6.5) without a write per request.
//
// A nonce is instance (8 bytes) + counter (8 bytes, big-endian) + the first
// 16 bytes of their HMAC-SHA256 under the database's nonce key. The
// instance is random per process start; the counter counts the nonces this
// process handed out.
//
// Why this is as sound as recording every used nonce in the file:
//
//   - Across restarts: a nonce whose instance is not this process's is
//     refused, so nothing handed out before a restart works after it, used
//     or not, and no record of use has to survive. Clients that hold one
//     get badNonce with a fresh nonce in the same response and retry, as
//     RFC 8555 6.5 asks of them. Two processes cannot serve one file at
//     once (bbolt locks it), and 64 random bits do not repeat.
//   - Within a process: only the latest nonceWindow counters are accepted,
//     and one bit per counter in that window says whether it was used. A
//     counter is accepted once (test-and-set under a lock); it leaves the
//     window before its bit is reused for a newer counter, and from then on
//     it is refused as too old. So the memory is fixed (nonceWindow bits)
//     whatever anyone sends, and nothing is written to the file.
//   - Forgery: the MAC makes a nonce one this server handed out; nobody can
//     spend (and so spoil) a counter they were not given. A counter not
//     handed out yet is refused even with a valid MAC.
//
// Because spending a nonce costs a bit in memory, the order of checks in
// verify (JWS form, url, key, signature, then nonce) and in the handlers
// (binding, onlyReturnExisting) no longer decides what unauthenticated
// traffic costs: a request refused for a missing binding writes nothing.
//
// Several nodes on one store (etcd): a client's next request may reach
// another node than the one that handed out its nonce, so every node must
// take every node's nonces, and each only once. There the nonce is random
// (8 bytes) + when it was handed out (8 bytes, Unix nanoseconds) + the
// same MAC under the store's nonce key, which every node has; a node takes
// one that is at most sharedNonceTTL old and records its use in the store
// (core.SpendACMENonce: a key created only if absent, under a lease of the
// minute its record may go), so a nonce is accepted once across the
// cluster. That costs a write per signed request, and a key for up to 13
// minutes. So that no traffic can grow the store without bound:
//
//   - A node hands out at most sharedPerMinute such nonces a minute; past
//     that, until the minute ends, it hands out nonces of its own, of the
//     form above (a tag byte first, and its instance), kept in its memory
//     window: taken once by this node, refused by the others with a fresh
//     nonce (badNonce), which a client retries with. A nonce is spent at
//     most once, so the store holds at most sharedPerMinute used nonces
//     per node for each minute of their life, whoever sends what.
//   - A request is refused before its nonce is spent when its refusal
//     needs no write and is final: whenever it is sent again, it gets the
//     same refusal and changes nothing (Server.postRefusing). Then not
//     spending cannot open a replay: a replayed copy is refused alike.
//     Spending must come first for anything that acts, and for anything
//     whose answer may change: onlyReturnExisting for a key without an
//     account, say, once its holder made one, would tell whoever replays
//     the lookup the account's URL and contacts. A nonce sent in a
//     request refused this way stays unspent (a later request of the
//     same key may use it): RFC 8555 6.5 asks that a nonce never be
//     accepted twice, and none of these requests was accepted.

// nonceWindow is how many of the latest nonces stay usable: a client
// would have to hold a nonce while a million others were handed out to see
// badNonce for it. 128 KiB of bits.
const nonceWindow = 1 << 20

const (
	nonceIDLen  = 8 + 8
	nonceMACLen = 16
)

// sharedNonceTTL is how long a nonce of a shared store stays usable, and
// nonceSkew how far the nodes' clocks may be apart.
const (
	sharedNonceTTL = 10 * time.Minute
	nonceSkew      = time.Minute
)

// localTag starts the id of a nonce a node of a shared store keeps to
// itself (past its minute's share); its length tells it apart too.
const localTag = 'l'

// nonces hands out and checks nonces; see the comment above.
type nonces struct {
	key      []byte
	instance [8]byte
	// spend records a nonce's use in a shared store; nil keeps it here.
	spend func(nonce []byte, until time.Time) error
	now   func() time.Time
	// sharedPerMinute bounds the shared nonces handed out per minute.
	sharedPerMinute int

	mu     sync.Mutex
	issued uint64   // nonces handed out: the counter of the next one
	window uint64   // nonceWindow; smaller in tests
	used   []uint64 // bit c%window: counter c was used
	// minute and shared: the shared nonces handed out in that minute.
	minute int64
	shared int
}

func newNonces(key []byte, window uint64) *nonces {
	n := &nonces{key: key, window: window, used: make([]uint64, (window+63)/64)}
	rand.Read(n.instance[:]) // never fails (crypto/rand panics instead)
	return n
}

// newSharedNonces are the nonces of a store several nodes serve: spend
// records a use in the store, now is the clock, perMinute the shared
// nonces handed out per minute (then this node's own, in a window).
func newSharedNonces(key []byte, spend func([]byte, time.Time) error, now func() time.Time, perMinute int, window uint64) *nonces {
	n := newNonces(key, window)
	n.spend, n.now, n.sharedPerMinute = spend, now, perMinute
	return n
}

// takeShared counts one more shared nonce of this minute, if it may.
func (n *nonces) takeShared(now time.Time) bool {
	m := now.Unix() / 60
	n.mu.Lock()
	defer n.mu.Unlock()
	if m != n.minute {
		n.minute, n.shared = m, 0
	}
	if n.shared >= n.sharedPerMinute {
		return false
	}
	n.shared++
	return true
}

func (n *nonces) mac(id []byte) []byte {
	m := hmac.New(sha256.New, n.key)
	m.Write(id)
	return m.Sum(nil)[:nonceMACLen]
}

// next returns a fresh nonce.
func (n *nonces) next() string { return n.fresh(false) }

// forAccount returns a fresh nonce for the answer to a request an
// account's key signed: on a cluster always a shared one, whatever this
// minute's budget, which anyone can use up with HEAD newNonce. Else a
// client behind a balancer that spreads its requests would meet badNonce
// on every node but the one that handed out its node-only nonce. Accounts
// are bounded, and each of their requests spends a nonce anyway.
func (n *nonces) forAccount() string { return n.fresh(true) }

func (n *nonces) fresh(account bool) string {
	if n.spend != nil {
		if now := n.now(); account || n.takeShared(now) {
			b := make([]byte, nonceIDLen, nonceIDLen+nonceMACLen)
			rand.Read(b[:8])
			binary.BigEndian.PutUint64(b[8:], uint64(now.UnixNano()))
			return base64.RawURLEncoding.EncodeToString(append(b, n.mac(b)...))
		}
	}
	n.mu.Lock()
	c := n.issued
	n.issued++
	// The slot now belongs to c; its last owner, c-window, is out of the
	// window already.
	slot := c % n.window
	n.used[slot/64] &^= 1 << (slot % 64)
	n.mu.Unlock()

	b := make([]byte, 0, 1+nonceIDLen+nonceMACLen)
	if n.spend != nil {
		b = append(b, localTag)
	}
	b = append(b, n.instance[:]...)
	b = binary.BigEndian.AppendUint64(b, c)
	return base64.RawURLEncoding.EncodeToString(append(b, n.mac(b)...))
}

// use accepts a nonce this server handed out and not used before, and
// marks it used: one of the store's (shared) or one of this process's,
// among the latest window.
func (n *nonces) use(s string) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	idLen := len(b) - nonceMACLen
	if err != nil || idLen < nonceIDLen || !hmac.Equal(b[idLen:], n.mac(b[:idLen])) {
		return newProblem(probBadNonce, http.StatusBadRequest, "nonce %.60q was not issued by this server", s)
	}
	id, before := b[:idLen], "before the server restarted"
	switch {
	case n.spend != nil && idLen == nonceIDLen:
		return n.useShared(id)
	case n.spend != nil && idLen == nonceIDLen+1 && id[0] == localTag:
		id, before = id[1:], "by another node of this CA, or before this one restarted"
	case n.spend != nil || idLen != nonceIDLen:
		return newProblem(probBadNonce, http.StatusBadRequest, "nonce was not issued by this server")
	}
	if [8]byte(id[:8]) != n.instance {
		return newProblem(probBadNonce, http.StatusBadRequest, "nonce was issued %s; use the one in this response", before)
	}
	c := binary.BigEndian.Uint64(id[8:])
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case c >= n.issued:
		// Only a process with the same instance could have made it.
		return newProblem(probBadNonce, http.StatusBadRequest, "nonce was not issued by this server")
	case n.issued-c > n.window:
		return newProblem(probBadNonce, http.StatusBadRequest, "nonce has expired; use the one in this response")
	}
	slot := c % n.window
	word, bit := &n.used[slot/64], uint64(1)<<(slot%64)
	if *word&bit != 0 {
		return newProblem(probBadNonce, http.StatusBadRequest, "nonce has been used before; use the one in this response")
	}
	*word |= bit
	return nil
}

// useShared takes a nonce of a shared store (its MAC checked): young
// enough, and used nowhere before.
func (n *nonces) useShared(id []byte) error {
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(id[8:])))
	age := n.now().Sub(issued)
	switch {
	case age < -nonceSkew:
		return newProblem(probBadNonce, http.StatusBadRequest, "nonce was not issued by this server")
	case age > sharedNonceTTL:
		return newProblem(probBadNonce, http.StatusBadRequest, "nonce has expired; use the one in this response")
	}
	err := n.spend(id, issued.Add(sharedNonceTTL+nonceSkew))
	if errors.Is(err, storage.ErrExists) {
		return newProblem(probBadNonce, http.StatusBadRequest, "nonce has been used before; use the one in this response")
	}
	return err
}
