package etcdstore

import (
	"context"
	"fmt"

	"certmaker/storage"
)

// Check reads every certificate and user at one revision and proves that
// the indexes hold what the records imply, and that every sealed secret
// opens: a *storage.DamageError lists what does not. It reads everything:
// minutes for a million certificates.
func (db *DB) Check() error {
	dmg := &storage.DamageError{Path: db.where}
	err := db.view(func(t *tx) error {
		pending := map[string]bool{}
		p := db.key(tPending, "")
		if err := t.each(p, prefixEnd(p), func(k string, _ []byte) error {
			pending[k[len(p):]] = true
			return nil
		}); err != nil {
			return err
		}
		return db.export(t, func(it storage.Item) error {
			switch {
			case it.Certificate != nil:
				return db.checkCertificate(t, it.Certificate, pending[serialKey(it.Certificate.Serial)], dmg)
			case it.User != nil:
				name, err := t.get(db.key(tTokens, string(it.User.TokenHash)))
				if err != nil {
					return err
				}
				if string(name) != it.User.Name {
					dmg.Add(fmt.Sprintf("user %q: its token hash is not in the token index", it.User.Name))
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("checking %s: %w", db.where, err)
	}
	if len(dmg.Problems) > 0 {
		return dmg
	}
	return nil
}

// checkCertificate proves that c's index entries are there; a certificate
// still marked pending may lack name entries (a writer is at them).
func (db *DB) checkCertificate(t *tx, c *storage.Certificate, pending bool, dmg *storage.DamageError) error {
	nk := newestKey(c.Created, c.Serial)
	want := []string{db.key(tOwnerCerts, scoped(c.Owner, nk)), db.key(tByCreated, nk)}
	if c.Revoked {
		want = append(want, db.key(tByRevoked, scoped("", nk)), db.key(tByRevoked, scoped(c.Owner, nk)),
			db.key(tCRL, scoped(c.Root, ascKey(c.NotAfter, c.Serial))))
	} else {
		ek := ascKey(c.NotAfter, c.Serial)
		want = append(want, db.key(tByExpiry, ek), db.key(tOwnerExpiry, scoped(c.Owner, ek)))
	}
	if !pending {
		want = append(want, db.nameKeys(c)...)
	}
	vals, err := t.getAll(want)
	if err != nil {
		return err
	}
	for i, v := range vals {
		if v == nil {
			dmg.Add(fmt.Sprintf("certificate %s: index entry %q is missing", c.Serial, want[i][len(db.prefix):]))
		}
	}
	return nil
}

// Size is the size of the database of the etcd member that answers, in
// bytes: all of its keys and their history, certmaker's and any other's.
func (db *DB) Size() (int64, error) {
	var n int64
	err := db.do(func(ctx context.Context) error {
		for _, ep := range db.cli.Endpoints() {
			st, err := db.cli.Status(ctx, ep)
			if err != nil {
				continue
			}
			n = st.DbSize
			return nil
		}
		_, err := db.cli.Status(ctx, db.cli.Endpoints()[0])
		return err
	})
	return n, err
}

var (
	_ storage.Checker = (*DB)(nil)
	_ storage.Sizer   = (*DB)(nil)
)
