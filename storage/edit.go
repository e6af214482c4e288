package storage

import (
	"bytes"
	"fmt"
)

// The rules every backend's Update method applies, the same in each: fn
// edits the record as stored, and may not change what it is stored
// under. Each says what fn changed that a backend indexes; the backend
// moves its own index entries and writes the record.

// EditUser runs fn on u, the stored user name, and refuses a rename. moved
// says fn changed the token hash; old is the one u had.
func EditUser(name string, u *User, fn func(*User) error) (old []byte, moved bool, err error) {
	old = bytes.Clone(u.TokenHash)
	if err := fn(u); err != nil {
		return nil, false, err
	}
	if u.Name != name {
		return nil, false, fmt.Errorf("renaming users is not supported")
	}
	return old, !bytes.Equal(old, u.TokenHash), nil
}

// EditRoot runs fn on r, the stored root or intermediate, its key open,
// and refuses a new fingerprint. keyDropped says fn removed its key.
func EditRoot(fingerprint string, r *Root, fn func(*Root) error) (keyDropped bool, err error) {
	hadKey := r.KeyPKCS8 != nil
	if err := fn(r); err != nil {
		return false, err
	}
	if r.Fingerprint != fingerprint {
		return false, fmt.Errorf("root %s: a fingerprint cannot change", fingerprint)
	}
	return hadKey && r.KeyPKCS8 == nil, nil
}

// EditACMEAccount runs fn on a, the stored account id, and refuses a new
// id. moved says fn changed the key (a key rollover); old is the
// thumbprint a had.
func EditACMEAccount(id string, a *ACMEAccount, fn func(*ACMEAccount) error) (old string, moved bool, err error) {
	old = a.Thumbprint
	if err := fn(a); err != nil {
		return "", false, err
	}
	if a.ID != id {
		return "", false, fmt.Errorf("ACME account %s: the id cannot change", id)
	}
	return old, a.Thumbprint != old, nil
}

// OrderEdit is what an update of an order changed.
type OrderEdit struct {
	// Before is the order as it was.
	Before ACMEOrder
	// ExpiryMoved: the order's expiry changed, and the index entries
	// that find it by its expiry move with it.
	ExpiryMoved bool
	// SerialSet: the order got its certificate, which finds it from now
	// on.
	SerialSet bool
}

// EditACMEOrder runs fn on o, the stored order id, and refuses a new id
// or account.
func EditACMEOrder(id string, o *ACMEOrder, fn func(*ACMEOrder) error) (OrderEdit, error) {
	before := *o
	if err := fn(o); err != nil {
		return OrderEdit{}, err
	}
	if o.ID != id || o.Account != before.Account {
		return OrderEdit{}, fmt.Errorf("ACME order %s: the id and the account cannot change", id)
	}
	return OrderEdit{
		Before:      before,
		ExpiryMoved: !o.Expires.Equal(before.Expires),
		SerialSet:   before.Serial == nil && o.Serial != nil,
	}, nil
}

// EditACMEAuthz runs fn on az, the stored authorization id, and refuses a
// new id.
func EditACMEAuthz(id string, az *ACMEAuthz, fn func(*ACMEAuthz) error) error {
	if err := fn(az); err != nil {
		return err
	}
	if az.ID != id {
		return fmt.Errorf("ACME authorization %s: the id cannot change", id)
	}
	return nil
}
