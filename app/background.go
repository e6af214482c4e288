package app

import (
	"context"
	"time"
)

// Start warns once if the active root ends soon, then runs the
// application's chores until ctx ends: sweeping expired challenges,
// releasing the store's mapped pages, warning daily about the root, and
// the webhook expiry warnings of [notify].
func (a *App) Start(ctx context.Context) {
	a.warnRootExpiry()
	go a.every(ctx, time.Hour, true, a.sweepChallenges)
	go a.every(ctx, time.Second, false, a.releaseMapped)
	if a.cfg.CA.ExpiryWarningDays > 0 {
		go a.every(ctx, 24*time.Hour, false, a.warnRootExpiry)
	}
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

// sweepChallenges deletes long-expired challenges, so requests that were
// never solved do not pile up in the store.
func (a *App) sweepChallenges() {
	if n, err := a.Core.SweepChallenges(context.Background()); err != nil {
		a.log.Error("sweeping expired challenges", "err", err)
	} else if n > 0 {
		a.log.Info("swept expired challenges", "count", n)
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

// warnRootExpiry logs a warning if the active root, or the intermediate
// that signs, ends within ca.expiry_warning_days: a root that expires
// takes every certificate with it, and rotating needs clients to trust the
// new root first; an intermediate is replaced without them.
func (a *App) warnRootExpiry() {
	warnDays := a.cfg.CA.ExpiryWarningDays
	in := a.Core.Authority().Active()
	if in == nil || warnDays <= 0 {
		return
	}
	window := time.Duration(warnDays) * 24 * time.Hour
	if r := in.Anchor(); r.Cert.NotAfter.Sub(a.Core.Now()) < window {
		left := r.Cert.NotAfter.Sub(a.Core.Now())
		a.log.Warn("the active root CA expires soon: run `certmaker rotate-root` and distribute the new root",
			"root", r.Fingerprint, "not_after", r.Cert.NotAfter, "days_left", int(left.Hours()/24))
	}
	if left := in.Cert.NotAfter.Sub(a.Core.Now()); !in.IsRoot() && left < window && in.Cert.NotAfter.Before(in.Anchor().Cert.NotAfter) {
		a.log.Warn("the intermediate CA expires soon: run `certmaker intermediate rotate` (devices need nothing new)",
			"intermediate", in.Fingerprint, "not_after", in.Cert.NotAfter, "days_left", int(left.Hours()/24))
	}
}
