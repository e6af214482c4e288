package etcdstore

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"certmaker/storage"
	"certmaker/storage/seal"
)

// A rekey on one node reaches the others through the check value: every
// write of a sealed value reads meta/seal_check in its transaction (so
// that it commits only if the check value is unchanged) and goes ahead
// only if this node's key sealed it. Once a rekey has committed its new
// check value, a node without the new key writes no secret: it reads its
// key file again (at most once a second, so that an operator's copy of
// the new key file is picked up without a restart), and until that opens
// the check value it refuses those writes, and the reads of secrets
// sealed anew, with storage.ErrKeyBehind, logging it once. The rekeying node
// reseals what such nodes wrote before they noticed (rekey.go).

// keyState is what the node knows of its key against the store's.
type keyState struct {
	mu     sync.Mutex
	tried  time.Time // the key files were last read for a check value the key did not open
	behind bool      // logged: the node's key does not open the check value
}

// errKeyBehind is a node without the key of the store's check value.
func (db *DB) errKeyBehind() error {
	return fmt.Errorf("%w: %s was rekeyed on another node, and this node's key file %s does not open it: copy that node's key file here (it is read again within a second)", storage.ErrKeyBehind, db.where, db.keyPath)
}

// sealedNow makes a transaction that writes sealed values commit only
// while the check value it reads is sealed under this node's current key,
// catching up with the key file when it is not.
func (t *tx) sealedNow() error {
	cv, err := t.get(t.db.key(tMeta, kSealCheck))
	if err != nil {
		return err
	}
	return t.db.catchUp(cv)
}

// catchUp makes the key that sealed cv, the store's check value, this
// node's current one: nil if it is; else the key file, or the one a rekey
// of this node staged, if either opens it; else ErrKeyBehind.
func (db *DB) catchUp(cv []byte) error {
	if db.keys.IsCurrent(cv) {
		return nil
	}
	ks := &db.keyState
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if db.keys.IsCurrent(cv) {
		return nil
	}
	if time.Since(ks.tried) < time.Second {
		return db.errKeyBehind()
	}
	ks.tried = time.Now()
	for _, path := range seal.KeyFiles(db.keyPath) {
		key, err := seal.ReadKeyFile(path)
		if err != nil || seal.OpensCheck(key, cv) != nil {
			continue
		}
		if err := db.keys.Use(key); err != nil {
			return err
		}
		if ks.behind {
			ks.behind = false
			db.log.Info("this node has the store's new key file: writes of secrets go on", "where", db.where, "key_file", path)
		}
		return nil
	}
	if !ks.behind {
		ks.behind = true
		db.log.Error("the store was rekeyed on another node: this node refuses to write or read secrets until its key file is the new one", "where", db.where, "key_file", db.keyPath)
	}
	return db.errKeyBehind()
}

// catchUpNow reads the check value and catches up with it.
func (db *DB) catchUpNow() error {
	var cv []byte
	err := db.view(func(t *tx) error {
		var err error
		cv, err = t.get(db.key(tMeta, kSealCheck))
		return err
	})
	if err != nil {
		return err
	}
	return db.catchUp(cv)
}

// open opens a sealed value; one sealed under a key this node has not
// got yet (another node's rekey) makes it catch up first.
func (db *DB) open(kind, identity string, v []byte) ([]byte, error) {
	plain, err := db.keys.Open(kind, identity, v)
	if !errors.Is(err, seal.ErrWrongKey) {
		return plain, err
	}
	if err := db.catchUpNow(); err != nil {
		return nil, err
	}
	return db.keys.Open(kind, identity, v)
}
