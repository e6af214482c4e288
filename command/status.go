package command

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/inventory"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name: "status", Usage: "print a short health summary",
		Flags:  []cli.Flag{jsonFlag},
		Action: cmdStatus,
	}
}

func cmdStatus(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	warnDays := cfg.CA.ExpiryWarningDays
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		s, err := op.Status(ctx)
		if err != nil {
			return err
		}
		if c.Bool("json") {
			s.Roots = nonNil(s.Roots)
			return writeJSON(c.App.Writer, s)
		}
		w := c.App.Writer
		now := time.Now()
		for _, r := range s.Roots {
			state := "retired"
			if r.Active {
				state = "ACTIVE"
			}
			warn := ""
			if r.Active && r.DaysLeft < warnDays {
				warn = fmt.Sprintf("  (under %d days left: plan a rotate-root)", warnDays)
			}
			key := "root key online"
			switch {
			case r.OneTier:
				key = "one-tier: signs certificates itself"
			case !r.KeyOnline:
				key = "root key OFFLINE"
			}
			fmt.Fprintf(w, "root %s  %-7s %s, expires %s (%d days); %s%s\n", r.Fingerprint[:16], state, r.Subject, r.NotAfter.Local().Format("2006-01-02"), r.DaysLeft, key, warn)
			if !r.OneTier && r.Active {
				fmt.Fprintln(w, rootCRLLine(r, now))
			}
		}
		for _, r := range s.Intermediates {
			if r.Revoked {
				fmt.Fprintf(w, "intermediate %s  REVOKED %s on %s (%s); its root's CRL lists it\n", r.Fingerprint[:16], r.Subject, r.RevokedAt.Local().Format("2006-01-02"), r.Reason)
				continue
			}
			if !r.Active {
				continue
			}
			warn := ""
			if r.DaysLeft < warnDays {
				warn = fmt.Sprintf("  (under %d days left: run certmaker intermediate rotate)", warnDays)
			}
			fmt.Fprintf(w, "intermediate %s  ACTIVE %s, expires %s (%d days)%s\n", r.Fingerprint[:16], r.Subject, r.NotAfter.Local().Format("2006-01-02"), r.DaysLeft, warn)
		}
		fmt.Fprintf(w, "users: %d\ncertificates: %d issued, %d expiring within 7 days, %d within 30 days\ndatabase: %s\n",
			s.Users, s.Certificates, s.Expiring7, s.Expiring30, inventory.HumanBytes(s.DatabaseBytes))
		return nil
	})
}

// rootCRLWarn is how long before a root's CRL expires status warns: with
// the key offline, someone must bring it out to sign the next one.
const rootCRLWarn = 30 * 24 * time.Hour

// rootCRLLine says when the root's CRL expires, and warns when that is
// near and only the offline key can make the next one.
func rootCRLLine(r inventory.Root, now time.Time) string {
	if r.CRLNextUpdate.IsZero() {
		if r.KeyOnline {
			return "  root CRL: signed on first request"
		}
		return "  root CRL: NONE: sign one with `certmaker root crl --root-key FILE`"
	}
	line := fmt.Sprintf("  root CRL: valid until %s", r.CRLNextUpdate.Local().Format("2006-01-02"))
	switch left := r.CRLNextUpdate.Sub(now); {
	case r.KeyOnline:
		return line + " (re-signed automatically)"
	case left <= 0:
		return line + ": EXPIRED: re-sign it with `certmaker root crl --root-key FILE`"
	case left < rootCRLWarn:
		return line + fmt.Sprintf(": expires in %d days: re-sign it with `certmaker root crl --root-key FILE`", int(left.Hours()/24))
	}
	return line
}
