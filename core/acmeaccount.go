package core

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"

	"certmaker/ca"
	"certmaker/storage"
)

// maxContacts bounds an ACME account's contact list.
const maxContacts = 10

// NewACMEAccount asks for the ACME account of a key (RFC 8555 7.3).
type NewACMEAccount struct {
	Key        []byte // the public JWK, as JSON
	Thumbprint string // its RFC 7638 thumbprint (ca.Thumbprint)
	Contact    []string
	// OnlyExisting finds the key's account and never makes one.
	OnlyExisting bool
	// Client is the address the request came from, as the connection
	// says: accounts without a binding are counted per client.
	Client netip.Addr
	// Binding is the External Account Binding sent, nil for none.
	Binding *ACMEBinding
}

// ACMEAccountFor returns the account of the key, made now (created) or
// found. A new account acts for the user of its binding's EAB key, or,
// without a binding where none is required, for the default user; that
// user must be able to act. Errors: NoAccount (OnlyExisting),
// BindingRequired, Forbidden (a binding that does not admit it, a user who
// may not act), BadContact, UnsupportedContact, AccountInactive (the key's
// account is deactivated), Full.
func (s *Service) ACMEAccountFor(ctx context.Context, req NewACMEAccount) (_ storage.ACMEAccount, created bool, _ error) {
	// A key that has an account gets it, binding or not (RFC 8555 7.3.1:
	// 200 and its URL), as Pebble and step-ca answer: a client that lost
	// its account URL, or registers again on every run, finds it.
	existing, err := s.store.ACMEAccountByKey(req.Thumbprint)
	switch {
	case err == nil:
		return existing, false, accountActs(&existing)
	case !errors.Is(err, storage.ErrNotFound):
		return existing, false, err
	case req.OnlyExisting:
		return existing, false, Errorf(NoAccount, "no account has this key")
	}
	k, err := s.accountBinding(req)
	if err != nil {
		return storage.ACMEAccount{}, false, err
	}
	contact, err := acmeContacts(req.Contact)
	if err != nil {
		return storage.ACMEAccount{}, false, err
	}
	owner, eab := s.acme.DefaultUser, ""
	if k != nil {
		owner, eab = k.Owner, k.ID
	}
	if _, err := s.actingUser(ctx, owner, eab == ""); err != nil {
		return storage.ACMEAccount{}, false, err
	}
	st := s.store
	if eab == "" {
		// Counted and stored as one step, on every node (acmelimit.go).
		held, _, err := s.claim(ctx, claimUnboundAccounts, true)
		if err != nil {
			return storage.ACMEAccount{}, false, err
		}
		defer held.Release()
		// Not audited when refused: strangers' refusals would grow the
		// log as fast as they are sent.
		if err := s.admitUnbound(ctx, req.Client); err != nil {
			return storage.ACMEAccount{}, false, err
		}
		st = held.Fenced()
	}
	id, err := newID()
	if err != nil {
		return storage.ACMEAccount{}, false, err
	}
	a := storage.ACMEAccount{
		ID: id, Owner: owner, Thumbprint: req.Thumbprint, Key: req.Key, Contact: contact,
		Status: acmeValid, EABKeyID: eab, Created: s.ca.Now().UTC(),
	}
	got, err := st.CreateACMEAccount(a)
	switch {
	case errors.Is(err, storage.ErrExists) && got.ID != "":
		// The same key raced us to it: as for an existing account.
		return got, false, accountActs(&got)
	case errors.Is(err, storage.ErrNotFound) && eab != "":
		// The operator revoked the key since binding read it.
		return got, false, Errorf(Forbidden, "externalAccountBinding: key %q was revoked", eab)
	}
	err = s.noteWrite(ctx, err)
	s.audit(ctx, ACMEActor(&a), "acme.account.create", id, err, slog.String("eab", eab))
	return a, err == nil, err
}

// RefuseACMEAccount is what ACMEAccountFor refuses before it makes an
// account, nil if nothing: for a key that has no account, a binding that
// does not verify (Forbidden), or none where one is required
// (BindingRequired) unless the request only looks for an existing
// account. It only reads, so the ACME door asks it before it spends the
// request's nonce: strangers' refused requests then cost no write. A
// refused request replayed later gets the same refusal (EAB key ids are
// random, a key's MAC key never changes, a revoked key stays unknown), or,
// once its key has an account, that account, which is what its signer
// asked for and what answers to that key anyway.
func (s *Service) RefuseACMEAccount(_ context.Context, req NewACMEAccount) error {
	_, err := s.store.ACMEAccountByKey(req.Thumbprint)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, storage.ErrNotFound):
		return err
	}
	_, err = s.accountBinding(req)
	return err
}

// accountBinding is the EAB key req's binding verifies with, nil for
// none.
func (s *Service) accountBinding(req NewACMEAccount) (*storage.ACMEEAB, error) {
	switch {
	case req.Binding != nil:
		k, err := s.binding(req.Binding, req.Thumbprint)
		if err != nil {
			return nil, err
		}
		return &k, nil
	case s.acme.RequireEAB && !req.OnlyExisting:
		return nil, Errorf(BindingRequired,
			"this server needs an External Account Binding: ask the CA operator for a key (certmaker user acme-eab NAME)")
	}
	return nil, nil
}

// ACMEAccount reads the account a request's kid names (NoAccount if none),
// so that the door can verify the request with its key. Until then the
// door must not say more of it: ACMEAccountActs comes after.
func (s *Service) ACMEAccount(_ context.Context, id string) (storage.ACMEAccount, error) {
	a, err := s.store.ACMEAccount(id)
	if errors.Is(err, storage.ErrNotFound) {
		return a, Errorf(NoAccount, "no account %q", id)
	}
	return a, err
}

// ACMEAccountActs reports whether an account whose request verified may
// act: AccountInactive once deactivated, Forbidden while its user does not
// exist or is disabled (read per request, so `user disable` stops every
// account of the user at once).
func (s *Service) ACMEAccountActs(ctx context.Context, a *storage.ACMEAccount) error {
	if err := accountActs(a); err != nil {
		return err
	}
	_, err := s.accountUser(ctx, a)
	return err
}

// accountUser is the user an account acts for, read now: Forbidden while
// it does not exist or is disabled.
func (s *Service) accountUser(ctx context.Context, a *storage.ACMEAccount) (storage.User, error) {
	return s.actingUser(ctx, a.Owner, a.EABKeyID == "")
}

// actingUser reads the user an account acts for. An account without a
// binding is told nothing of that user, the default user (its name, its
// state): anyone can make one.
func (s *Service) actingUser(ctx context.Context, name string, unbound bool) (storage.User, error) {
	u, err := s.ActiveUser(ctx, name)
	switch k := KindOf(err); {
	case err == nil:
		return u, nil
	case unbound && (k == NotFound || k == Disabled):
		return u, Errorf(Forbidden, "accounts without an External Account Binding may not act now: ask the CA's operator")
	case k == NotFound || k == Disabled:
		return u, Errorf(Forbidden, "%w", err)
	}
	return u, err
}

// accountActs is the account's own status rule.
func accountActs(a *storage.ACMEAccount) error {
	if a.Status != acmeValid {
		return Errorf(AccountInactive, "the account is %s", a.Status)
	}
	return nil
}

// ACMEAccountUpdate changes an account (RFC 8555 7.3.2, 7.3.6): its
// contacts (nil leaves them), and Status "deactivated" deactivates it for
// good ("" leaves it).
type ACMEAccountUpdate struct {
	Status  string
	Contact *[]string
}

// UpdateACMEAccount changes the account as upd says, in one commit; an
// update that changes nothing writes nothing.
func (s *Service) UpdateACMEAccount(ctx context.Context, a *storage.ACMEAccount, upd ACMEAccountUpdate) (storage.ACMEAccount, error) {
	if upd.Status != "" && upd.Status != acmeDeactivated {
		return *a, invalidf("an account's status can only be set to %q", acmeDeactivated)
	}
	var contact []string
	if upd.Contact != nil {
		var err error
		if contact, err = acmeContacts(*upd.Contact); err != nil {
			return *a, err
		}
	}
	deactivate := upd.Status == acmeDeactivated
	if !deactivate && (upd.Contact == nil || slices.Equal(contact, a.Contact)) {
		return *a, nil
	}
	got, err := s.store.UpdateACMEAccount(a.ID, func(a *storage.ACMEAccount) error {
		if upd.Contact != nil {
			a.Contact = contact
		}
		if deactivate {
			a.Status = acmeDeactivated
		}
		return nil
	})
	err = s.noteWrite(ctx, err)
	action := "acme.account.update"
	if deactivate {
		action = "acme.account.deactivate"
	}
	s.audit(ctx, ACMEActor(a), action, a.ID, err)
	return got, err
}

// ACMEKeyChange rolls an account over to a new key (RFC 8555 7.3.5); the
// door has verified the inner JWS with the new key.
type ACMEKeyChange struct {
	OldThumbprint string // of the inner payload's oldKey
	Key           []byte // the new public JWK, as JSON
	Thumbprint    string // its thumbprint
}

// ChangeACMEKey gives the account its new key, in one commit with the key
// index. When another account holds the new key it is Exists and, if that
// account acts for the same user, returns it (RFC 8555 7.3.5: its URL
// goes in the answer).
func (s *Service) ChangeACMEKey(ctx context.Context, a *storage.ACMEAccount, kc ACMEKeyChange) (storage.ACMEAccount, error) {
	switch {
	case kc.OldThumbprint != a.Thumbprint:
		return storage.ACMEAccount{}, Errorf(Forbidden, "oldKey is not the account's current key")
	case kc.Thumbprint == a.Thumbprint:
		return storage.ACMEAccount{}, invalidf("the new key is the account's current key")
	}
	got, err := s.store.UpdateACMEAccount(a.ID, func(stored *storage.ACMEAccount) error {
		if stored.Thumbprint != kc.OldThumbprint {
			return Errorf(Forbidden, "the account's key changed meanwhile")
		}
		stored.Thumbprint, stored.Key = kc.Thumbprint, kc.Key
		return nil
	})
	if errors.Is(err, storage.ErrExists) {
		err = Errorf(Exists, "another account already has the new key")
		s.audit(ctx, ACMEActor(a), "acme.account.key", a.ID, err)
		if other, e := s.store.ACMEAccountByKey(kc.Thumbprint); e == nil && other.Owner == a.Owner {
			return other, err
		}
		return storage.ACMEAccount{}, err
	}
	err = s.noteWrite(ctx, err)
	s.audit(ctx, ACMEActor(a), "acme.account.key", a.ID, err)
	return got, err
}

// acmeOrdersPage is how many orders one page of an account's list holds.
const acmeOrdersPage = 100

// ACMEOrders lists a page of the ids of the account's orders (RFC 8555
// 7.1.2.1): from the start for after "", else after the id an earlier
// page gave as next; next is "" on the last page.
func (s *Service) ACMEOrders(_ context.Context, a *storage.ACMEAccount, after string) (ids []string, next string, err error) {
	return s.store.ACMEOrders(a.ID, after, acmeOrdersPage)
}

// acmeContacts accepts mailto: addresses only (RFC 8555 7.3), normalized.
func acmeContacts(in []string) ([]string, error) {
	if len(in) > maxContacts {
		return nil, Errorf(BadContact, "at most %d contacts", maxContacts)
	}
	var out []string
	for _, c := range in {
		addr, ok := strings.CutPrefix(c, "mailto:")
		if !ok {
			return nil, Errorf(UnsupportedContact, "contact %.100q: only mailto: is supported", c)
		}
		if strings.ContainsAny(addr, ",?") {
			return nil, Errorf(BadContact, "contact %.100q: one address, no headers", c)
		}
		n, err := ca.NormalizeEmail(addr)
		if err != nil {
			return nil, Errorf(BadContact, "contact %.100q is not an email address", c)
		}
		out = append(out, "mailto:"+n)
	}
	return out, nil
}
