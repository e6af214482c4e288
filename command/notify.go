package command

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/app"
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
	n, err := app.NewNotifier(cfg, nil, nil, nil)
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
