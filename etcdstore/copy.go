package etcdstore

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"

	"certmaker/storage"
	"certmaker/storage/codec"
	"certmaker/storage/seal"
)

// Export calls fn on every record, all read at one revision (so the copy
// is the store at one moment while nodes go on writing), secrets opened.
// A cluster that compacts that revision away before the export ends fails
// it with etcd's "required revision has been compacted": run it again.
func (db *DB) Export(fn func(storage.Item) error) error {
	return db.view(func(t *tx) error {
		if _, err := t.get(db.key(tMeta, kSchema)); err != nil { // fixes the revision
			return err
		}
		return db.export(t, fn)
	})
}

func (db *DB) export(t *tx, fn func(storage.Item) error) error {
	table := func(name string, each func(id string, v []byte) error) error {
		p := db.key(name, "")
		return t.each(p, prefixEnd(p), func(k string, v []byte) error { return each(k[len(p):], v) })
	}
	if err := table(tUsers, func(_ string, v []byte) error {
		var u storage.User
		if err := codec.Decode(v, &u); err != nil {
			return err
		}
		return fn(storage.Item{User: &u})
	}); err != nil {
		return err
	}
	active, err := t.get(db.key(tMeta, kActiveRoot))
	if err != nil {
		return err
	}
	if err := table(tRoots, func(_ string, v []byte) error {
		var r storage.Root
		if err := codec.Decode(v, &r); err != nil {
			return err
		}
		if err := seal.Root(db.open, &r); err != nil {
			return err
		}
		return fn(storage.Item{Root: &r, Active: r.Fingerprint == string(active)})
	}); err != nil {
		return err
	}
	if err := table(tCerts, func(id string, v []byte) error {
		var c storage.Certificate
		if err := decodeCertificate(v, new(big.Int).SetBytes([]byte(id)), &c); err != nil {
			return err
		}
		if err := seal.Certificate(db.open, &c); err != nil {
			return err
		}
		return fn(storage.Item{Certificate: &c})
	}); err != nil {
		return err
	}
	if err := table(tChallenges, func(_ string, v []byte) error {
		var ch storage.Challenge
		if err := codec.Decode(v, &ch); err != nil {
			return err
		}
		return fn(storage.Item{Challenge: &ch})
	}); err != nil {
		return err
	}
	if err := table(tAccounts, func(_ string, v []byte) error {
		var a storage.ACMEAccount
		if err := codec.Decode(v, &a); err != nil {
			return err
		}
		return fn(storage.Item{ACMEAccount: &a})
	}); err != nil {
		return err
	}
	if err := table(tOrders, func(_ string, v []byte) error {
		var o storage.ACMEOrder
		if err := codec.Decode(v, &o); err != nil {
			return err
		}
		keys := make([]string, len(o.Authzs))
		for i, id := range o.Authzs {
			keys[i] = db.key(tAuthzs, id)
		}
		vals, err := t.getAll(keys)
		if err != nil {
			return err
		}
		var azs []storage.ACMEAuthz // nil, as the file's, when the sweep took them all
		for _, av := range vals {
			if av == nil {
				continue
			}
			var az storage.ACMEAuthz
			if err := codec.Decode(av, &az); err != nil {
				return err
			}
			azs = append(azs, az)
		}
		return fn(storage.Item{ACMEOrder: &o, ACMEAuthzs: azs})
	}); err != nil {
		return err
	}
	if err := table(tEAB, func(_ string, v []byte) error {
		var k storage.ACMEEAB
		if err := codec.Decode(v, &k); err != nil {
			return err
		}
		if err := seal.EAB(db.open, &k); err != nil {
			return err
		}
		return fn(storage.Item{ACMEEAB: &k})
	}); err != nil {
		return err
	}
	nk, err := t.get(db.key(tMeta, kNonceKey))
	if err != nil {
		return err
	}
	if nk != nil {
		key, err := db.open(seal.NonceKey, "", nk)
		if err != nil {
			return err
		}
		if err := fn(storage.Item{ACMENonceKey: key}); err != nil {
			return err
		}
	}
	if err := exportUnboundCount(t, fn); err != nil {
		return err
	}
	if err := table(tAnnounced, func(id string, v []byte) error {
		a, err := codec.DecodeAnnouncement([]byte(id), v)
		if err != nil {
			return err
		}
		return fn(storage.Item{Announcement: &a})
	}); err != nil {
		return err
	}
	numbers := map[string]uint64{}
	if err := table(tCRLBase, func(root string, v []byte) error {
		numbers[root] += baseOf(v)
		return nil
	}); err != nil {
		return err
	}
	p := db.key(tCRLNumber, "")
	kvs, _, err := t.scan(p, prefixEnd(p), 1<<20)
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		numbers[string(kv.Key[len(p):])] += uint64(kv.ModRevision)
	}
	roots := make([]string, 0, len(numbers))
	for r := range numbers {
		roots = append(roots, r)
	}
	slices.Sort(roots)
	for _, r := range roots {
		if err := fn(storage.Item{CRLNumber: &storage.CRLNumber{Root: r, Number: numbers[r]}}); err != nil {
			return err
		}
	}
	return nil
}

// exportUnboundCount gives the count of certificates of accounts without
// a binding, if there are any.
func exportUnboundCount(t *tx, fn func(storage.Item) error) error {
	db := t.db
	v, err := t.get(db.key(tMeta, kUnboundCerts))
	if err != nil {
		return err
	}
	p := db.key(tUnboundCerts, "")
	n, err := t.count(p, prefixEnd(p))
	if err != nil {
		return err
	}
	if len(v) == 8 {
		n += int(binary.BigEndian.Uint64(v))
	}
	if n == 0 {
		return nil
	}
	return fn(storage.Item{UnboundACMECertificates: &n})
}

// Import stores records into a new store, as many per transaction as fit,
// with the indexes they imply; storing one again stores the same.
func (db *DB) Import(items []storage.Item) error {
	t := db.newTx()
	var later []func() error // name entries past a transaction's room
	flush := func() error {
		if len(t.ops) == 0 {
			return nil
		}
		_, ok, err := t.commit()
		if err == nil && !ok {
			err = fmt.Errorf("import: a write conflicted: is another process writing this store?")
		}
		t = db.newTx()
		return db.noteWrite(err)
	}
	for _, it := range items {
		ops := len(t.ops)
		err := db.importItem(t, it, &later)
		if err != nil {
			return err
		}
		if len(t.ops) > maxOps {
			// Undo this item's writes, commit the rest, and start the
			// item again in a transaction of its own.
			for _, op := range t.ops[ops:] {
				delete(t.at, string(op.KeyBytes()))
			}
			t.ops = t.ops[:ops]
			if err := flush(); err != nil {
				return err
			}
			if err := db.importItem(t, it, &later); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	for _, fn := range later {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}

// importItem buffers one record's writes in t. A certificate's name
// entries beyond what its transaction can take are left to later.
func (db *DB) importItem(t *tx, it storage.Item, later *[]func() error) error {
	it, err := seal.Item(db.keys.Seal, it)
	if err != nil {
		return err
	}
	switch {
	case it.User != nil:
		if err := putRecord(t, tUsers, it.User.Name, *it.User); err != nil {
			return err
		}
		t.put(db.key(tTokens, string(it.User.TokenHash)), []byte(it.User.Name))
	case it.Root != nil:
		if err := putRecord(t, tRoots, it.Root.Fingerprint, *it.Root); err != nil {
			return err
		}
		if it.Active {
			t.put(db.key(tMeta, kActiveRoot), []byte(it.Root.Fingerprint))
		}
	case it.Certificate != nil:
		w, err := db.newCertWrite(it.Certificate)
		if err != nil {
			return err
		}
		c := it.Certificate
		if err := w.put(t); err != nil {
			return err
		}
		names := w.names
		if len(names) > maxOps/2 {
			rest := names[maxOps/2:]
			*later = append(*later, func() error { return db.finishNames(c, rest) })
			names = names[:maxOps/2]
		}
		for _, k := range names {
			t.put(k, nil)
		}
	case it.Challenge != nil:
		return putRecord(t, tChallenges, it.Challenge.ID, *it.Challenge)
	case it.ACMEAccount != nil:
		a := it.ACMEAccount
		t.put(db.key(tAccountKeys, a.Thumbprint), []byte(a.ID))
		if a.EABKeyID != "" && a.Status != acmeDeactivated {
			t.put(db.key(tAccountEAB, scoped(a.EABKeyID, a.ID)), nil)
		}
		if a.EABKeyID == "" {
			k := db.key(tUnbound, a.ID)
			v, err := t.peek(k)
			if err != nil {
				return err
			}
			if len(v) != 8 {
				t.put(k, nanosBytes(a.Created))
			}
			t.keepUntil(k, v, a.Created)
		}
		return putRecord(t, tAccounts, a.ID, *a)
	case it.ACMEOrder != nil:
		o := it.ACMEOrder
		for _, az := range it.ACMEAuthzs {
			if err := putRecord(t, tAuthzs, az.ID, az); err != nil {
				return err
			}
		}
		t.put(db.key(tAccountOrders, scoped(o.Account, o.ID)), nil)
		if o.Serial != nil {
			t.put(db.key(tACMECerts, serialKey(o.Serial)), []byte(o.ID))
		}
		var made []storage.ACMEAuthz // not those it reused
		for _, az := range it.ACMEAuthzs {
			if az.Order == o.ID {
				made = append(made, az)
			}
		}
		if len(made) > 0 {
			*later = append(*later, func() error { return db.importLatestAuthzs(*o, made) })
		}
		if err := db.importOrderIndexes(t, o, made); err != nil {
			return err
		}
		return putRecord(t, tOrders, o.ID, *o)
	case it.ACMEEAB != nil:
		return putRecord(t, tEAB, it.ACMEEAB.ID, *it.ACMEEAB)
	case it.ACMENonceKey != nil:
		t.put(db.key(tMeta, kNonceKey), it.ACMENonceKey)
	case it.Announcement != nil:
		v, err := codec.EncodeAnnouncement(*it.Announcement)
		if err != nil {
			return err
		}
		t.put(db.key(tAnnounced, string(it.Announcement.Key)), v)
	case it.CRLNumber != nil:
		// The numbers this store hands out add its revision to this.
		t.put(db.key(tCRLBase, it.CRLNumber.Root), binary.BigEndian.AppendUint64(nil, it.CRLNumber.Number))
		t.del(db.key(tCRLNumber, it.CRLNumber.Root))
	case it.UnboundACMECertificates != nil:
		// Imported orders add no key to tUnboundCerts: the count stands
		// for them all.
		t.put(db.key(tMeta, kUnboundCerts), binary.BigEndian.AppendUint64(nil, uint64(max(*it.UnboundACMECertificates, 0))))
	default:
		return fmt.Errorf("import: an empty item")
	}
	return nil
}

// importOrderIndexes writes what an order implies for its account's
// count and the sweep, as CreateACMEOrder and PutACMECertificate would
// have (made are its own authorizations), reading what the import wrote
// before it: its account, and the certificate of a valid order.
func (db *DB) importOrderIndexes(t *tx, o *storage.ACMEOrder, made []storage.ACMEAuthz) error {
	t.put(db.accountExpiryKey(o), binary.BigEndian.AppendUint32(nil, uint32(len(o.Identifiers))))
	t.put(db.dueKey(dueOrder, o.Expires, o.ID), nil)
	if first, ok := earliest(made); ok {
		t.put(db.dueKey(dueAuthzs, first, o.ID), nil)
	}
	uk := db.key(tUnbound, o.Account)
	kept, err := t.peek(uk)
	if err != nil {
		return err
	}
	if kept == nil {
		a, err := t.peek(db.key(tAccounts, o.Account))
		if err != nil || a != nil {
			return err // an account with a binding
		}
	}
	// An account without a binding, or no account.
	t.keepUntil(uk, kept, o.Expires)
	if o.Status != acmeValid || o.Serial == nil {
		return nil
	}
	v, err := t.peek(db.key(tCerts, serialKey(o.Serial)))
	if err != nil {
		return err
	}
	if v == nil {
		return nil // no certificate to wait for: the order stays
	}
	var c storage.Certificate
	if err := decodeCertificate(v, o.Serial, &c); err != nil {
		return err
	}
	t.put(db.dueKey(dueCertificate, c.NotAfter, o.ID), nil)
	if kept, err = t.peek(uk); err != nil {
		return err
	}
	t.keepUntil(uk, kept, c.NotAfter)
	return nil
}

// importLatestAuthzs points the latest-authorization entries at the
// authorizations o made, where o is newer than the order of the entry's
// authorization: orders come in any order.
func (db *DB) importLatestAuthzs(o storage.ACMEOrder, azs []storage.ACMEAuthz) error {
	for len(azs) > 0 {
		chunk := azs[:min(len(azs), maxOps)]
		azs = azs[len(chunk):]
		_, err := db.update(func(t *tx) error {
			keys := make([]string, len(chunk))
			for i, az := range chunk {
				keys[i] = db.latestAuthzKey(az.Account, az.Identifier)
			}
			vals, err := t.getAll(keys)
			if err != nil {
				return err
			}
			for i, az := range chunk {
				if newerAuthz(vals[i], o, az) {
					t.put(keys[i], latestAuthz(o, az))
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("import: ACME order %s: %w", o.ID, err)
		}
	}
	return nil
}

var (
	_ storage.Exporter = (*DB)(nil)
	_ storage.Importer = (*DB)(nil)
)
