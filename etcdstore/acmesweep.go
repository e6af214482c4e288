package etcdstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"certmaker/storage"
	"certmaker/storage/codec"
)

// The sweep of expired ACME state walks acme/due, where each entry is
// what it may delete keyed by when that is due, one pass per kind; it
// reads the entries that are due and stops at the first that is not, so
// it costs what it deletes, not what is kept (valid orders stay for
// years). The last pass reads the accounts without a binding, which the
// core caps. A cursor is the pass's letter and the key read last.
//
// An order's authorizations have one entry, by the earliest expiry among
// those still stored, so that an order of ca.MaxNames names and its
// entries fit in one transaction; the pass over them moves the entry to
// the next one due. Deleting an order with many authorizations takes a
// few transactions, its authorizations first, each of which leaves the
// entries right: a crash in between, or another node sweeping at the
// same time, leaves what the next sweep finishes.
const (
	dueOrder       = 'o' // an order, by its expiry
	dueCertificate = 'c' // a valid order of an account without a binding, by its certificate's not-after
	dueAuthzs      = 'a' // an order's own authorizations, by the earliest expiry among them
	idleAccounts   = 'u' // the pass over acme/unbound
)

// sweepPasses is the order of the passes: an order before its
// authorizations, so that it goes with them; accounts last, once their
// orders have gone.
var sweepPasses = []byte{dueOrder, dueCertificate, dueAuthzs, idleAccounts}

// sweepChunk is how many authorizations one transaction deletes: with
// every authorization of an order read (and compared) beside them, and
// their latest-authorization entries, it stays within etcd's maxOps.
const sweepChunk = 24

// dueKey is an entry of acme/due.
func (db *DB) dueKey(kind byte, at time.Time, id string) string {
	return db.key(tDue, string(kind)+string(nanosBytes(at))+id)
}

// DeleteExpiredACME deletes one batch of expired ACME state
// (storage.ACMESweep), with the index entries that name what went: a
// transaction per order or account (a few for one with many
// authorizations), each comparing what it read.
func (db *DB) DeleteExpiredACME(q storage.ACMESweep) (int, string, error) {
	if q.Max <= 0 {
		q.Max = storage.MaxScan
	}
	if q.After == "" {
		q.After = string(sweepPasses[:1])
	}
	pass, after := q.After[0], q.After[1:]
	var n int
	var last string
	var err error
	switch pass {
	case dueOrder, dueCertificate, dueAuthzs:
		n, last, err = db.sweepDue(q, pass, after)
	case idleAccounts:
		n, last, err = db.sweepIdle(q, after)
	default:
		err = fmt.Errorf("ACME sweep cursor %.40q is none of this store's", q.After)
	}
	if err != nil {
		return n, "", err
	}
	switch i := bytes.IndexByte(sweepPasses, pass); {
	case last != "":
		return n, string(pass) + last, nil
	case i+1 < len(sweepPasses):
		return n, string(sweepPasses[i+1 : i+2]), nil
	}
	return n, "", nil
}

// sweepDue reads at most q.Max entries of one kind due before q.Before,
// after the one after (its key past the kind), and deletes what they
// name. It returns the key read last while entries may be left, "" once
// the kind is done.
func (db *DB) sweepDue(q storage.ACMESweep, kind byte, after string) (int, string, error) {
	p := db.key(tDue, string(kind))
	from := p
	if after != "" {
		from = p + after + "\x00"
	}
	end := p + string(nanosBytes(q.Before))
	var due [][]byte
	var more bool
	err := db.view(func(t *tx) error {
		kvs, m, err := t.scan(from, end, q.Max)
		for _, kv := range kvs {
			due = append(due, kv.Key)
		}
		more = m
		return err
	})
	if err != nil {
		return 0, "", err
	}
	n := 0
	for _, k := range due {
		if len(k) < len(p)+8 {
			return n, "", fmt.Errorf("ACME sweep entry %q is too short", k)
		}
		key, id := string(k), string(k[len(p)+8:])
		var d int
		switch kind {
		case dueOrder:
			d, err = db.sweepOrder(q, key, id)
		case dueCertificate:
			d, err = db.deleteOrder(key, id, func(*storage.ACMEOrder, time.Time) bool { return true })
		case dueAuthzs:
			d, err = db.sweepAuthzs(q, key, id)
		}
		n += d
		if err != nil {
			return n, "", err
		}
	}
	if !more || len(due) == 0 {
		return n, "", nil
	}
	return n, string(due[len(due)-1][len(p):]), nil
}

// dueOrderRecord reads the order an entry names, and the entry: nil if
// either is gone (the entry goes too).
func (t *tx) dueOrderRecord(due, id string) (*storage.ACMEOrder, error) {
	vs, err := t.getAll([]string{due, t.db.key(tOrders, id)})
	if err != nil || vs[0] == nil {
		return nil, err
	}
	if vs[1] == nil {
		t.del(due)
		return nil, nil
	}
	var o storage.ACMEOrder
	if err := codec.Decode(vs[1], &o); err != nil {
		return nil, fmt.Errorf("ACME order %q: %w", id, err)
	}
	return &o, nil
}

// ownAuthzs reads the authorizations an order made (not those it reused)
// that are still stored, and when the last of them expires.
func (t *tx) ownAuthzs(o *storage.ACMEOrder) ([]storage.ACMEAuthz, time.Time, error) {
	keys := make([]string, len(o.Authzs))
	for i, id := range o.Authzs {
		keys[i] = t.db.key(tAuthzs, id)
	}
	vals, err := t.getAll(keys)
	if err != nil {
		return nil, time.Time{}, err
	}
	return codec.OwnAuthzs(o, vals)
}

// sweepOrder handles an order whose expiry is due: a valid one stays
// (its certificate's entry, if any, takes it later) and leaves the
// account's count; another goes with its own authorizations if they are
// all due, else its entry moves to when the last of them is.
func (db *DB) sweepOrder(q storage.ACMESweep, due, id string) (int, error) {
	deleting := false
	_, err := db.update(func(t *tx) error {
		deleting = false
		o, err := t.dueOrderRecord(due, id)
		if o == nil || err != nil {
			return err
		}
		t.del(db.accountExpiryKey(o))
		if o.Status == acmeValid {
			t.del(due)
			return nil
		}
		_, latest, err := t.ownAuthzs(o)
		if err != nil {
			return err
		}
		if !latest.Before(q.Before) {
			// Back once the last of them is due: an authorization never
			// outlives the order it was made for.
			t.del(due)
			t.put(db.dueKey(dueOrder, latest, id), nil)
			return nil
		}
		deleting = true
		return nil
	})
	if err != nil || !deleting {
		return 0, err
	}
	return db.deleteOrder(due, id, func(o *storage.ACMEOrder, latest time.Time) bool {
		return o.Status != acmeValid && latest.Before(q.Before)
	})
}

// deleteOrder deletes the order an entry of acme/due names, its own
// authorizations and every index entry that names them, while still
// (checked in each transaction) holds; it returns how many records went.
func (db *DB) deleteOrder(due, id string, still func(o *storage.ACMEOrder, latest time.Time) bool) (int, error) {
	n := 0
	for {
		var deleted int
		var done bool
		_, err := db.update(func(t *tx) error {
			deleted, done = 0, true
			o, err := t.dueOrderRecord(due, id)
			if o == nil || err != nil {
				return err
			}
			own, latest, err := t.ownAuthzs(o)
			if err != nil {
				return err
			}
			if !still(o, latest) {
				return nil
			}
			if len(own) > sweepChunk {
				deleted, done = sweepChunk, false
				_, err := t.deleteAuthzs(o, own, own[:sweepChunk])
				return err
			}
			if _, err := t.deleteAuthzs(o, own, own); err != nil {
				return err
			}
			if o.Serial != nil {
				t.del(db.key(tACMECerts, serialKey(o.Serial)))
			}
			t.del(db.accountExpiryKey(o))
			t.del(db.dueKey(dueOrder, o.Expires, o.ID))
			t.del(db.key(tAccountOrders, scoped(o.Account, o.ID)))
			t.del(db.key(tOrders, o.ID))
			t.del(due)
			deleted = 1 + len(own)
			return nil
		})
		n += deleted
		if err != nil || done {
			return n, err
		}
	}
}

// deleteAuthzs deletes gone, some of the order's own authorizations own,
// with the account's latest entry for each identifier if it names it,
// and moves the order's entry among the authorizations due to the
// earliest of those left; it returns that entry, "" if none is left.
func (t *tx) deleteAuthzs(o *storage.ACMEOrder, own, gone []storage.ACMEAuthz) (string, error) {
	db := t.db
	keys := make([]string, len(gone))
	for i, az := range gone {
		keys[i] = db.latestAuthzKey(az.Account, az.Identifier)
	}
	latest, err := t.getAll(keys)
	if err != nil {
		return "", err
	}
	deleted := make(map[string]bool, len(gone))
	for i, az := range gone {
		t.del(db.key(tAuthzs, az.ID))
		if v := latest[i]; len(v) > 8 && string(v[8:]) == az.ID {
			t.del(keys[i])
		}
		deleted[az.ID] = true
	}
	var left []storage.ACMEAuthz
	for _, az := range own {
		if !deleted[az.ID] {
			left = append(left, az)
		}
	}
	if first, ok := earliest(own); ok {
		t.del(db.dueKey(dueAuthzs, first, o.ID))
	}
	next, ok := earliest(left)
	if !ok {
		return "", nil
	}
	k := db.dueKey(dueAuthzs, next, o.ID)
	t.put(k, nil)
	return k, nil
}

// sweepAuthzs deletes an order's own authorizations that are due (the
// order stays: it outlives them), sweepChunk a transaction.
func (db *DB) sweepAuthzs(q storage.ACMESweep, due, id string) (int, error) {
	n := 0
	for {
		var deleted int
		var next string
		_, err := db.update(func(t *tx) error {
			deleted, next = 0, ""
			o, err := t.dueOrderRecord(due, id)
			if o == nil || err != nil {
				return err
			}
			own, _, err := t.ownAuthzs(o)
			if err != nil {
				return err
			}
			var gone []storage.ACMEAuthz
			for _, az := range own {
				if az.Expires.Before(q.Before) {
					gone = append(gone, az)
				}
			}
			more := len(gone) > sweepChunk
			if more {
				gone = gone[:sweepChunk]
			}
			// The entry moves to the earliest left (or goes), also when
			// none is due: an entry that named a time too early.
			t.del(due)
			k, err := t.deleteAuthzs(o, own, gone)
			if err != nil {
				return err
			}
			deleted = len(gone)
			if more {
				next = k
			}
			return nil
		})
		n += deleted
		if err != nil || next == "" {
			return n, err
		}
		due = next
	}
}

// sweepIdle reads at most q.Max accounts without a binding after the id
// after and deletes those kept until before q.Idle that have no order
// left. It returns the id read last while some may be left.
func (db *DB) sweepIdle(q storage.ACMESweep, after string) (int, string, error) {
	if q.Idle.IsZero() {
		return 0, "", nil
	}
	p := db.key(tUnbound, "")
	from := p
	if after != "" {
		from = p + after + "\x00"
	}
	var ids []string
	var last string
	err := db.view(func(t *tx) error {
		kvs, more, err := t.scan(from, prefixEnd(p), q.Max)
		for _, kv := range kvs {
			if idle(kv.Value, q.Idle) {
				ids = append(ids, string(kv.Key[len(p):]))
			}
		}
		if more && len(kvs) > 0 {
			last = string(kvs[len(kvs)-1].Key[len(p):])
		}
		return err
	})
	if err != nil {
		return 0, "", err
	}
	n := 0
	for _, id := range ids {
		d, err := db.deleteIdleAccount(id, q.Idle)
		n += d
		if err != nil {
			return n, "", err
		}
	}
	return n, last, nil
}

// idle reports whether an entry of acme/unbound keeps its account until
// before t.
func idle(v []byte, t time.Time) bool {
	return len(v) == 8 && binary.BigEndian.Uint64(v) < nanos(t)
}

// deleteIdleAccount deletes an account without a binding, its key's
// entry and what is left of its index entries, if it is still kept until
// before idleAt and has no order left. A new order of the account
// writes its entry in acme/unbound, which this transaction compares.
func (db *DB) deleteIdleAccount(id string, idleAt time.Time) (int, error) {
	n := 0
	_, err := db.update(func(t *tx) error {
		n = 0
		uk := db.key(tUnbound, id)
		vs, err := t.getAll([]string{uk, db.key(tAccounts, id)})
		if err != nil || !idle(vs[0], idleAt) {
			return err
		}
		orders := db.key(tAccountOrders, scoped(id, ""))
		kvs, _, err := t.scan(orders, prefixEnd(orders), 1)
		if err != nil || len(kvs) > 0 {
			return err
		}
		t.del(uk)
		if vs[1] == nil {
			return nil // its record went another way: only the entry was left
		}
		n = 1
		var a storage.ACMEAccount
		if err := codec.Decode(vs[1], &a); err != nil {
			return fmt.Errorf("ACME account %q: %w", id, err)
		}
		kk := db.key(tAccountKeys, a.Thumbprint)
		owner, err := t.get(kk)
		if err != nil {
			return err
		}
		if string(owner) == id {
			t.del(kk)
		}
		t.delPrefix(db.key(tAccountAuthzs, scoped(id, "")))
		t.delPrefix(db.key(tAccountExpiry, scoped(id, "")))
		t.del(db.key(tAccounts, id))
		return nil
	})
	return n, err
}
