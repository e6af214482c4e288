package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/inventory"
)

func cmdCertList(c *cli.Context) error {
	window, err := inventory.ParseWindow(c.String("expiring"))
	if err != nil {
		return err
	}
	q := inventory.Query{Owner: c.String("user"), Revoked: c.Bool("revoked"), Expiring: window, Limit: inventory.MaxLimit}
	return withOperator(c, true, func(ctx context.Context, op admin.Operator) error {
		var all []inventory.Certificate
		for {
			page, err := op.Certificates(ctx, q)
			if err != nil {
				return err
			}
			all = append(all, page.Certificates...)
			if page.NextCursor == "" {
				break
			}
			q.Cursor = page.NextCursor
		}
		if c.Bool("json") {
			enc := json.NewEncoder(c.App.Writer)
			enc.SetIndent("", "  ")
			return enc.Encode(inventory.Page{Certificates: all})
		}
		tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAMES\tOWNER\tKEY TYPE\tNOT AFTER\tSTATUS")
		for _, d := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, strings.Join(d.Names, ","), d.Owner, d.KeyType, d.NotAfter.Local().Format("2006-01-02 15:04"), d.Status)
		}
		return tw.Flush()
	})
}

func cmdCertShow(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("cert show needs exactly one certificate id")
	}
	return withOperator(c, true, func(ctx context.Context, op admin.Operator) error {
		d, pemBytes, err := op.Certificate(ctx, c.Args().First())
		if err != nil {
			return err
		}
		w := c.App.Writer
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
		row("ID", d.ID)
		row("Serial", d.Serial)
		row("Status", d.Status)
		if d.RevokedAt != nil {
			row("Revoked", d.RevokedAt.Local().Format(time.RFC3339)+" ("+d.Reason+")")
		}
		row("Owner", d.Owner)
		row("Subject", d.Subject)
		row("Issuer", d.Issuer)
		row("Names", strings.Join(d.Names, ", "))
		row("Key type", d.KeyType)
		row("Not before", d.NotBefore.Local().Format(time.RFC3339))
		row("Not after", d.NotAfter.Local().Format(time.RFC3339))
		row("SHA-256", d.Fingerprint)
		row("Root", d.Root)
		row("Private key", map[bool]string{true: "held by the server", false: "not held (issued from a CSR)"}[d.HasPrivateKey])
		row("OCSP", strings.Join(d.OCSPServer, ", "))
		row("CRL", strings.Join(d.CRL, ", "))
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err = w.Write(pemBytes)
		return err
	})
}

func cmdRootExport(c *cli.Context) error {
	return withOperator(c, true, func(ctx context.Context, op admin.Operator) error {
		pemBytes, err := op.RootsPEM(ctx, c.Bool("all"))
		if err != nil {
			return err
		}
		_, err = c.App.Writer.Write(pemBytes)
		return err
	})
}

func cmdStatus(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	warnDays := cfg.CA.ExpiryWarningDays
	return withOperator(c, true, func(ctx context.Context, op admin.Operator) error {
		s, err := op.Status(ctx)
		if err != nil {
			return err
		}
		w := c.App.Writer
		for _, r := range s.Roots {
			state := "retired"
			if r.Active {
				state = "ACTIVE"
			}
			warn := ""
			if r.Active && r.DaysLeft < warnDays {
				warn = fmt.Sprintf("  (under %d days left: plan a rotate-root)", warnDays)
			}
			fmt.Fprintf(w, "root %s  %-7s %s, expires %s (%d days)%s\n", r.Fingerprint[:16], state, r.Subject, r.NotAfter.Local().Format("2006-01-02"), r.DaysLeft, warn)
		}
		fmt.Fprintf(w, "users: %d\ncertificates: %d issued, %d expiring within 7 days, %d within 30 days\ndatabase: %s\n",
			s.Users, s.Certificates, s.Expiring7, s.Expiring30, inventory.HumanBytes(s.DatabaseBytes))
		return nil
	})
}
