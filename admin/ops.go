package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"certmaker/ca"
	"certmaker/inventory"
	"certmaker/store"
)

// ErrInvalid marks an operation refused for its arguments.
var ErrInvalid = errors.New("invalid argument")

// UserInfo is one row of `user list`.
type UserInfo struct {
	Name         string    `json:"name"`
	Admin        bool      `json:"admin"`
	Disabled     bool      `json:"disabled"`
	Created      time.Time `json:"created"`
	Certificates int       `json:"certificates"`
}

// Operator is every admin operation, local or remote.
type Operator interface {
	AddUser(ctx context.Context, name string, admin bool) (token string, err error)
	Users(ctx context.Context) ([]UserInfo, error)
	SetDisabled(ctx context.Context, name string, disabled bool) error
	ResetToken(ctx context.Context, name string) (token string, err error)
	RotateRoot(ctx context.Context) (fingerprint string, err error)
	// Revoke revokes a certificate by id (decimal serial) for an RFC 5280
	// reason name ("" is unspecified).
	Revoke(ctx context.Context, id, reason string) error
	// Backup writes a consistent copy of the whole database to w.
	Backup(ctx context.Context, w io.Writer) (int64, error)
	// Certificates lists certificates, newest first.
	Certificates(ctx context.Context, q inventory.Query) (inventory.Page, error)
	// Certificate describes one certificate and returns its PEM.
	Certificate(ctx context.Context, id string) (inventory.Certificate, []byte, error)
	// RootsPEM returns the active root, or with all every root, as PEM.
	RootsPEM(ctx context.Context, all bool) ([]byte, error)
	// Status summarizes the CA's health.
	Status(ctx context.Context) (inventory.Summary, error)
	// ACMEEAB makes an ACME External Account Binding key for a user.
	ACMEEAB(ctx context.Context, name string) (EAB, error)
	// ACMEEABs lists EAB keys (never their secret) of a user, or all for "".
	ACMEEABs(ctx context.Context, user string) ([]EABInfo, error)
	// RevokeACMEEAB deletes an EAB key and deactivates the accounts it
	// bound; it returns how many.
	RevokeACMEEAB(ctx context.Context, kid string) (deactivated int, err error)
}

// Ops runs the operations on an open database. When Authority is set (inside
// a running server), root changes reach it at once.
type Ops struct {
	DB        *store.DB
	Authority *ca.Authority // nil when the server is not running
	Root      ca.RootConfig
	Now       func() time.Time
	// OnRevoke, if set, hears of each revocation (for metrics).
	OnRevoke func(keyType string)

	// rotating makes a rotation's store write and its switch of the
	// running authority one step: two rotations at once (socket and
	// dashboard) must not leave the server issuing from the root the file
	// does not call active.
	rotating sync.Mutex
}

var _ Operator = (*Ops)(nil)

func (o *Ops) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// NewToken returns a fresh API token: 256 bits from the CSPRNG, base64url.
func NewToken() (string, error) {
	_, token, err := newSecret(32)
	if err != nil {
		return "", fmt.Errorf("making token: %w", err)
	}
	return token, nil
}

// CheckUserName allows 1 to 64 letters, digits and . _ - @, starting with a
// letter or digit, so names are safe in tables, URLs and index keys.
func CheckUserName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("%w: user name must be 1 to 64 characters", ErrInvalid)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-' && c != '@')) {
			return fmt.Errorf("%w: user name %q: use letters, digits and . _ - @, starting with a letter or digit", ErrInvalid, name)
		}
	}
	return nil
}

// AddUser creates a user and returns its token, the only time it is shown.
func (o *Ops) AddUser(_ context.Context, name string, admin bool) (string, error) {
	if err := CheckUserName(name); err != nil {
		return "", err
	}
	token, err := NewToken()
	if err != nil {
		return "", err
	}
	u := store.User{Name: name, Admin: admin, Created: o.now().UTC(), TokenHash: store.HashToken(token)}
	if err := o.DB.CreateUser(u); err != nil {
		return "", err
	}
	return token, nil
}

// Users lists users with their certificate counts.
func (o *Ops) Users(context.Context) ([]UserInfo, error) {
	users, err := o.DB.Users()
	if err != nil {
		return nil, err
	}
	out := make([]UserInfo, len(users))
	for i, u := range users {
		n, err := o.DB.CountCertificates(u.Name)
		if err != nil {
			return nil, err
		}
		out[i] = UserInfo{Name: u.Name, Admin: u.Admin, Disabled: u.Disabled, Created: u.Created, Certificates: n}
	}
	return out, nil
}

// SetDisabled disables or enables a user; the server reads users per
// request, so the change applies to the very next one.
func (o *Ops) SetDisabled(_ context.Context, name string, disabled bool) error {
	_, err := o.DB.UpdateUser(name, func(u *store.User) error {
		u.Disabled = disabled
		return nil
	})
	return err
}

// ResetToken gives a user a new token; the old one stops working in the
// same commit.
func (o *Ops) ResetToken(_ context.Context, name string) (string, error) {
	token, err := NewToken()
	if err != nil {
		return "", err
	}
	_, err = o.DB.UpdateUser(name, func(u *store.User) error {
		u.TokenHash = store.HashToken(token)
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// RotateRoot makes a new root the active issuer and returns its SHA-256
// fingerprint. Old roots stay in the file and in the authority.
func (o *Ops) RotateRoot(context.Context) (string, error) {
	o.rotating.Lock()
	defer o.rotating.Unlock()
	r, err := CreateRoot(o.DB, o.Root, o.now())
	if err != nil {
		return "", err
	}
	if o.Authority != nil {
		o.Authority.AddRoot(r, true)
	}
	return r.Fingerprint, nil
}

// CreateRoot makes a root and stores it as the active one.
func CreateRoot(db *store.DB, cfg ca.RootConfig, now time.Time) (*ca.Root, error) {
	r, err := ca.NewRoot(cfg, now)
	if err != nil {
		return nil, err
	}
	key, err := ca.MarshalKey(r.Signer)
	if err != nil {
		return nil, err
	}
	rec := store.Root{Fingerprint: r.Fingerprint, CertDER: r.Cert.Raw, KeyPKCS8: key, Created: now.UTC()}
	if err := db.PutRoot(rec, true); err != nil {
		return nil, fmt.Errorf("storing root: %w", err)
	}
	return r, nil
}

// LoadRoots puts every stored root into the authority and reports whether
// one is active.
func LoadRoots(db *store.DB, a *ca.Authority) (bool, error) {
	recs, active, err := db.Roots()
	if err != nil {
		return false, err
	}
	for _, rec := range recs {
		key, err := ca.ParseKey(rec.KeyPKCS8)
		if err != nil {
			return false, fmt.Errorf("root %s: %w", rec.Fingerprint, err)
		}
		r, err := ca.LoadRoot(rec.CertDER, key)
		if err != nil {
			return false, err
		}
		a.AddRoot(r, rec.Fingerprint == active)
	}
	return active != "" && a.Active() != nil, nil
}

// Revoke revokes any certificate; the operator is not bound by the owner
// rule. OCSP and CRLs read revocations from the file, so the running server
// answers with the new status at once.
func (o *Ops) Revoke(_ context.Context, id, reason string) error {
	serial, err := ca.ParseSerial(id)
	if err != nil {
		return err
	}
	code, err := ca.ParseReason(reason)
	if err != nil {
		return err
	}
	c, err := o.DB.Revoke(serial, o.now(), code)
	if err == nil && o.OnRevoke != nil {
		o.OnRevoke(c.KeyType)
	}
	return err
}

// Backup copies the database in one read transaction: writers go on, and
// the copy is the state at its start.
func (o *Ops) Backup(_ context.Context, w io.Writer) (int64, error) {
	return o.DB.Backup(w)
}

// Certificates lists certificates of every user, or q.Owner's.
func (o *Ops) Certificates(_ context.Context, q inventory.Query) (inventory.Page, error) {
	return inventory.List(o.DB, q, o.now())
}

// Certificate describes one certificate by id.
func (o *Ops) Certificate(_ context.Context, id string) (inventory.Certificate, []byte, error) {
	serial, err := ca.ParseSerial(id)
	if err != nil {
		return inventory.Certificate{}, nil, err
	}
	c, err := o.DB.Certificate(serial)
	if err != nil {
		return inventory.Certificate{}, nil, err
	}
	d, err := inventory.Describe(c, o.now())
	return d, ca.CertPEM(c.DER), err
}

// RootsPEM reads roots straight from the database: the active one, or
// every one (oldest first) for trust stores that should keep accepting
// certificates of rotated-out roots.
func (o *Ops) RootsPEM(_ context.Context, all bool) ([]byte, error) {
	recs, active, err := o.DB.Roots()
	if err != nil {
		return nil, err
	}
	roots, err := inventory.Roots(o.DB, o.now())
	if err != nil {
		return nil, err
	}
	byFP := make(map[string][]byte, len(recs))
	for _, r := range recs {
		byFP[r.Fingerprint] = r.CertDER
	}
	var out []byte
	for _, r := range roots {
		if all || r.Fingerprint == active {
			out = append(out, ca.CertPEM(byFP[r.Fingerprint])...)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("root: %w (start the server once to create one)", store.ErrNotFound)
	}
	return out, nil
}

// Status summarizes roots, users, certificates and the file.
func (o *Ops) Status(context.Context) (inventory.Summary, error) {
	return inventory.Summarize(o.DB, o.now())
}
