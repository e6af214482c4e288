package app

import (
	"log/slog"

	"certmaker/ca"
	"certmaker/config"
	"certmaker/notify"
)

// NewNotifier builds the expiry warnings of [notify]; st and authority may
// be nil for `certmaker notify test`, which only sends.
func NewNotifier(cfg config.Config, st notify.Store, authority *ca.Authority, log *slog.Logger) (*notify.Notifier, error) {
	nc := notify.Config{
		URLs:         cfg.Notify.URLs,
		Format:       cfg.Notify.Format,
		WarnDays:     cfg.Notify.WarnDays,
		RootWarnDays: cfg.CA.ExpiryWarningDays,
		MaxDays:      cfg.Certificates.MaxDays,
		Interval:     cfg.Notify.Interval.Duration,
		PublicURL:    cfg.Server.PublicURL,
		Store:        st,
		Logger:       log,
	}
	if authority != nil {
		nc.Now = authority.Now
		nc.ActiveRoot = func() *notify.Root {
			r := authority.ActiveRoot()
			if r == nil {
				return nil
			}
			return &notify.Root{Cert: r.Cert, Fingerprint: r.Fingerprint}
		}
	}
	return notify.New(nc)
}
