package app

import (
	"context"
	"time"

	"certmaker/core"
	"certmaker/inventory"
)

// Start warns once if the active root ends soon, then runs the
// application's chores until ctx ends: following the roots other nodes of
// a shared store change, sweeping expired challenges and ACME orders,
// completing unfinished indexes (etcd), releasing the store's mapped pages, warning daily about the root, and
// the webhook expiry warnings of [notify].
func (a *App) Start(ctx context.Context) {
	a.Core.FollowRoots(ctx)
	a.warnRootExpiry()
	a.warnACMEDefaultUser(ctx)
	go a.every(ctx, time.Hour, true, a.sweep)
	go a.every(ctx, time.Minute, false, a.repair)
	go a.every(ctx, time.Second, false, a.releaseMapped)
	go a.every(ctx, 24*time.Hour, false, a.warnRootExpiry)
	if a.self != nil {
		every := a.opts.TLSRenewEvery
		if every <= 0 {
			every = time.Minute
		}
		go a.every(ctx, every, false, a.renewTLS)
	}
	if a.notifier.Enabled() {
		a.log.Info("expiry warnings by webhook", "webhooks", a.notifier.Webhooks(), "format", a.cfg.Notify.Format)
		go a.notifier.Run(ctx)
	}
}

// warnACMEDefaultUser warns when accounts without a binding would act for
// a user who does not exist. Only once serving: the first start makes the
// admin user just before, and "admin" is a fine default_user.
func (a *App) warnACMEDefaultUser(ctx context.Context) {
	c := a.cfg.ACME
	if !c.Enabled || c.RequireEAB {
		return
	}
	if _, err := a.Core.ActiveUser(ctx, c.DefaultUser); core.KindOf(err) == core.NotFound {
		a.log.Warn("acme.default_user does not exist yet: ACME accounts without a binding are refused until it does",
			"user", c.DefaultUser)
	}
}

// every runs fn each period until ctx ends (first at once if now).
func (a *App) every(ctx context.Context, period time.Duration, now bool, fn func()) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	if now {
		fn()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			fn()
		}
	}
}

// renewTLS renews the CA's own server certificate when it is due; a
// failure is retried at the next check while the old one still serves.
func (a *App) renewTLS() {
	if err := a.self.renew(context.Background()); err != nil {
		a.log.Error("renewing the server's own certificate", "err", err)
	}
}

// RenewTLS renews the CA's own server certificate now if it is due.
func (a *App) RenewTLS(ctx context.Context) error {
	if a.self == nil {
		return nil
	}
	return a.self.renew(ctx)
}

// sweep deletes long-expired challenges and ACME orders and
// authorizations, so requests that were never finished do not pile up in
// the store.
func (a *App) sweep() {
	if n, err := a.Core.SweepChallenges(context.Background()); err != nil {
		a.log.Error("sweeping expired challenges", "err", err)
	} else if n > 0 {
		a.log.Info("swept expired challenges", "count", n)
	}
	if n, err := a.Core.SweepACME(context.Background()); err != nil {
		a.log.Error("sweeping expired ACME orders and authorizations", "err", err)
	} else if n > 0 {
		a.log.Info("swept expired ACME orders and authorizations", "count", n)
	}
}

// repair completes the indexes a writer left unfinished (etcd: a large
// certificate's name entries, should the writer fail between its
// transactions), on one node of a cluster at a time. Once a minute: with
// nothing to repair it is one range read.
func (a *App) repair() {
	if n, err := a.Core.RepairIndexes(context.Background()); err != nil {
		a.log.Error("completing unfinished certificate indexes", "err", err)
	} else if n > 0 {
		a.log.Info("completed the name index of certificates a writer left unfinished", "count", n)
	}
}

// releaseMapped keeps the database's mmap'd pages from piling up in the
// server's resident set (store.DB.ReleaseMapped): under sustained issuance
// every page a commit reads stays counted, and each fault maps the 64 KiB
// around it, so on a large file whose free pages lie scattered RSS grew by
// tens of MB a second. Once a second costs a page-table walk of the file's
// mapping (about 0.1 ms on a 2.4 GB file) and bounds RSS to tens of MB.
func (a *App) releaseMapped() {
	if err := a.Core.ReleaseMapped(); err != nil {
		a.log.Warn("releasing mapped database pages", "err", err)
	}
}

// warnRootExpiry logs what about the CA ends soon, as `certmaker status`
// and the dashboard show it (inventory.Warnings): a root that expires
// takes every certificate with it, and rotating needs clients to trust the
// new root first; an intermediate is replaced without them; an offline
// root's CRL needs its key brought out.
func (a *App) warnRootExpiry() {
	warnings, err := a.Core.Warnings()
	if err != nil {
		a.log.Error("reading the roots to warn about", "err", err)
		return
	}
	for _, w := range warnings {
		switch w.Kind {
		case inventory.RootExpires:
			a.log.Warn("the active root CA expires soon: run `certmaker rotate-root` and distribute the new root",
				"root", w.Fingerprint, "not_after", w.At, "days_left", w.DaysLeft)
		case inventory.IntermediateExpires:
			a.log.Warn("the intermediate CA expires soon: run `certmaker intermediate rotate` (devices need nothing new)",
				"intermediate", w.Fingerprint, "not_after", w.At, "days_left", w.DaysLeft)
		case inventory.RootCRLMissing:
			a.log.Warn("the offline root has no CRL: sign one with `certmaker root crl --root-key FILE`", "root", w.Fingerprint)
		case inventory.RootCRLExpires:
			a.log.Warn("the offline root's CRL expires soon: sign the next one with `certmaker root crl --root-key FILE`",
				"root", w.Fingerprint, "next_update", w.At, "days_left", w.DaysLeft)
		}
	}
}
