package admin_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"certmaker/admin"
	"certmaker/store"
)

// TestOperator_ACMEEAB: keys are made, listed without their secret, and
// revoked: an unused key is deleted, a used one is deleted and the
// accounts it bound are deactivated, both over the socket and on the file.
func TestOperator_ACMEEAB(t *testing.T) {
	for name, mk := range operators(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			op, ops := mk(t)
			addUsers(t, op, "alice", "bob")
			used, err := op.ACMEEAB(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			unused, err := op.ACMEEAB(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			bobs, err := op.ACMEEAB(ctx, "bob")
			if err != nil {
				t.Fatal(err)
			}
			// What is printed is the stored key, and it is no option.
			stored, err := ops.DB.ACMEEABKey(used.KeyID)
			if err != nil {
				t.Fatal(err)
			}
			if raw, err := base64.RawURLEncoding.DecodeString(used.HMACKey); err != nil || string(raw) != string(stored.Key) || len(raw) != 32 {
				t.Errorf("printed HMAC key %q does not decode to the stored 32 bytes: %v", used.HMACKey, err)
			}
			// Two accounts bound with one key, one of them already deactivated.
			for i, status := range []string{"valid", "deactivated"} {
				a := store.ACMEAccount{ID: "acct" + string(rune('0'+i)), Owner: "alice", Thumbprint: "tp" + string(rune('0'+i)),
					Key: []byte(`{}`), Status: status, EABKeyID: used.KeyID}
				if _, err := ops.DB.CreateACMEAccount(a); err != nil {
					t.Fatal(err)
				}
			}

			all, err := op.ACMEEABs(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 3 {
				t.Fatalf("listed %d keys, want 3: %+v", len(all), all)
			}
			byID := map[string]admin.EABInfo{}
			for _, k := range all {
				byID[k.KeyID] = k
			}
			if k := byID[used.KeyID]; k.User != "alice" || k.Accounts != 2 || k.Created.IsZero() {
				t.Errorf("used key listed as %+v", k)
			}
			if k := byID[unused.KeyID]; k.User != "alice" || k.Accounts != 0 {
				t.Errorf("unused key listed as %+v", k)
			}
			mine, err := op.ACMEEABs(ctx, "bob")
			if err != nil || len(mine) != 1 || mine[0].KeyID != bobs.KeyID {
				t.Errorf("bob's keys: %+v, %v", mine, err)
			}
			if _, err := op.ACMEEABs(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("keys of an unknown user: %v, want ErrNotFound", err)
			}

			n, err := op.RevokeACMEEAB(ctx, unused.KeyID)
			if err != nil || n != 0 {
				t.Errorf("revoking the unused key: %d, %v", n, err)
			}
			if _, err := ops.DB.ACMEEABKey(unused.KeyID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unused key after revoke: %v", err)
			}
			n, err = op.RevokeACMEEAB(ctx, used.KeyID)
			if err != nil || n != 1 {
				t.Errorf("revoking the used key: %d deactivated, %v; want 1", n, err)
			}
			if _, err := ops.DB.ACMEEABKey(used.KeyID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("used key after revoke: %v", err)
			}
			if a, _ := ops.DB.ACMEAccount("acct0"); a.Status != "deactivated" {
				t.Errorf("account bound by the revoked key is %s", a.Status)
			}
			// The key binds no new account, even one already past its check.
			late := store.ACMEAccount{ID: "late", Owner: "alice", Thumbprint: "tp9", Key: []byte(`{}`), Status: "valid", EABKeyID: used.KeyID}
			if _, err := ops.DB.CreateACMEAccount(late); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("account bound by a revoked key: %v, want ErrNotFound", err)
			}
			if _, err := op.RevokeACMEEAB(ctx, used.KeyID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("revoking twice: %v, want ErrNotFound", err)
			}
			left, err := op.ACMEEABs(ctx, "")
			if err != nil || len(left) != 1 || left[0].KeyID != bobs.KeyID {
				t.Errorf("after revoking: %+v, %v", left, err)
			}
			// The list never carries a secret.
			listed, _ := json.Marshal(all)
			for _, k := range []admin.EAB{used, unused, bobs} {
				if strings.Contains(string(listed), k.HMACKey) {
					t.Errorf("an HMAC key in the list: %s", listed)
				}
			}
		})
	}
}

// TestOperator_ACMEAccounts: the operator lists ACME accounts (all, a
// user's, those without a binding) and deactivates one, over the socket
// and on the file alike; the account's status changes, nothing else.
func TestOperator_ACMEAccounts(t *testing.T) {
	for name, mk := range operators(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			op, ops := mk(t)
			addUsers(t, op, "alice", "bob")
			k, err := op.ACMEEAB(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range []store.ACMEAccount{
				{ID: "a-bound", Owner: "alice", Thumbprint: "tp1", Status: "valid", EABKeyID: k.KeyID, Contact: []string{"mailto:ops@home.lan"}},
				{ID: "b-stranger", Owner: "bob", Thumbprint: "tp2", Status: "valid"},
				{ID: "c-stranger", Owner: "bob", Thumbprint: "tp3", Status: "valid"},
			} {
				a.Key, a.Created = []byte(`{}`), time.Now().UTC()
				if _, err := ops.DB.CreateACMEAccount(a); err != nil {
					t.Fatal(err)
				}
			}
			ids := func(q admin.ACMEAccountQuery) []string {
				t.Helper()
				list, err := op.ACMEAccounts(ctx, q)
				if err != nil {
					t.Fatalf("ACMEAccounts(%+v): %v", q, err)
				}
				var out []string
				for _, a := range list {
					out = append(out, a.ID)
				}
				return out
			}
			for _, tc := range []struct {
				q    admin.ACMEAccountQuery
				want []string
			}{
				{admin.ACMEAccountQuery{}, []string{"a-bound", "b-stranger", "c-stranger"}},
				{admin.ACMEAccountQuery{User: "alice"}, []string{"a-bound"}},
				{admin.ACMEAccountQuery{Unbound: true}, []string{"b-stranger", "c-stranger"}},
				{admin.ACMEAccountQuery{User: "alice", Unbound: true}, nil},
			} {
				if got := ids(tc.q); !slices.Equal(got, tc.want) {
					t.Errorf("ACMEAccounts(%+v) = %v, want %v", tc.q, got, tc.want)
				}
			}
			if _, err := op.ACMEAccounts(ctx, admin.ACMEAccountQuery{User: "nobody"}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("accounts of an unknown user: %v, want ErrNotFound", err)
			}
			list, _ := op.ACMEAccounts(ctx, admin.ACMEAccountQuery{User: "alice"})
			if len(list) != 1 || list[0].EABKeyID != k.KeyID || list[0].User != "alice" || list[0].Status != "valid" || len(list[0].Contact) != 1 || list[0].Created.IsZero() {
				t.Errorf("alice's account listed as %+v", list)
			}

			got, err := op.DeactivateACMEAccount(ctx, "b-stranger")
			if err != nil || got.Status != "deactivated" || got.User != "bob" {
				t.Errorf("DeactivateACMEAccount = %+v, %v", got, err)
			}
			if a, _ := ops.DB.ACMEAccount("b-stranger"); a.Status != "deactivated" {
				t.Errorf("stored account is %s", a.Status)
			}
			if a, _ := ops.DB.ACMEAccount("c-stranger"); a.Status != "valid" {
				t.Errorf("another account is %s", a.Status)
			}
			if _, err := op.DeactivateACMEAccount(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("deactivating an unknown account: %v, want ErrNotFound", err)
			}
		})
	}
}

// addUsers adds users, neither of them an admin, through op.
func addUsers(t *testing.T, op admin.Operator, names ...string) {
	t.Helper()
	for _, u := range names {
		if _, err := op.AddUser(context.Background(), u, false); err != nil {
			t.Fatal(err)
		}
	}
}
