package main

import (
	"bufio"
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

// cmdCertList prints certificates page by page as they arrive, so that
// `cert list | head` answers at once and memory stays one page whatever
// the store holds. --json streams one JSON object whose "certificates"
// array is written as it is read. --limit N ends the listing at exactly N
// certificates (each page asks for no more than are still wanted) and
// says where to go on from: "next_cursor" in JSON, a line on stderr in a
// table, so the screen's output stays a table.
func cmdCertList(c *cli.Context) error {
	window, err := inventory.ParseWindow(c.String("expiring"))
	if err != nil {
		return err
	}
	limit := c.Int("limit")
	if limit < 0 {
		return fmt.Errorf("--limit %d: want 0 (all) or more", limit)
	}
	q := inventory.Query{Owner: c.String("user"), Revoked: c.Bool("revoked"), Expiring: window, Name: c.String("name"), Cursor: c.String("cursor")}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		w := bufio.NewWriter(c.App.Writer)
		defer w.Flush()
		asJSON := c.Bool("json")
		if asJSON {
			fmt.Fprint(w, "{\"certificates\": [")
		} else {
			fmt.Fprintf(w, listRow, "ID", "NAMES", "OWNER", "KEY TYPE", "NOT AFTER", "STATUS")
		}
		n := 0
		for page := 0; ; page++ {
			// A small first page, so that the first lines come at once;
			// then the largest, for throughput.
			q.Limit = inventory.MaxLimit
			if page == 0 {
				q.Limit = inventory.DefaultLimit
			}
			if limit > 0 {
				q.Limit = min(q.Limit, limit-n)
			}
			p, err := op.Certificates(ctx, q)
			if err != nil {
				return err
			}
			for _, d := range p.Certificates {
				if asJSON {
					b, err := json.Marshal(d)
					if err != nil {
						return err
					}
					if n > 0 {
						w.WriteString(",")
					}
					w.WriteString("\n  ")
					w.Write(b)
				} else {
					fmt.Fprintf(w, listRow, d.ID, strings.Join(d.Names, ","), d.Owner, d.KeyType, d.NotAfter.Local().Format("2006-01-02 15:04"), d.Status)
				}
				n++
			}
			// A page on its way out before the next is read.
			if err := w.Flush(); err != nil {
				return err
			}
			q.Cursor = p.NextCursor
			if q.Cursor == "" || limit > 0 && n == limit {
				break
			}
		}
		if asJSON {
			if n > 0 {
				w.WriteString("\n")
			}
			w.WriteString("]")
			if q.Cursor != "" {
				fmt.Fprintf(w, ", \"next_cursor\": %q", q.Cursor)
			}
			w.WriteString("}\n")
		} else if q.Cursor != "" {
			fmt.Fprintf(c.App.ErrWriter, "more: go on with --cursor %s\n", q.Cursor)
		}
		return nil
	})
}

// listRow is one line of cert list: fixed columns, since a streamed table
// cannot be aligned to rows it has not read yet. Ids are up to 49 digits.
const listRow = "%-49s  %-40s  %-12s  %-10s  %-16s  %s\n"

func cmdCertShow(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("cert show needs exactly one certificate id")
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		d, pemBytes, err := op.Certificate(ctx, certID(c.Args().First()))
		if err != nil {
			return err
		}
		if c.Bool("json") {
			return writeJSON(c.App.Writer, struct {
				inventory.Certificate
				PEM string `json:"pem"`
			}{d, string(pemBytes)})
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
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
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
