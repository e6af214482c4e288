package store

import bolt "go.etcd.io/bbolt"

// compact copies every bucket and key of src, a read transaction, into
// dst, a new database, in transactions of at most maxTx bytes: a file of
// the live records only. Unlike bolt.Compact, it commits dst's last
// transaction while src's is still open: bbolt keeps a value put into a
// transaction by reference until its commit, and src's values live in
// src's mapping, which a writer may replace once src's transaction ends.
func compact(dst *bolt.DB, src *bolt.Tx, maxTx int) error {
	tx, err := dst.Begin(true)
	if err != nil {
		return err
	}
	defer func() { tx.Rollback() }()
	size := 0
	// bucket finds the bucket at path in the current transaction of dst.
	bucket := func(path [][]byte) *bolt.Bucket {
		b := tx.Bucket(path[0])
		for _, name := range path[1:] {
			b = b.Bucket(name)
		}
		return b
	}
	var copyBucket func(from *bolt.Bucket, path [][]byte) error
	copyBucket = func(from *bolt.Bucket, path [][]byte) error {
		return from.ForEach(func(k, v []byte) error {
			if size += len(k) + len(v); size > maxTx {
				if err := tx.Commit(); err != nil {
					return err
				}
				if tx, err = dst.Begin(true); err != nil {
					return err
				}
				size = len(k) + len(v)
			}
			to := bucket(path)
			if v != nil {
				to.FillPercent = 1 // nothing is inserted in between later
				return to.Put(k, v)
			}
			child := from.Bucket(k)
			nb, err := to.CreateBucket(k)
			if err != nil {
				return err
			}
			if err := nb.SetSequence(child.Sequence()); err != nil {
				return err
			}
			return copyBucket(child, append(path[:len(path):len(path)], k))
		})
	}
	err = src.ForEach(func(name []byte, b *bolt.Bucket) error {
		nb, err := tx.CreateBucket(name)
		if err != nil {
			return err
		}
		if err := nb.SetSequence(b.Sequence()); err != nil {
			return err
		}
		return copyBucket(b, [][]byte{name})
	})
	if err != nil {
		return err
	}
	return tx.Commit()
}
