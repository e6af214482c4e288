package storage

import (
	"bytes"
	"fmt"
)

// The rules every backend's Update method applies, the same in each: fn
// edits the record as stored, and may not change what it is stored
// under. Each returns what the record was where the backend has an index
// to move when fn changed it; the backend then writes the record.

// EditUser runs fn on u, the stored user name, and refuses a rename. It
// returns the token hash u had.
func EditUser(name string, u *User, fn func(*User) error) (oldTokenHash []byte, err error) {
	old := bytes.Clone(u.TokenHash)
	if err := fn(u); err != nil {
		return nil, err
	}
	if u.Name != name {
		return nil, fmt.Errorf("renaming users is not supported")
	}
	return old, nil
}

// EditRoot runs fn on r, the stored root or intermediate, its key open,
// and refuses a new fingerprint. It returns whether r held a key.
func EditRoot(fingerprint string, r *Root, fn func(*Root) error) (hadKey bool, err error) {
	hadKey = r.KeyPKCS8 != nil
	if err := fn(r); err != nil {
		return false, err
	}
	if r.Fingerprint != fingerprint {
		return false, fmt.Errorf("root %s: a fingerprint cannot change", fingerprint)
	}
	return hadKey, nil
}

// EditACMEAccount runs fn on a, the stored account id, and refuses a new
// id. It returns the thumbprint a had: a key rollover changes it.
func EditACMEAccount(id string, a *ACMEAccount, fn func(*ACMEAccount) error) (oldThumbprint string, err error) {
	old := a.Thumbprint
	if err := fn(a); err != nil {
		return "", err
	}
	if a.ID != id {
		return "", fmt.Errorf("ACME account %s: the id cannot change", id)
	}
	return old, nil
}

// EditACMEOrder runs fn on o, the stored order id, and refuses a new id
// or account. It returns o as it was.
func EditACMEOrder(id string, o *ACMEOrder, fn func(*ACMEOrder) error) (before ACMEOrder, err error) {
	before = *o
	if err := fn(o); err != nil {
		return ACMEOrder{}, err
	}
	if o.ID != id || o.Account != before.Account {
		return ACMEOrder{}, fmt.Errorf("ACME order %s: the id and the account cannot change", id)
	}
	return before, nil
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
