package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/ca"
	"certmaker/config"
	"certmaker/notify"
)

// notifyCommand is `certmaker notify test`: proof that the [notify]
// webhooks are reached, before a real warning is due.
func notifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "notify",
		Usage: "expiry warnings by webhook ([notify] in the config)",
		Subcommands: []*cli.Command{{
			Name:   "test",
			Usage:  "post a sample warning to every notify.urls webhook and say how each went",
			Action: cmdNotifyTest,
		}},
	}
}

func cmdNotifyTest(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	if len(cfg.Notify.URLs) == 0 {
		return fmt.Errorf("notify.urls is empty in the config: there is no webhook to test")
	}
	n, err := newNotifier(cfg, nil, nil, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context, time.Minute)
	defer cancel()
	failed := 0
	for _, r := range n.Test(ctx) {
		if r.Err != nil {
			failed++
			fmt.Fprintf(c.App.Writer, "%s: failed: %v\n", r.Webhook, r.Err)
			continue
		}
		fmt.Fprintf(c.App.Writer, "%s: sent\n", r.Webhook)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d webhooks failed", failed, len(cfg.Notify.URLs))
	}
	return nil
}

// newNotifier builds the expiry notifier from [notify]; db and authority
// may be nil for `notify test`, which only sends.
func newNotifier(cfg config.Config, db notify.Store, authority *ca.Authority, log *slog.Logger) (*notify.Notifier, error) {
	nc := notify.Config{
		URLs:         cfg.Notify.URLs,
		Format:       cfg.Notify.Format,
		WarnDays:     cfg.Notify.WarnDays,
		RootWarnDays: cfg.CA.ExpiryWarningDays,
		MaxDays:      cfg.Certificates.MaxDays,
		Interval:     cfg.Notify.Interval.Duration,
		PublicURL:    cfg.Server.PublicURL,
		Store:        db,
		Logger:       log,
	}
	if authority != nil {
		nc.Now = authority.Now
		nc.ActiveRoot = func() *notify.Root {
			r := authority.Active()
			if r == nil {
				return nil
			}
			return &notify.Root{Cert: r.Cert, Fingerprint: r.Fingerprint}
		}
	}
	return notify.New(nc)
}
