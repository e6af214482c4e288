package command

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/inventory"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name: "status", Usage: "print a short health summary",
		Flags:  []cli.Flag{jsonFlag()},
		Action: cmdStatus,
	}
}

func cmdStatus(c *cli.Context) error {
	if _, err := loadConfig(c); err != nil {
		return err
	}
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
		for _, r := range s.Roots {
			state := "retired"
			if r.Active {
				state = "ACTIVE"
			}
			warn := ""
			if x, ok := s.Warning(inventory.RootExpires); ok && r.Active && x.Fingerprint == r.Fingerprint {
				warn = "  (ends soon: plan a rotate-root)"
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
				fmt.Fprintln(w, rootCRLLine(r, s))
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
			if x, ok := s.Warning(inventory.IntermediateExpires); ok && x.Fingerprint == r.Fingerprint {
				warn = "  (ends soon: run certmaker intermediate rotate)"
			}
			fmt.Fprintf(w, "intermediate %s  ACTIVE %s, expires %s (%d days)%s\n", r.Fingerprint[:16], r.Subject, r.NotAfter.Local().Format("2006-01-02"), r.DaysLeft, warn)
		}
		fmt.Fprintf(w, "users: %d\ncertificates: %d issued, %d expiring within 7 days, %d within 30 days\ndatabase: %s\n",
			s.Users, s.Certificates, s.Expiring7, s.Expiring30, inventory.HumanBytes(s.DatabaseBytes))
		return nil
	})
}

// rootCRLLine says when the root's CRL expires, with the warning the core
// gives (inventory.Warnings) when only the offline key can make the next.
func rootCRLLine(r inventory.Root, s inventory.Summary) string {
	if _, ok := s.Warning(inventory.RootCRLMissing); ok {
		return "  root CRL: NONE: sign one with `certmaker root crl --root-key FILE`"
	}
	if r.CRLNextUpdate.IsZero() {
		return "  root CRL: signed on first request"
	}
	line := fmt.Sprintf("  root CRL: valid until %s", r.CRLNextUpdate.Local().Format("2006-01-02"))
	switch x, ok := s.Warning(inventory.RootCRLExpires); {
	case r.KeyOnline:
		return line + " (re-signed automatically)"
	case ok && x.Ended:
		return line + ": EXPIRED: re-sign it with `certmaker root crl --root-key FILE`"
	case ok:
		return line + fmt.Sprintf(": expires in %d days: re-sign it with `certmaker root crl --root-key FILE`", x.DaysLeft)
	}
	return line
}
