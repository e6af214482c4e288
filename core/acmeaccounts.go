package core

import (
	"context"
	"log/slog"
	"time"

	"certmaker/storage"
)

// ACMEAccountInfo is one ACME account as the operator's list shows it.
type ACMEAccountInfo struct {
	ID   string `json:"id"`
	User string `json:"user"`
	// EABKeyID is the key that bound it, "" for an account without a
	// binding (require_eab = false), which acts for the default user.
	EABKeyID string    `json:"eab_key_id,omitempty"`
	Status   string    `json:"status"`
	Contact  []string  `json:"contact,omitempty"`
	Created  time.Time `json:"created"`
}

// ACMEAccountQuery selects the accounts to list: one user's ("" for
// every user's), and with Unbound only those without a binding.
type ACMEAccountQuery struct {
	User    string `json:"user,omitempty"`
	Unbound bool   `json:"unbound,omitempty"`
}

func accountInfo(a *storage.ACMEAccount) ACMEAccountInfo {
	return ACMEAccountInfo{ID: a.ID, User: a.Owner, EABKeyID: a.EABKeyID, Status: a.Status, Contact: a.Contact, Created: a.Created}
}

// ACMEAccounts lists ACME accounts for the operator (`certmaker acme
// accounts`), by id: what strangers hold with require_eab = false, or
// which accounts act for a user.
func (s *Service) ACMEAccounts(_ context.Context, a Actor, q ACMEAccountQuery) ([]ACMEAccountInfo, error) {
	if err := mayAdminister(a); err != nil {
		return nil, err
	}
	if q.User != "" {
		if _, err := s.store.User(q.User); err != nil {
			return nil, err
		}
	}
	accounts, err := s.store.ACMEAccounts(q.User)
	if err != nil {
		return nil, err
	}
	out := []ACMEAccountInfo{}
	for i := range accounts {
		if q.Unbound && accounts[i].EABKeyID != "" {
			continue
		}
		out = append(out, accountInfo(&accounts[i]))
	}
	return out, nil
}

// DeactivateACMEAccount deactivates an account for good (as RFC 8555
// 7.3.6 lets its client do): its next request is refused, and one
// without a binding is deleted by the sweep once idle (SweepACME). Its
// certificates stay valid; revoke them apart if they must go.
func (s *Service) DeactivateACMEAccount(ctx context.Context, a Actor, id string) (ACMEAccountInfo, error) {
	acct, err := s.deactivateACMEAccount(a, id)
	err = s.noteWrite(ctx, err)
	s.audit(ctx, a, "acme.account.deactivate", id, err, slogUser(acct.Owner), slog.Bool("bound", acct.EABKeyID != ""))
	if err != nil {
		return ACMEAccountInfo{}, err
	}
	return accountInfo(&acct), nil
}

func (s *Service) deactivateACMEAccount(a Actor, id string) (storage.ACMEAccount, error) {
	if err := mayAdminister(a); err != nil {
		return storage.ACMEAccount{}, err
	}
	acct, err := s.store.UpdateACMEAccount(id, func(acct *storage.ACMEAccount) error {
		acct.Status = acmeDeactivated
		return nil
	})
	return acct, err
}
