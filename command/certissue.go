package command

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/client"
)

// certIssueCommand is `certmaker cert issue`: the operator issues a
// certificate for a user, as that user could have asked for it, held to
// the user's policy.
func certIssueCommand() *cli.Command {
	return &cli.Command{
		Name:  "issue",
		Usage: "issue a certificate for a user, held to that user's policy, and write it and its key to files",
		Description: `The certificate is the user's (listed, obtained and revoked as theirs). The user's
policy decides what it may hold, as for the user's own requests; a user who must
prove names (challenge required) cannot be issued for here.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "user", Usage: "the user `NAME` the certificate is for", Required: true},
			&cli.StringSliceFlag{Name: "name", Usage: "DNS `NAME` to include (repeatable)"},
			&cli.StringSliceFlag{Name: "ip", Usage: "IP `ADDRESS` to include (repeatable)"},
			&cli.StringSliceFlag{Name: "email", Usage: "email `ADDRESS` to include (repeatable)"},
			&cli.IntFlag{Name: "days", Usage: "validity in `DAYS` (0: the default; clamped to the CA's and the policy's maximum)"},
			&cli.StringFlag{Name: "key-type", Usage: "`TYPE` of the key the server makes: ecdsa-p256 (default), ecdsa-p384, rsa-2048, rsa-3072, rsa-4096, ed25519"},
			&cli.StringFlag{Name: "csr", Usage: "certify the key of the CSR in `FILE` (PEM); the names are the CSR's, and no key is written"},
			&cli.StringFlag{Name: "cert", Usage: "`FILE` to write the certificate and its intermediate to", Required: true},
			&cli.StringFlag{Name: "key", Usage: "`FILE` to write the private key to (mode 0600)"},
		},
		Action: cmdCertIssue,
	}
}

func cmdCertIssue(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("%s takes no arguments: names go in --name, --ip and --email", c.Command.FullName())
	}
	r := admin.IssueRequest{
		User: c.String("user"), Domains: c.StringSlice("name"), IPs: c.StringSlice("ip"), Emails: c.StringSlice("email"),
		Days: c.Int("days"), KeyType: c.String("key-type"),
	}
	switch csrFile := c.String("csr"); {
	case csrFile != "" && c.IsSet("key"):
		return fmt.Errorf("%s: with --csr the key is yours; --key has nothing to write", c.Command.FullName())
	case csrFile != "":
		b, err := os.ReadFile(csrFile)
		if err != nil {
			return err
		}
		r.CSR = b
	case !c.IsSet("key"):
		return fmt.Errorf("%s: --key FILE is needed for the key the server makes (or --csr FILE)", c.Command.FullName())
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		got, err := op.IssueCertificate(ctx, r)
		if err != nil {
			return err
		}
		// The key first: a certificate without its key is of no use.
		if got.KeyPEM != nil {
			if err := client.WriteAtomic(c.String("key"), got.KeyPEM, 0o600); err != nil {
				return err
			}
		}
		if err := client.WriteAtomic(c.String("cert"), got.CertPEM, 0o644); err != nil {
			return err
		}
		until := ""
		if b, _ := pem.Decode(got.CertPEM); b != nil {
			if leaf, err := x509.ParseCertificate(b.Bytes); err == nil {
				until = ", valid until " + leaf.NotAfter.UTC().Format(time.RFC3339)
			}
		}
		fmt.Fprintf(c.App.Writer, "certificate %s issued for user %s%s: %s\n", got.ID, r.User, until, c.String("cert"))
		return nil
	})
}
