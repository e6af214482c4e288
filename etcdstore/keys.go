package etcdstore

import (
	"encoding/binary"
	"math/big"
	"time"

	"certmaker/storage"
)

// Every key is the store's prefix (Options.Prefix plus "v1/", the layout's
// version) followed by a table and the record's identity. Binary parts
// (serials, times) are raw bytes: etcd keys are byte strings.
const (
	tMeta       = "meta/"       // schema, seal_check, active_root, nonce_key
	tUsers      = "users/"      // user name → User
	tTokens     = "tokens/"     // token hash → user name
	tRoots      = "roots/"      // fingerprint → Root
	tCRLNumber  = "crlnum/"     // root → "": its ModRevision is the root's last CRL number
	tCRLBase    = "crlbase/"    // root → 8 bytes added to that (a migrated store's last number)
	tCerts      = "certs/"      // serial → Certificate
	tPending    = "pending/"    // serial → "": a certificate whose name entries are being written
	tChallenges = "challenges/" // id → Challenge
	tAnnounced  = "announced/"  // notifier's key → announcement

	// Certificate indexes (storage/list.go says what each means). A scope
	// is "" or an owner, followed by a 0 byte. Listings newest first are
	// keyed by an inverted time so that they, too, are ascending ranges:
	// etcd applies a range's limit before sorting only in key order.
	tOwnerCerts  = "ix/owner/"        // owner 0 newest → ""
	tByCreated   = "ix/created/"      // newest → ""
	tByExpiry    = "ix/expiry/"       // not-after serial → "" (unrevoked)
	tOwnerExpiry = "ix/owner-expiry/" // owner 0 not-after serial → "" (unrevoked)
	tByRevoked   = "ix/revoked/"      // scope 0 newest → ""
	tByName      = "ix/name/"         // scope 0 name 0xff newest → "" (name: see nameKey)
	tCRL         = "ix/crl/"          // root 0 not-after serial → Revocation

	// ACME.
	tAccounts      = "acme/accounts/"       // id → ACMEAccount
	tAccountKeys   = "acme/account-keys/"   // JWK thumbprint → account id
	tAccountEAB    = "acme/account-eab/"    // EAB key id 0 account id → ""
	tOrders        = "acme/orders/"         // id → ACMEOrder
	tAccountOrders = "acme/account-orders/" // account id 0 order id → ""
	tAuthzs        = "acme/authzs/"         // id → ACMEAuthz
	tAccountAuthzs = "acme/account-authzs/" // account id 0 type 0 value → its order's creation (8 bytes), the latest authorization's id
	tACMECerts     = "acme/certs/"          // serial → order id
	tEAB           = "acme/eab/"            // id → ACMEEAB
	// What bounds the state of accounts without a binding, and what the
	// sweep deletes by when it is due (acmesweep.go).
	tAccountExpiry = "acme/account-expiry/" // account id 0 expiry order id → its identifier count (4 bytes)
	tDue           = "acme/due/"            // kind expiry id → "": the sweep's work by when it is due
	tUnbound       = "acme/unbound/"        // account id → when nothing of it lasts any more (8 bytes)
	tUnboundCerts  = "acme/unbound-certs/"  // serial → "": a certificate of an account without a binding

	// Jobs that span transactions and resume after a crash.
	tJobs = "jobs/"

	// What the nodes agree on besides records, each key under a lease
	// (coordination.go).
	tClaims   = "claims/"   // name → "": held by the node whose lease it has
	tNonces   = "nonces/"   // nonce → "": a used ACME nonce
	tSessions = "sessions/" // SHA-256 of the session id → Session
)

// Keys in tMeta.
const (
	kSchema     = "schema"
	kSealCheck  = "seal_check"
	kActiveRoot = "active_root"
	kNonceKey   = "nonce_key"
	kRekey      = "rekey" // a rekey under way (rekey.go)
	// kUnboundCerts counts the certificates of accounts without a binding
	// that a migration brought (8 bytes); tUnboundCerts counts the rest.
	kUnboundCerts = "unbound_certificates"
)

// schemaVersion is the layout this code reads and writes, kept in
// meta/schema; a store of a newer one is refused at open.
const schemaVersion = 1

// nanos is t in Unix nanoseconds, 0 before 1970 (as store's).
func nanos(t time.Time) uint64 {
	if t.After(time.Unix(0, 0)) {
		return uint64(t.UnixNano())
	}
	return 0
}

func serialKey(s *big.Int) string { return string(s.Bytes()) }

// ascKey orders by t, then serial: the expiry indexes and the CRL's.
func ascKey(t time.Time, serial *big.Int) string {
	return string(binary.BigEndian.AppendUint64(nil, nanos(t))) + serialKey(serial)
}

// newestKey orders by t from the latest: the time inverted, then the
// serial's bytes inverted, which breaks the ties of one nanosecond.
func newestKey(t time.Time, serial *big.Int) string {
	k := binary.BigEndian.AppendUint64(nil, ^nanos(t))
	for _, b := range serial.Bytes() {
		k = append(k, ^b)
	}
	return string(k)
}

// serialOfNewest reads the serial back out of the end of a newestKey.
func serialOfNewest(k string) *big.Int {
	b := []byte(k[8:])
	for i := range b {
		b[i] = ^b[i]
	}
	return new(big.Int).SetBytes(b)
}

func scoped(scope, rest string) string { return scope + "\x00" + rest }

// invertName makes a name index key's name: the reversed name (storage.ReverseName)
// with every byte inverted and ended by 0xff, so that the names come
// greatest first, names under a name (lan.home.a under lan.home) before
// the name itself, as bbolt's downward walk has them. Names hold no 0.
func invertName(rev string) string {
	b := make([]byte, len(rev)+1)
	for i := 0; i < len(rev); i++ {
		b[i] = ^rev[i]
	}
	b[len(rev)] = 0xff
	return string(b)
}

func nameKey(scope, rev string, c *storage.Certificate) string {
	return scoped(scope, invertName(rev)+newestKey(c.Created, c.Serial))
}

// prefixEnd is the end of the range of every key that starts with p.
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\x00" // every key
}
