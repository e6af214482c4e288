package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"certmaker/storage"
)

func newAccount(id, owner string) storage.ACMEAccount {
	return storage.ACMEAccount{ID: id, Owner: owner, Thumbprint: "tp-" + id, Key: []byte(`{"kty":"EC"}`), Status: "valid", Created: base}
}

// newOrder is an order of n identifiers with one authorization each.
func newOrder(id, account string, n int) (storage.ACMEOrder, []storage.ACMEAuthz) {
	o := storage.ACMEOrder{ID: id, Account: account, Status: "pending", Expires: base.Add(time.Hour), Created: base}
	var azs []storage.ACMEAuthz
	for i := range n {
		ident := storage.ACMEIdentifier{Type: "dns", Value: fmt.Sprintf("%s-%d.example.com", id, i)}
		az := storage.ACMEAuthz{
			ID: fmt.Sprintf("%s-az%d", id, i), Account: account, Order: id, Identifier: ident, Status: "pending", Expires: o.Expires,
			Challenges: []storage.ACMEChallenge{{ID: fmt.Sprintf("%s-ch%d", id, i), Type: "http-01", Token: "t", Status: "pending"}},
		}
		o.Identifiers = append(o.Identifiers, ident)
		o.Authzs = append(o.Authzs, az.ID)
		azs = append(azs, az)
	}
	return o, azs
}

func testACMEAccounts(t *testing.T, h *harness) {
	s := h.store(t)
	key, err := s.ACMENonceKey()
	if err != nil || len(key) != 32 {
		t.Fatalf("ACMENonceKey = %d bytes, %v", len(key), err)
	}
	if again, _ := s.ACMENonceKey(); string(again) != string(key) {
		t.Error("ACMENonceKey changed between calls")
	}

	must(t, "CreateUser", s.CreateUser(newUser("alice")))
	eab := storage.ACMEEAB{ID: "kid1", Owner: "alice", Key: randomBytes(32), Created: base}
	must(t, "CreateACMEEAB", s.CreateACMEEAB(eab))
	wantErr(t, "CreateACMEEAB of a used id", s.CreateACMEEAB(eab), storage.ErrExists)
	wantErr(t, "CreateACMEEAB for nobody", s.CreateACMEEAB(storage.ACMEEAB{ID: "kid2", Owner: "nobody", Key: randomBytes(32)}), storage.ErrNotFound)
	if got, err := s.ACMEEABKey("kid1"); err != nil || string(got.Key) != string(eab.Key) || got.Owner != "alice" {
		t.Errorf("ACMEEABKey = %+v, %v", got, err)
	}
	_, err = s.ACMEEABKey("kid9")
	wantErr(t, "ACMEEABKey(unknown)", err, storage.ErrNotFound)

	a := newAccount("acc1", "alice")
	a.EABKeyID = "kid1"
	if _, err := s.CreateACMEAccount(a); err != nil {
		t.Fatal(err)
	}
	// One account per key: the existing one comes back with ErrExists.
	b := newAccount("acc2", "alice")
	b.Thumbprint = a.Thumbprint
	existing, err := s.CreateACMEAccount(b)
	wantErr(t, "CreateACMEAccount with a used key", err, storage.ErrExists)
	if existing.ID != "acc1" {
		t.Errorf("CreateACMEAccount with a used key returned %q, want acc1", existing.ID)
	}
	unbound := newAccount("acc3", "alice")
	unbound.EABKeyID = "kid9"
	_, err = s.CreateACMEAccount(unbound)
	wantErr(t, "CreateACMEAccount with an unknown EAB key", err, storage.ErrNotFound)
	if got, err := s.ACMEAccountByKey(a.Thumbprint); err != nil || got.ID != "acc1" || got.Owner != "alice" {
		t.Errorf("ACMEAccountByKey = %+v, %v", got, err)
	}
	_, err = s.ACMEAccount("acc3")
	wantErr(t, "ACMEAccount(refused one)", err, storage.ErrNotFound)
	if n, err := s.CountUnboundACMEAccounts(); err != nil || n != 0 {
		t.Errorf("CountUnboundACMEAccounts = %d, %v; want 0 (one bound account)", n, err)
	}

	// Key change moves the key index in the same commit.
	c := newAccount("acc4", "alice")
	if _, err := s.CreateACMEAccount(c); err != nil {
		t.Fatal(err)
	}
	got, err := s.UpdateACMEAccount("acc1", func(a *storage.ACMEAccount) error { a.Thumbprint = "tp-new"; return nil })
	if err != nil || got.Thumbprint != "tp-new" {
		t.Errorf("UpdateACMEAccount = %+v, %v", got, err)
	}
	_, err = s.ACMEAccountByKey("tp-acc1")
	wantErr(t, "the old key after a key change", err, storage.ErrNotFound)
	if got, err := s.ACMEAccountByKey("tp-new"); err != nil || got.ID != "acc1" {
		t.Errorf("the new key: %+v, %v", got, err)
	}
	_, err = s.UpdateACMEAccount("acc4", func(a *storage.ACMEAccount) error { a.Thumbprint = "tp-new"; return nil })
	wantErr(t, "a key change to another account's key", err, storage.ErrExists)
	if got, _ := s.ACMEAccountByKey("tp-acc4"); got.ID != "acc4" {
		t.Error("a refused key change moved the index")
	}
	_, err = s.UpdateACMEAccount("acc9", func(*storage.ACMEAccount) error { return nil })
	wantErr(t, "UpdateACMEAccount(unknown)", err, storage.ErrNotFound)
	if _, err := s.UpdateACMEAccount("acc4", func(a *storage.ACMEAccount) error { a.ID = "acc5"; return nil }); err == nil {
		t.Error("UpdateACMEAccount changed an account's id")
	}
	if _, err := s.ACMEAccount("acc5"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("an account under a changed id: %v", err)
	}

	// The listing, by owner or of everyone, in the order of their ids.
	bobs := newAccount("acc0", "bob")
	if _, err := s.CreateACMEAccount(bobs); err != nil {
		t.Fatal(err)
	}
	listed := func(owner string) []string {
		t.Helper()
		accounts, err := s.ACMEAccounts(owner)
		if err != nil {
			t.Fatalf("ACMEAccounts(%q): %v", owner, err)
		}
		var ids []string
		for _, a := range accounts {
			ids = append(ids, a.ID)
			if a.Owner == "" || a.Thumbprint == "" || a.Created.IsZero() {
				t.Errorf("ACMEAccounts(%q) lists %+v", owner, a)
			}
		}
		return ids
	}
	for owner, want := range map[string][]string{"alice": {"acc1", "acc4"}, "": {"acc0", "acc1", "acc4"}, "bob": {"acc0"}, "nobody": nil} {
		if got := listed(owner); !slices.Equal(got, want) {
			t.Errorf("ACMEAccounts(%q) = %v, want %v", owner, got, want)
		}
	}
	if n, err := s.CountUnboundACMEAccounts(); err != nil || n != 2 {
		t.Errorf("CountUnboundACMEAccounts = %d, %v; want 2 (acc4, acc0)", n, err)
	}

	infos, err := s.ACMEEABs("alice")
	if err != nil || len(infos) != 1 || infos[0].ID != "kid1" || infos[0].Accounts != 1 {
		t.Errorf("ACMEEABs(alice) = %+v, %v", infos, err)
	}
	_, err = s.ACMEEABs("nobody")
	wantErr(t, "ACMEEABs(nobody)", err, storage.ErrNotFound)
	// Revoking the key deactivates what it bound, and no account binds it again.
	n, err := s.RevokeACMEEAB("kid1")
	if err != nil || n != 1 {
		t.Errorf("RevokeACMEEAB = %d, %v; want 1", n, err)
	}
	if got, _ := s.ACMEAccount("acc1"); got.Status != "deactivated" {
		t.Errorf("an account of a revoked EAB key is %q", got.Status)
	}
	if got, _ := s.ACMEAccount("acc4"); got.Status != "valid" {
		t.Errorf("an account of no EAB key is %q after another key's revocation", got.Status)
	}
	if _, err := s.UpdateACMEAccount("acc4", func(a *storage.ACMEAccount) error { a.Status = "deactivated"; return nil }); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountUnboundACMEAccounts(); err != nil || n != 2 {
		t.Errorf("CountUnboundACMEAccounts = %d, %v; want 2 (acc0, and acc4 deactivated or not)", n, err)
	}
	late := newAccount("acc5", "alice")
	late.EABKeyID = "kid1"
	_, err = s.CreateACMEAccount(late)
	wantErr(t, "CreateACMEAccount with a revoked EAB key", err, storage.ErrNotFound)
	_, err = s.RevokeACMEEAB("kid1")
	wantErr(t, "RevokeACMEEAB again", err, storage.ErrNotFound)
}

func testACMEOrders(t *testing.T, h *harness) {
	s := h.store(t)
	o, azs := newOrder("o1", "acc1", 2)
	must(t, "CreateACMEOrder", s.CreateACMEOrder(o, azs))
	wantErr(t, "CreateACMEOrder of a used id", s.CreateACMEOrder(o, nil), storage.ErrExists)
	o2, azs2 := newOrder("o2", "acc1", 1)
	azs2[0].ID = azs[0].ID
	wantErr(t, "CreateACMEOrder with a used authorization id", s.CreateACMEOrder(o2, azs2), storage.ErrExists)
	_, err := s.ACMEOrder("o2")
	wantErr(t, "a refused order", err, storage.ErrNotFound)
	o3, azs3 := newOrder("o3", "acc1", 1)
	must(t, "CreateACMEOrder", s.CreateACMEOrder(o3, azs3))
	ids, next, err := s.ACMEOrders("acc1", "", 10)
	slices.Sort(ids)
	if err != nil || !slices.Equal(ids, []string{"o1", "o3"}) || next != "" {
		t.Errorf("ACMEOrders = %v, %q, %v", ids, next, err)
	}
	if ids, _, _ := s.ACMEOrders("acc", "", 10); len(ids) != 0 {
		t.Errorf("ACMEOrders of a prefix of an account = %v", ids)
	}
	if n, first, err := s.CountACMEIdentifiers("acc1", base); err != nil || n != 3 || !first.Equal(o.Expires) {
		t.Errorf("CountACMEIdentifiers = %d, %v, %v; want 3 (o1's 2 and o3's 1), the first expiring at %v", n, first, err, o.Expires)
	}
	if n, first, err := s.CountACMEIdentifiers("acc1", o.Expires); err != nil || n != 0 || !first.IsZero() {
		t.Errorf("CountACMEIdentifiers at their expiry = %d, %v, %v; want 0 and no time", n, first, err)
	}
	if n, _, err := s.CountACMEIdentifiers("acc", base); err != nil || n != 0 {
		t.Errorf("CountACMEIdentifiers of a prefix of an account = %d, %v", n, err)
	}
	// The first to expire of several, whatever the order they were made.
	early, earlyAzs := newOrder("early", "acc1", 1)
	early.Expires = base.Add(30 * time.Minute)
	earlyAzs[0].Expires = early.Expires
	must(t, "CreateACMEOrder", s.CreateACMEOrder(early, earlyAzs))
	if n, first, err := s.CountACMEIdentifiers("acc1", base); err != nil || n != 4 || !first.Equal(early.Expires) {
		t.Errorf("CountACMEIdentifiers = %d, %v, %v; want 4, the first expiring at %v", n, first, err, early.Expires)
	}
	if ids, _, _ := s.ACMEOrders("acc1", "", 10); len(ids) != 3 {
		t.Errorf("ACMEOrders = %v, want 3", ids)
	}
	// Pages: each id once, in pages of at most the limit.
	var all []string
	for i := range 5 {
		po, pazs := newOrder(fmt.Sprintf("p%d", i), "pager", 1)
		must(t, "CreateACMEOrder", s.CreateACMEOrder(po, pazs))
		all = append(all, po.ID)
	}
	var paged []string
	after := ""
	for pages := 1; ; pages++ {
		ids, next, err := s.ACMEOrders("pager", after, 2)
		if err != nil || len(ids) > 2 || len(ids) == 0 {
			t.Fatalf("ACMEOrders page %d = %v, %q, %v", pages, ids, next, err)
		}
		paged = append(paged, ids...)
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatalf("ACMEOrders pages without end: %v", paged)
		}
		after = next
	}
	slices.Sort(paged)
	if !slices.Equal(paged, all) {
		t.Errorf("ACMEOrders in pages of 2 = %v, want %v", paged, all)
	}
	if got, err := s.ACMEOrder("o1"); err != nil || !slices.Equal(got.Authzs, o.Authzs) || got.Status != "pending" || !got.Expires.Equal(o.Expires) {
		t.Errorf("ACMEOrder = %+v, %v", got, err)
	}

	// An authorization and its order change in one commit: the order
	// callback sees every authorization as it stands after fn.
	valid := func(az *storage.ACMEAuthz) error { az.Status = "valid"; return nil }
	ready := func(o *storage.ACMEOrder, all []storage.ACMEAuthz) error {
		for _, az := range all {
			if az.Status != "valid" {
				return nil
			}
		}
		o.Status = "ready"
		return nil
	}
	az, ord, err := s.UpdateACMEAuthz(azs[0].ID, valid, ready)
	if err != nil || az.Status != "valid" || ord.Status != "pending" {
		t.Errorf("first authorization valid: %s, order %s, %v; want the order still pending", az.Status, ord.Status, err)
	}
	_, ord, err = s.UpdateACMEAuthz(azs[1].ID, valid, ready)
	if err != nil || ord.Status != "ready" {
		t.Errorf("both valid: order %s, %v; want ready", ord.Status, err)
	}
	if got, _ := s.ACMEOrder("o1"); got.Status != "ready" {
		t.Errorf("stored order is %s, want ready", got.Status)
	}
	_, _, err = s.UpdateACMEAuthz(azs3[0].ID, func(az *storage.ACMEAuthz) error { az.Status = "valid"; return errRefused }, ready)
	wantErr(t, "UpdateACMEAuthz refused", err, errRefused)
	if got, _ := s.ACMEAuthz(azs3[0].ID); got.Status != "pending" {
		t.Errorf("a refused authorization update was stored: %s", got.Status)
	}
	_, _, err = s.UpdateACMEAuthz(azs3[0].ID, valid, func(*storage.ACMEOrder, []storage.ACMEAuthz) error { return errRefused })
	wantErr(t, "UpdateACMEAuthz refused by the order callback", err, errRefused)
	if got, _ := s.ACMEAuthz(azs3[0].ID); got.Status != "pending" {
		t.Errorf("the authorization was stored though its order callback refused")
	}
	_, _, err = s.UpdateACMEAuthz("nope", valid, nil)
	wantErr(t, "UpdateACMEAuthz(unknown)", err, storage.ErrNotFound)
	if _, _, err := s.UpdateACMEAuthz(azs3[0].ID, func(az *storage.ACMEAuthz) error { az.ID = "renamed"; return nil }, nil); err == nil {
		t.Error("UpdateACMEAuthz changed an authorization's id")
	}

	// The certificate and the order that names it, in one commit.
	c := newCert("alice")
	c.KeyPKCS8 = nil
	_, err = s.PutACMECertificate("o3", newCert("alice"), func(*storage.ACMEOrder) error { return errRefused })
	wantErr(t, "PutACMECertificate refused", err, errRefused)
	got, err := s.PutACMECertificate("o1", c, func(o *storage.ACMEOrder) error {
		o.Status, o.Serial = "valid", c.Serial
		return nil
	})
	if err != nil || got.Status != "valid" || got.Serial.Cmp(c.Serial) != 0 {
		t.Fatalf("PutACMECertificate = %+v, %v", got, err)
	}
	if stored, err := s.Certificate(c.Serial); err != nil {
		t.Errorf("the order's certificate: %v", err)
	} else {
		sameCert(t, &stored, c)
	}
	if byS, err := s.ACMEOrderBySerial(c.Serial); err != nil || byS.ID != "o1" {
		t.Errorf("ACMEOrderBySerial = %+v, %v", byS, err)
	}
	_, err = s.PutACMECertificate("o1", newCert("alice"), func(o *storage.ACMEOrder) error { return nil })
	wantErr(t, "PutACMECertificate for an order that has one", err, storage.ErrExists)
	other := newCert("alice")
	_, err = s.PutACMECertificate("o3", other, func(o *storage.ACMEOrder) error { o.Status = "valid"; return nil })
	if err == nil {
		t.Error("PutACMECertificate stored an order that does not name its certificate")
	}
	_, err = s.Certificate(other.Serial)
	wantErr(t, "a refused PutACMECertificate's certificate", err, storage.ErrNotFound)
	_, err = s.ACMEOrderBySerial(newSerial())
	wantErr(t, "ACMEOrderBySerial(not ACME's)", err, storage.ErrNotFound)

	// UpdateACMEOrder: a serial set here is found by serial too.
	serial := newSerial()
	if _, err := s.UpdateACMEOrder("o3", func(o *storage.ACMEOrder) error { o.Serial = serial; return nil }); err != nil {
		t.Fatal(err)
	}
	if byS, err := s.ACMEOrderBySerial(serial); err != nil || byS.ID != "o3" {
		t.Errorf("ACMEOrderBySerial after UpdateACMEOrder = %+v, %v", byS, err)
	}
	_, err = s.UpdateACMEOrder("o3", func(o *storage.ACMEOrder) error { o.Status = "invalid"; return errRefused })
	wantErr(t, "UpdateACMEOrder refused", err, errRefused)
	if got, _ := s.ACMEOrder("o3"); got.Status == "invalid" {
		t.Error("a refused UpdateACMEOrder was stored")
	}
	_, err = s.UpdateACMEOrder("nope", func(*storage.ACMEOrder) error { return nil })
	wantErr(t, "UpdateACMEOrder(unknown)", err, storage.ErrNotFound)
	for what, fn := range map[string]func(*storage.ACMEOrder) error{
		"id":      func(o *storage.ACMEOrder) error { o.ID = "o9"; return nil },
		"account": func(o *storage.ACMEOrder) error { o.Account = "acc0"; return nil },
	} {
		if _, err := s.UpdateACMEOrder("o3", fn); err == nil {
			t.Errorf("UpdateACMEOrder changed an order's %s", what)
		}
	}
	if got, err := s.ACMEOrder("o3"); err != nil || got.Account == "acc0" {
		t.Errorf("order o3 after refused changes: %+v, %v", got, err)
	}
}

// testACMESweep: DeleteExpiredACME, in batches as small as one record,
// deletes the orders that are not valid and the authorizations that
// expired before its time, with the indexes that name them; an order goes
// only with its own authorizations, once they are due too; a valid order
// stays, and so does everything not due.
func testACMESweep(t *testing.T, h *harness) {
	s := h.store(t)
	before := base.Add(2 * time.Hour)
	soon, later := base.Add(time.Hour), base.Add(3*time.Hour)
	order := func(id string, n int, expires, azExpires time.Time) (storage.ACMEOrder, []storage.ACMEAuthz) {
		o, azs := newOrder(id, "acc1", n)
		o.Expires = expires
		for i := range azs {
			azs[i].Expires = azExpires
		}
		return o, azs
	}
	old, oldAzs := order("old", 2, soon, soon)
	must(t, "CreateACMEOrder", s.CreateACMEOrder(old, oldAzs))
	fresh, freshAzs := order("fresh", 1, later, later)
	must(t, "CreateACMEOrder", s.CreateACMEOrder(fresh, freshAzs))
	// An expired order that reused fresh's authorization: it goes, the
	// authorization stays with fresh.
	reuser, _ := order("reuser", 0, soon, soon)
	reuser.Identifiers, reuser.Authzs = fresh.Identifiers, fresh.Authzs
	must(t, "CreateACMEOrder", s.CreateACMEOrder(reuser, nil))
	// An expired order whose own authorization is not due yet stays.
	lateOwn, lateOwnAzs := order("late-own", 1, soon, later)
	must(t, "CreateACMEOrder", s.CreateACMEOrder(lateOwn, lateOwnAzs))
	// A valid order stays for good; its authorization goes when due.
	valid, validAzs := order("valid", 1, soon, soon)
	must(t, "CreateACMEOrder", s.CreateACMEOrder(valid, validAzs))
	c := newCert("alice")
	c.KeyPKCS8 = nil
	if _, err := s.PutACMECertificate("valid", c, func(o *storage.ACMEOrder) error {
		o.Status, o.Serial = "valid", c.Serial
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	sweep := func(max int) int {
		t.Helper()
		return sweepAll(t, s, storage.ACMESweep{Before: before, Max: max})
	}
	// old, its 2 authorizations, reuser, valid's authorization.
	if n := sweep(1); n != 5 {
		t.Errorf("DeleteExpiredACME deleted %d, want 5", n)
	}
	for _, id := range []string{"old", "reuser"} {
		_, err := s.ACMEOrder(id)
		wantErr(t, "ACMEOrder("+id+") after the sweep", err, storage.ErrNotFound)
	}
	for _, az := range append(oldAzs, validAzs...) {
		_, err := s.ACMEAuthz(az.ID)
		wantErr(t, "ACMEAuthz("+az.ID+") after the sweep", err, storage.ErrNotFound)
		_, err = s.ACMEAuthzFor("acc1", az.Identifier)
		wantErr(t, "ACMEAuthzFor of a swept authorization", err, storage.ErrNotFound)
	}
	for _, id := range []string{"fresh", "late-own", "valid"} {
		if _, err := s.ACMEOrder(id); err != nil {
			t.Errorf("ACMEOrder(%s) after the sweep: %v", id, err)
		}
	}
	for _, az := range append(freshAzs, lateOwnAzs...) {
		if _, err := s.ACMEAuthz(az.ID); err != nil {
			t.Errorf("ACMEAuthz(%s) after the sweep: %v", az.ID, err)
		}
	}
	if got, err := s.ACMEAuthzFor("acc1", freshAzs[0].Identifier); err != nil || got.ID != freshAzs[0].ID {
		t.Errorf("ACMEAuthzFor of a kept authorization = %+v, %v", got, err)
	}
	if byS, err := s.ACMEOrderBySerial(c.Serial); err != nil || byS.ID != "valid" {
		t.Errorf("ACMEOrderBySerial of the valid order after the sweep = %+v, %v", byS, err)
	}
	ids, _, err := s.ACMEOrders("acc1", "", 10)
	slices.Sort(ids)
	if err != nil || !slices.Equal(ids, []string{"fresh", "late-own", "valid"}) {
		t.Errorf("ACMEOrders after the sweep = %v, %v", ids, err)
	}
	if n := sweep(1000); n != 0 {
		t.Errorf("a second sweep deleted %d", n)
	}
	// Later, late-own goes with its authorization, fresh too.
	before = later.Add(time.Minute)
	if n := sweep(2); n != 4 {
		t.Errorf("the sweep after everything expired deleted %d, want 4", n)
	}
	if ids, _, _ := s.ACMEOrders("acc1", "", 10); !slices.Equal(ids, []string{"valid"}) {
		t.Errorf("ACMEOrders at the end = %v, want only the valid order", ids)
	}
}

// testACMEUnbound: what accounts without a binding leave behind is
// bounded. Their certificates are counted for good; a valid order of
// theirs goes once its certificate has expired (the certificate stays);
// the account itself goes once it has no order left and nothing of it
// (its creation, an order, a certificate) has lasted to the idle time.
// Accounts with a binding and their valid orders stay.
func testACMEUnbound(t *testing.T, h *harness) {
	s := h.store(t)
	must(t, "CreateUser", s.CreateUser(newUser("alice")))
	must(t, "CreateACMEEAB", s.CreateACMEEAB(storage.ACMEEAB{ID: "kid1", Owner: "alice", Key: randomBytes(32), Created: base}))
	bound := newAccount("bound", "alice")
	bound.EABKeyID = "kid1"
	for _, a := range []storage.ACMEAccount{bound, newAccount("idle", "bob"), newAccount("orders", "bob"), newAccount("certs", "bob")} {
		if _, err := s.CreateACMEAccount(a); err != nil {
			t.Fatal(err)
		}
	}
	// "orders" has an order that expires in five hours.
	pending, pendingAzs := newOrder("pending", "orders", 1)
	pending.Expires, pendingAzs[0].Expires = base.Add(5*time.Hour), base.Add(5*time.Hour)
	must(t, "CreateACMEOrder", s.CreateACMEOrder(pending, pendingAzs))
	// "certs" and "bound" each have a certificate for two days.
	finalize := func(id, account string) *storage.Certificate {
		t.Helper()
		o, azs := newOrder(id, account, 1)
		must(t, "CreateACMEOrder", s.CreateACMEOrder(o, azs))
		c := newCert("bob")
		c.KeyPKCS8, c.NotAfter = nil, base.Add(48*time.Hour)
		if _, err := s.PutACMECertificate(id, c, func(o *storage.ACMEOrder) error {
			o.Status, o.Serial = "valid", c.Serial
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	unboundCert, boundCert := finalize("unbound-valid", "certs"), finalize("bound-valid", "bound")
	if n, err := s.CountUnboundACMECertificates(); err != nil || n != 1 {
		t.Errorf("CountUnboundACMECertificates = %d, %v; want 1 (not the bound account's)", n, err)
	}
	sweep := func(before, idle time.Time) int {
		t.Helper()
		return sweepAll(t, s, storage.ACMESweep{Before: before, Idle: idle, Max: 1})
	}
	gone := func(id string) {
		t.Helper()
		_, err := s.ACMEAccount(id)
		wantErr(t, "ACMEAccount("+id+") after the sweep", err, storage.ErrNotFound)
		_, err = s.ACMEAccountByKey("tp-" + id)
		wantErr(t, "ACMEAccountByKey of "+id+" after the sweep", err, storage.ErrNotFound)
	}
	kept := func(id string) {
		t.Helper()
		if _, err := s.ACMEAccount(id); err != nil {
			t.Errorf("ACMEAccount(%s): %v, want it kept", id, err)
		}
	}

	// Without Idle no account goes, however old.
	sweep(base, time.Time{})
	kept("idle")
	// An hour on: "idle" never ordered and goes; the others are kept by
	// an order and a certificate that last longer.
	if n := sweep(base, base.Add(time.Hour)); n != 1 {
		t.Errorf("the sweep deleted %d, want 1 (the idle account)", n)
	}
	gone("idle")
	kept("orders")
	kept("certs")
	kept("bound")
	if n, err := s.CountUnboundACMEAccounts(); err != nil || n != 2 {
		t.Errorf("CountUnboundACMEAccounts = %d, %v; want 2", n, err)
	}
	// Its key may make an account again.
	again := newAccount("again", "bob")
	again.Thumbprint, again.Created = "tp-idle", base.Add(100*time.Hour)
	if _, err := s.CreateACMEAccount(again); err != nil {
		t.Errorf("CreateACMEAccount with the key of a deleted account: %v", err)
	}

	// Three days on, the certificates have expired: the unbound
	// account's valid order goes, its certificate stays; then both
	// unbound accounts have nothing left and go; the bound account and
	// its valid order stay.
	sweep(base.Add(72*time.Hour), base.Add(72*time.Hour))
	_, err := s.ACMEOrder("unbound-valid")
	wantErr(t, "the unbound account's valid order after its certificate expired", err, storage.ErrNotFound)
	_, err = s.ACMEOrderBySerial(unboundCert.Serial)
	wantErr(t, "ACMEOrderBySerial of its certificate", err, storage.ErrNotFound)
	if _, err := s.Certificate(unboundCert.Serial); err != nil {
		t.Errorf("the certificate of a swept order: %v, want it kept", err)
	}
	if o, err := s.ACMEOrderBySerial(boundCert.Serial); err != nil || o.ID != "bound-valid" {
		t.Errorf("the bound account's valid order: %+v, %v; want it kept", o, err)
	}
	gone("orders")
	gone("certs")
	kept("bound")
	kept("again")
	if ids, _, _ := s.ACMEOrders("certs", "", 10); len(ids) != 0 {
		t.Errorf("ACMEOrders of a deleted account = %v", ids)
	}
	if n, err := s.CountUnboundACMEAccounts(); err != nil || n != 1 {
		t.Errorf("CountUnboundACMEAccounts = %d, %v; want 1 (again)", n, err)
	}
	if n, err := s.CountUnboundACMECertificates(); err != nil || n != 1 {
		t.Errorf("CountUnboundACMECertificates after the sweep = %d, %v; want 1 still", n, err)
	}
}

// sweepAll runs the sweep q in batches until it says it is done and
// returns how many records it deleted.
func sweepAll(t *testing.T, s storage.Store, q storage.ACMESweep) int {
	t.Helper()
	n, _ := SweepACME(t, s, q)
	return n
}

// SweepACME runs the ACME sweep q on s in batches until it says it is
// done, and returns how many records it deleted and in how many batches:
// for a backend's own tests of what its sweep costs.
func SweepACME(t testing.TB, s storage.Store, q storage.ACMESweep) (deleted, batches int) {
	t.Helper()
	for {
		n, next, err := s.DeleteExpiredACME(q)
		if err != nil {
			t.Fatalf("DeleteExpiredACME batch %d: %v", batches+1, err)
		}
		deleted += n
		batches++
		if next == "" {
			return deleted, batches
		}
		if batches > 10000 {
			t.Fatal("DeleteExpiredACME never ends")
		}
		q.After = next
	}
}
