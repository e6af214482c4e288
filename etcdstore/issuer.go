package etcdstore

import (
	"fmt"

	"certmaker/storage"
)

// fromActive makes a transaction that writes a new certificate commit only
// while its issuer is the active one (storage.Certificates): active is
// meta/active_root as the transaction read it, compared at commit, so a
// rotation through another node between this node's signature and its
// commit makes the commit run again, and refused. A root the store does
// not hold (a test's, an import's) is not an issuer that was retired.
func (t *tx) fromActive(c *storage.Certificate, active []byte) error {
	if active == nil || string(active) == c.Root {
		return nil
	}
	kvs, _, err := t.scan(t.db.key(tRoots, c.Root), t.db.key(tRoots, c.Root)+"\x00", 1)
	if err != nil || len(kvs) == 0 {
		return err
	}
	return fmt.Errorf("certificate %s: its issuer %s is no longer the active one (%s): %w", c.Serial, c.Root, active, storage.ErrIssuerRetired)
}
