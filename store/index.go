package store

import (
	"certmaker/storage/codec"
	"encoding/binary"
	"math/big"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage"
)

// Certificates are indexed so that every listing is a cursor walk over one
// range and every count a few counters (storage/list.go says what each
// means). A scope is "" for everyone's or an owner's name; scoped keys
// start with scope + 0, so one owner's entries are one range and
// everyone's another, in the same bucket.
//   - owner_certs:  owner + 0 + sort key, one user's certificates by age;
//   - by_created:   sort key, everyone's certificates by age;
//   - by_expiry:    not-after (8 bytes) + serial, unrevoked, everyone's;
//   - owner_expiry: owner + 0 + not-after + serial, unrevoked, one user's;
//   - by_revoked:   scope + 0 + sort key, revoked certificates by age;
//   - by_name:      scope + 0 + reversed name + 0 + sort key;
//   - revoked:      root + 0 + not-after + serial → revocation, so a CRL
//     seeks past the expired;
//   - counts:       'n' + scope (certificates), 'r' + scope (revoked),
//     'e' + scope + 0 + day (unrevoked ending that UTC day).
//
// The sort key is the issue time in Unix nanoseconds (8 bytes, big-endian)
// followed by the serial, which breaks ties. All are written in the
// transaction that writes the record, so they never disagree with it.
var (
	bucketByCreated   = []byte("by_created")
	bucketByExpiry    = []byte("by_expiry")
	bucketOwnerExpiry = []byte("owner_expiry")
	bucketByRevoked   = []byte("by_revoked")
	bucketByName      = []byte("by_name")
	bucketCounts      = []byte("counts")

	indexBuckets = [][]byte{bucketOwnerCerts, bucketByCreated, bucketByExpiry, bucketOwnerExpiry, bucketByRevoked, bucketByName, bucketCounts, bucketRevoked}
)

// appendFill is the fill percent of buckets whose new keys cluster at one
// growing end (certificates, keyed by time-prefixed serials, and
// by_created; in a file from before those serials, new keys still land
// next to each other, just not after the old random ones):
// bbolt's default of half-full pages suits random inserts, but when keys
// only grow it leaves every page half empty for good. Fuller pages halve
// the file and save a few page writes per commit (bbolt's TxStats: 22 to
// 19 per commit of 16 certificates).
const appendFill = 0.9

const day = uint64(24 * time.Hour)

// SortKey orders certificates by issue time, then serial.
func SortKey(c *Certificate) []byte {
	return sortKey(c.Created, c.Serial)
}

// nanos is t in Unix nanoseconds; UnixNano is undefined far from 1970,
// and certificates live after it.
func nanos(t time.Time) uint64 {
	if t.After(time.Unix(0, 0)) {
		return uint64(t.UnixNano())
	}
	return 0
}

func sortKey(t time.Time, serial *big.Int) []byte {
	k := make([]byte, 8, 8+20)
	binary.BigEndian.PutUint64(k, nanos(t))
	return append(k, serialKey(serial)...)
}

// ownerKey is a scoped key: scope + 0 + rest.
func ownerKey(owner string, rest []byte) []byte {
	k := make([]byte, 0, len(owner)+1+len(rest))
	k = append(k, owner...)
	k = append(k, 0)
	return append(k, rest...)
}

// scopes are the two a certificate is counted and indexed in.
func scopes(owner string) [2]string { return [2]string{"", owner} }

// reverseName is storage.ReverseName: a name as the name index keys it.
func reverseName(name string) string { return storage.ReverseName(name) }

func nameKey(scope, rev string, sk []byte) []byte {
	return ownerKey(scope, append(append([]byte(rev), 0), sk...))
}

// Counter keys.
func countKey(kind byte, scope string) []byte { return append([]byte{kind}, scope...) }

func dayKey(scope string, d uint64) []byte {
	return binary.BigEndian.AppendUint64(ownerKey("e"+scope, nil), d)
}

func getCount(b *bolt.Bucket, k []byte) int { return int(getUint(b, k)) }

// addCount changes a counter by d; a counter at zero is deleted, so that
// days long past do not pile up.
func addCount(b *bolt.Bucket, k []byte, d int) error {
	n := getCount(b, k) + d
	if n <= 0 {
		return b.Delete(k)
	}
	return b.Put(k, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// indexCertificate adds a new certificate to every index and counter.
func indexCertificate(tx *bolt.Tx, c *Certificate) error {
	sk := SortKey(c)
	if err := tx.Bucket(bucketOwnerCerts).Put(ownerKey(c.Owner, sk), nil); err != nil {
		return err
	}
	byCreated := tx.Bucket(bucketByCreated)
	byCreated.FillPercent = appendFill
	if err := byCreated.Put(sk, nil); err != nil {
		return err
	}
	names, counts := tx.Bucket(bucketByName), tx.Bucket(bucketCounts)
	for _, scope := range scopes(c.Owner) {
		for _, name := range c.Names {
			if rev := reverseName(name); rev != "" {
				if err := names.Put(nameKey(scope, rev, sk), nil); err != nil {
					return err
				}
			}
		}
		if err := addCount(counts, countKey('n', scope), 1); err != nil {
			return err
		}
	}
	if c.Revoked {
		return indexRevoked(tx, c, sk)
	}
	return indexUnrevoked(tx, c, 1)
}

// indexUnrevoked adds (d 1) or removes (d -1) a certificate from the
// expiry indexes and its day's counters.
func indexUnrevoked(tx *bolt.Tx, c *Certificate, d int) error {
	ek := sortKey(c.NotAfter, c.Serial)
	put := func(b *bolt.Bucket, k []byte) error {
		if d > 0 {
			return b.Put(k, nil)
		}
		return b.Delete(k)
	}
	if err := put(tx.Bucket(bucketByExpiry), ek); err != nil {
		return err
	}
	if err := put(tx.Bucket(bucketOwnerExpiry), ownerKey(c.Owner, ek)); err != nil {
		return err
	}
	counts := tx.Bucket(bucketCounts)
	for _, scope := range scopes(c.Owner) {
		if err := addCount(counts, dayKey(scope, nanos(c.NotAfter)/day), d); err != nil {
			return err
		}
	}
	return nil
}

// indexRevoked adds a revoked certificate to the revoked indexes, its
// root's revocations (for CRLs) and the counters, and moves the root's
// revocation generation on.
func indexRevoked(tx *bolt.Tx, c *Certificate, sk []byte) error {
	byRevoked, counts := tx.Bucket(bucketByRevoked), tx.Bucket(bucketCounts)
	for _, scope := range scopes(c.Owner) {
		if err := byRevoked.Put(ownerKey(scope, sk), nil); err != nil {
			return err
		}
		if err := addCount(counts, countKey('r', scope), 1); err != nil {
			return err
		}
	}
	rv, err := codec.Encode(Revocation{At: c.RevokedAt, Reason: c.Reason})
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketRevoked).Put(revokedKey(c.Root, c.NotAfter, c.Serial), rv); err != nil {
		return err
	}
	_, err = bumpUint(tx.Bucket(bucketMeta), revGenKey(c.Root))
	return err
}

// markRevoked moves a certificate just revoked from the unrevoked indexes
// to the revoked ones.
func markRevoked(tx *bolt.Tx, c *Certificate) error {
	if err := indexUnrevoked(tx, c, -1); err != nil {
		return err
	}
	return indexRevoked(tx, c, SortKey(c))
}

// reindex rebuilds every certificate index, the revocations and the
// counters from the records themselves; migrations end with it.
func reindex(tx *bolt.Tx) error {
	for _, name := range indexBuckets {
		if err := tx.DeleteBucket(name); err != nil && tx.Bucket(name) != nil {
			return err
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketCerts).ForEach(func(k, v []byte) error {
		var c Certificate
		if err := codec.Decode(v, &c); err != nil {
			return err
		}
		c.Serial = new(big.Int).SetBytes(k)
		return indexCertificate(tx, &c)
	})
}
