package admin

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"certmaker/ca"
	"certmaker/core"
	"certmaker/inventory"
)

// ErrInvalid marks an operation refused for its arguments (the core's).
var ErrInvalid = core.ErrInvalid

// UserInfo is one row of `user list`.
type UserInfo = core.UserInfo

// Operator is every admin operation, local or remote.
type Operator interface {
	AddUser(ctx context.Context, name string, admin bool) (token string, err error)
	// AddUserWithPolicy is AddUser with the default policy for new users
	// changed as pc says, in the same commit.
	AddUserWithPolicy(ctx context.Context, name string, admin bool, pc PolicyChange) (token string, err error)
	// UserPolicy reads a user's issuance policy.
	UserPolicy(ctx context.Context, name string) (PolicyInfo, error)
	// SetPolicy changes a user's policy and returns it as it is now.
	SetPolicy(ctx context.Context, name string, pc PolicyChange) (PolicyInfo, error)
	// IssueCertificate issues a certificate for a user, held to that
	// user's policy.
	IssueCertificate(ctx context.Context, r IssueRequest) (Issued, error)
	Users(ctx context.Context) ([]UserInfo, error)
	SetDisabled(ctx context.Context, name string, disabled bool) error
	ResetToken(ctx context.Context, name string) (token string, err error)
	RotateRoot(ctx context.Context) (fingerprint string, err error)
	// RotateIntermediate makes a new intermediate under the active root
	// the issuer; rootKey is the root's PKCS#8 key when it is offline
	// (nil: the stored one). It returns the new intermediate's SHA-256
	// fingerprint.
	RotateIntermediate(ctx context.Context, rootKey []byte) (fingerprint string, err error)
	// RevokeIntermediate revokes a retired intermediate (by fingerprint,
	// or a unique prefix of at least 16 hex digits) for an RFC 5280
	// reason name and signs its root's CRL with the stored root key or
	// rootKey (PKCS#8). It returns the intermediate's fingerprint.
	RevokeIntermediate(ctx context.Context, fingerprint, reason string, rootKey []byte) (revoked string, err error)
	// ExportRootKey returns the active root's fingerprint and PKCS#8 key,
	// to be written encrypted before TakeRootOffline drops it.
	ExportRootKey(ctx context.Context) (fingerprint string, key []byte, err error)
	// TakeRootOffline drops the active root's key from the database (after
	// signing its CRL) and returns when that CRL expires.
	TakeRootOffline(ctx context.Context, fingerprint string) (crlNextUpdate time.Time, err error)
	// SignRootCRL signs the active root's CRL with rootKey (PKCS#8; nil:
	// the stored key) and returns when it expires.
	SignRootCRL(ctx context.Context, rootKey []byte) (nextUpdate time.Time, err error)
	// Revoke revokes a certificate by id (decimal serial) for an RFC 5280
	// reason name ("" is unspecified).
	Revoke(ctx context.Context, id, reason string) error
	// Rekey seals every secret under a new key file and returns its path.
	Rekey(ctx context.Context) (keyFile string, err error)
	// Backup writes a consistent copy of the whole database to w.
	Backup(ctx context.Context, w io.Writer) (int64, error)
	// KeyFile is the key file the database's secrets are sealed with, as
	// the server uses it (its [store] key_file, a systemd credential or
	// the default); "" if it has none or, over the socket, if the server
	// is too old to say.
	KeyFile(ctx context.Context) (string, error)
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
	// ACMEAccounts lists ACME accounts: a user's or all, perhaps only
	// those without a binding.
	ACMEAccounts(ctx context.Context, q ACMEAccountQuery) ([]ACMEAccountInfo, error)
	// DeactivateACMEAccount deactivates an ACME account for good.
	DeactivateACMEAccount(ctx context.Context, id string) (ACMEAccountInfo, error)
	// RenewSoon pulls the ACME renewal window (RFC 9773) of every
	// certificate a root or intermediate (fingerprint, or a unique prefix
	// of at least 16 hex digits) and the CAs under it issued until now
	// forward to the coming within; it returns the CA's fingerprint and
	// the window.
	RenewSoon(ctx context.Context, fingerprint string, within time.Duration) (string, RenewalWindow, error)
}

// RenewalWindow is when ACME clients are told to renew.
type RenewalWindow = core.RenewalWindow

// Local runs the operations in this process, on the core: inside a
// running server (behind the socket's Handler), or on the file itself
// when no server runs. It only turns the command's words into the core's
// values; the core checks, does and audits.
type Local struct {
	Core *core.Service
	// Who names the operator in the audit trail when no peer is known
	// (a command on the file); over the socket the peer's uid is used.
	Who string
}

var _ Operator = (*Local)(nil)

// actor is the operator of the request in ctx.
func (l *Local) actor(ctx context.Context) core.Actor {
	if uid, ok := peerOf(ctx); ok {
		return core.Operator(fmt.Sprintf("uid %d", uid))
	}
	if l.Who != "" {
		return core.Operator(l.Who)
	}
	return core.Operator("operator")
}

// AddUser creates a user and returns its token, the only time it is shown.
func (l *Local) AddUser(ctx context.Context, name string, admin bool) (string, error) {
	return l.Core.AddUser(ctx, l.actor(ctx), name, admin)
}

// Users lists users with their certificate counts.
func (l *Local) Users(ctx context.Context) ([]UserInfo, error) {
	return l.Core.Users(ctx, l.actor(ctx))
}

// SetDisabled disables or enables a user.
func (l *Local) SetDisabled(ctx context.Context, name string, disabled bool) error {
	return l.Core.SetDisabled(ctx, l.actor(ctx), name, disabled)
}

// ResetToken gives a user a new token.
func (l *Local) ResetToken(ctx context.Context, name string) (string, error) {
	return l.Core.ResetToken(ctx, l.actor(ctx), name)
}

// RotateRoot makes a new root the active issuer and returns its SHA-256
// fingerprint.
func (l *Local) RotateRoot(ctx context.Context) (string, error) {
	r, err := l.Core.RotateRoot(ctx, l.actor(ctx))
	if err != nil {
		return "", err
	}
	return r.Fingerprint, nil
}

// RotateIntermediate makes a new intermediate the issuer and returns its
// SHA-256 fingerprint.
func (l *Local) RotateIntermediate(ctx context.Context, rootKey []byte) (string, error) {
	key, err := parseRootKey(rootKey)
	if err != nil {
		return "", err
	}
	in, err := l.Core.RotateIntermediate(ctx, l.actor(ctx), key)
	if err != nil {
		return "", err
	}
	return in.Fingerprint, nil
}

// RevokeIntermediate revokes a retired intermediate and lists it on its
// root's CRL.
func (l *Local) RevokeIntermediate(ctx context.Context, fingerprint, reason string, rootKey []byte) (string, error) {
	code, err := ca.ParseReason(reason)
	if err != nil {
		return "", err
	}
	key, err := parseRootKey(rootKey)
	if err != nil {
		return "", err
	}
	in, err := l.Core.RevokeIntermediate(ctx, l.actor(ctx), fingerprint, code, key)
	if err != nil {
		return "", err
	}
	return in.Fingerprint, nil
}

// ExportRootKey returns the active root's key, to the operator only.
func (l *Local) ExportRootKey(ctx context.Context) (string, []byte, error) {
	return l.Core.ExportRootKey(ctx, l.actor(ctx))
}

// TakeRootOffline drops the active root's key from the database.
func (l *Local) TakeRootOffline(ctx context.Context, fingerprint string) (time.Time, error) {
	return l.Core.TakeRootOffline(ctx, l.actor(ctx), fingerprint)
}

// SignRootCRL signs the active root's CRL.
func (l *Local) SignRootCRL(ctx context.Context, rootKey []byte) (time.Time, error) {
	key, err := parseRootKey(rootKey)
	if err != nil {
		return time.Time{}, err
	}
	return l.Core.SignRootCRL(ctx, l.actor(ctx), key)
}

// parseRootKey decodes a root key given to an operation; nil is none.
func parseRootKey(der []byte) (crypto.Signer, error) {
	if der == nil {
		return nil, nil
	}
	k, err := ca.ParseKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: the root key: %v", ErrInvalid, err)
	}
	return k, nil
}

// RenewSoon pulls the renewal window of a CA's certificates forward.
func (l *Local) RenewSoon(ctx context.Context, fingerprint string, within time.Duration) (string, RenewalWindow, error) {
	return l.Core.RenewSoon(ctx, l.actor(ctx), fingerprint, within)
}

// Revoke revokes any certificate: the operator is not bound by the owner
// rule.
func (l *Local) Revoke(ctx context.Context, id, reason string) error {
	serial, err := ca.ParseSerial(id)
	if err != nil {
		return err
	}
	code, err := ca.ParseReason(reason)
	if err != nil {
		return err
	}
	_, err = l.Core.Revoke(ctx, l.actor(ctx), core.Revocation{Serial: serial, Reason: code})
	return err
}

// Rekey replaces the key that seals the database's secrets.
func (l *Local) Rekey(ctx context.Context) (string, error) {
	return l.Core.Rekey(ctx, l.actor(ctx))
}

// KeyFile implements Operator: absolute, since the server's working
// directory need not be the command's.
func (l *Local) KeyFile(context.Context) (string, error) {
	path := l.Core.KeyFile()
	if path == "" {
		return "", nil
	}
	return filepath.Abs(path)
}

// Backup copies the database in one read transaction.
func (l *Local) Backup(ctx context.Context, w io.Writer) (int64, error) {
	return l.Core.Backup(ctx, l.actor(ctx), w)
}

// Certificates lists certificates of every user, or q.Owner's.
func (l *Local) Certificates(ctx context.Context, q inventory.Query) (inventory.Page, error) {
	return l.Core.Certificates(ctx, l.actor(ctx), q)
}

// Certificate describes one certificate by id.
func (l *Local) Certificate(ctx context.Context, id string) (inventory.Certificate, []byte, error) {
	serial, err := ca.ParseSerial(id)
	if err != nil {
		return inventory.Certificate{}, nil, err
	}
	d, c, err := l.Core.Describe(ctx, l.actor(ctx), serial)
	if err != nil {
		return inventory.Certificate{}, nil, err
	}
	return d, ca.CertPEM(c.DER), nil
}

// RootsPEM returns the active root, or every root, as PEM.
func (l *Local) RootsPEM(ctx context.Context, all bool) ([]byte, error) {
	return l.Core.RootsPEM(ctx, all)
}

// Status summarizes roots, users, certificates and the file.
func (l *Local) Status(ctx context.Context) (inventory.Summary, error) {
	return l.Core.Status(ctx, l.actor(ctx))
}

// ACMEEAB makes a new EAB key for a user.
func (l *Local) ACMEEAB(ctx context.Context, name string) (EAB, error) {
	return l.Core.ACMEEAB(ctx, l.actor(ctx), name)
}

// ACMEEABs lists the EAB keys of user, or of every user for "".
func (l *Local) ACMEEABs(ctx context.Context, user string) ([]EABInfo, error) {
	return l.Core.ACMEEABs(ctx, l.actor(ctx), user)
}

// RevokeACMEEAB deletes an EAB key and deactivates the accounts it bound.
func (l *Local) RevokeACMEEAB(ctx context.Context, kid string) (int, error) {
	return l.Core.RevokeACMEEAB(ctx, l.actor(ctx), kid)
}

// ACMEAccounts lists ACME accounts.
func (l *Local) ACMEAccounts(ctx context.Context, q ACMEAccountQuery) ([]ACMEAccountInfo, error) {
	return l.Core.ACMEAccounts(ctx, l.actor(ctx), q)
}

// DeactivateACMEAccount deactivates an ACME account for good.
func (l *Local) DeactivateACMEAccount(ctx context.Context, id string) (ACMEAccountInfo, error) {
	return l.Core.DeactivateACMEAccount(ctx, l.actor(ctx), id)
}
