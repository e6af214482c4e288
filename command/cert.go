package command

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
	"certmaker/ca"
	"certmaker/inventory"
)

// certCommand is `certmaker cert`: the issued certificates.
func certCommand() *cli.Command {
	return &cli.Command{
		Name:  "cert",
		Usage: "manage issued certificates",
		Subcommands: []*cli.Command{
			{
				Name: "list", Usage: "list certificates, newest first",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "user", Usage: "only the certificates of the user `NAME`"},
					&cli.StringFlag{Name: "expiring", Usage: "only unrevoked ones expiring within `WINDOW` (14d, 2w, 36h)"},
					&cli.BoolFlag{Name: "revoked", Usage: "only revoked ones"},
					&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table, streamed as it is read"},
					&cli.StringFlag{Name: "name", Usage: "only certificates for `NAME`; .NAME for it and every name under it (.home.lan)"},
					&cli.IntFlag{Name: "limit", Usage: "print at most `N` certificates (0: all), then where to go on from"},
					&cli.StringFlag{Name: "cursor", Usage: "go on from `CURSOR`, as a listing cut by --limit printed it"},
				},
				Action: cmdCertList,
			},
			{Name: "show", Usage: "show one certificate: decoded, status, owner, PEM", ArgsUsage: "ID", Flags: []cli.Flag{jsonFlag()}, Action: cmdCertShow},
			certIssueCommand(),
			{
				Name: "revoke", Usage: "revoke a certificate (OCSP and CRL answer revoked at once)", ArgsUsage: "ID",
				Flags:  []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "RFC 5280 `REASON`: keyCompromise, superseded, cessationOfOperation, affiliationChanged, privilegeWithdrawn"}},
				Action: cmdCertRevoke,
			},
			{
				Name:  "renew-soon",
				Usage: "tell ACME clients (RFC 9773 renewal info) to renew every certificate of a root or intermediate now, e.g. after a key compromise",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "root", Required: true, Usage: "the root or intermediate `FINGERPRINT` (or its first 16 hex digits, as status prints them); a root's covers its intermediates"},
					&cli.DurationFlag{Name: "within", Value: time.Hour, Usage: "spread the renewals over `DURATION` from now (1m to 720h)"},
				},
				Action: cmdCertRenewSoon,
			},
		},
	}
}

// cmdCertRenewSoon pulls the renewal window of a CA's certificates
// forward: ACME clients that ask for renewal information renew within it.
func cmdCertRenewSoon(c *cli.Context) error {
	if c.NArg() != 0 {
		return fmt.Errorf("cert renew-soon takes no arguments: name the CA with --root FINGERPRINT")
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		fp, win, err := op.RenewSoon(ctx, c.String("root"), c.Duration("within"))
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "certificates issued under %s until now: renewal window %s to %s\n",
			ca.Colons(fp), win.Start.UTC().Format(time.RFC3339), win.End.UTC().Format(time.RFC3339))
		fmt.Fprintln(c.App.Writer, "ACME clients that ask for renewal information (RFC 9773) renew within it; others renew on their own schedule")
		return nil
	})
}

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
		row("SHA-256 fingerprint", ca.Colons(d.Fingerprint))
		if d.IssuerFingerprint != d.Root { // not a one-tier root's
			row("Intermediate fingerprint", ca.Colons(d.IssuerFingerprint))
		}
		row("Root fingerprint", ca.Colons(d.Root))
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

func cmdCertRevoke(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("cert revoke needs exactly one certificate id")
	}
	id := certID(c.Args().First())
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		if err := op.Revoke(ctx, id, c.String("reason")); err != nil {
			return err
		}
		reason := c.String("reason")
		if reason == "" {
			reason = "unspecified"
		}
		fmt.Fprintf(c.App.Writer, "certificate %s revoked (%s); OCSP and the CRL say so now\n", id, reason)
		return nil
	})
}

// certID takes a certificate id as shown by certmaker (decimal), or a
// serial as openssl and browsers show it (hex with colons, or 0x...), and
// returns the decimal id.
func certID(s string) string {
	if _, err := ca.ParseSerial(s); err != nil {
		if n, err := ca.ParseHexSerial(s); err == nil {
			return n.String()
		}
	}
	return s
}
