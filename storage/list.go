package storage

import "time"

// What the indexes mean, whatever a backend builds them from. Every
// listing is a range walk over one index, and every count a counter kept
// in the transaction that changes what it counts, so that a page or a
// count costs the same for a thousand certificates or a million:
//   - by age: one user's certificates, and everyone's (newest first);
//   - by expiry: unrevoked certificates by not-after, one user's and
//     everyone's (soonest first);
//   - revoked: revoked certificates by age, one user's and everyone's;
//   - by name: each name's labels reversed ("a.home.lan" is
//     "lan.home.a"), one user's and everyone's, so that a name and
//     everything under it (".home.lan") is one range;
//   - revocations by root and not-after, so a CRL reads only the
//     revoked certificates that have not expired;
//   - counters: certificates and revoked ones per user and in all, and
//     unrevoked ones per day of expiry (per user and in all).
//
// A backend over the network (etcd) keeps the same keys as prefixes and
// reads a page as one range request with a limit.

// ListQuery selects certificates. One index answers each query, chosen in
// this order: Name, then RevokedOnly, then the expiry range, else by age;
// the other conditions filter what that index yields.
type ListQuery struct {
	Owner string // "" for everyone's
	// Name keeps certificates with this name (lower case); with
	// NameSuffix also those with a name under it (www.Name, a.b.Name).
	// Comes by name, then newest first.
	Name       string
	NameSuffix bool
	// RevokedOnly keeps revoked certificates only, newest first.
	RevokedOnly bool
	// ExpiringAfter and ExpiringBefore, if either is set, keep unrevoked
	// certificates whose not-after lies in [ExpiringAfter, ExpiringBefore)
	// (a zero ExpiringBefore has no end), soonest first.
	ExpiringAfter, ExpiringBefore time.Time
	// Before is a paging cursor: the NextCursor of the previous page of
	// the same query (opaque; listings hand it out in hex). Only what
	// comes after it in the query's order is listed.
	Before []byte
	// Limit bounds the page.
	Limit int
}

// Expiring reports whether q selects by expiry.
func (q ListQuery) Expiring() bool { return !q.ExpiringAfter.IsZero() || !q.ExpiringBefore.IsZero() }

// MaxScan bounds how many records one listing reads. A filter its index
// does not answer (a name that is also revoked, say) would otherwise read
// the whole range for one page; instead the page comes back short with a
// cursor to go on from.
const MaxScan = 10000

// MaxCursor is the longest cursor a listing hands out: a name index key
// (a user name, a name of up to 253 bytes, a sort key) with room to spare.
const MaxCursor = 1024

// Keeps applies the conditions of q that the index answering it does not.
// rev is the reversed name (ReverseName) of the name index entry the
// certificate was found by, when q has a Name.
func (q ListQuery) Keeps(c *Certificate, rev string) bool {
	if q.RevokedOnly && !c.Revoked {
		return false
	}
	if q.Expiring() && (c.Revoked || c.NotAfter.Before(q.ExpiringAfter) || !q.ExpiringBefore.IsZero() && !c.NotAfter.Before(q.ExpiringBefore)) {
		return false
	}
	if q.Name != "" && q.NameSuffix {
		// A certificate with several matching names is listed once, at
		// the first of them a walk by name meets: its greatest.
		want := ReverseName(q.Name)
		for _, n := range c.Names {
			if r := ReverseName(n); r > rev && (r == want || len(r) > len(want) && r[:len(want)] == want && r[len(want)] == '.') {
				return false
			}
		}
	}
	return true
}
