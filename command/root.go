package command

import (
	"bufio"
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/ca"
	"certmaker/internal/durable"
)

// rootCommand is `certmaker root`: the trust anchor devices install.
func rootCommand() *cli.Command {
	return &cli.Command{
		Name:  "root",
		Usage: "the root CA",
		Subcommands: []*cli.Command{
			{
				Name: "export", Usage: "print the active root (or --all roots) as PEM, from the database",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "all", Usage: "every root, also rotated-out ones"}},
				Action: cmdRootExport,
			},
			{
				Name: "fingerprint",
				Usage: "print the active root's SHA-256 fingerprint as openssl and phones show it (AB:CD:...), " +
					"to check a downloaded root against before trusting it",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "hex", Usage: "print it as URLs hold it: lowercase hex without colons (/api/crl/HEX, /trust/HEX/root.crt)"}},
				Action: cmdRootFingerprint,
			},
			{
				Name: "offline",
				Usage: "write the active root's key to FILE, encrypted with a passphrase (PKCS#8, PBES2 AES-256), and remove it " +
					"from the database; keep FILE and the passphrase off the server",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "out", Usage: "the key `FILE` to write (must not exist)"},
					passphraseFileFlag(),
				},
				Action: cmdRootOffline,
			},
			{
				Name:   "crl",
				Usage:  "sign the active root's CRL anew (a year); with the root offline, give its key file",
				Flags:  rootKeyFlags(),
				Action: cmdRootCRL,
			},
		},
	}
}

// intermediateCommand is `certmaker intermediate`: the CA that signs.
func intermediateCommand() *cli.Command {
	return &cli.Command{
		Name:  "intermediate",
		Usage: "the intermediate CA that signs certificates, OCSP answers and their CRL",
		Subcommands: []*cli.Command{
			{
				Name: "rotate",
				Usage: "make a new intermediate under the same root the signer and print its SHA-256 fingerprint; " +
					"devices need nothing new, and old intermediates keep answering for their certificates",
				Flags:  rootKeyFlags(),
				Action: cmdIntermediateRotate,
			},
			{
				Name:      "revoke",
				Usage:     "revoke a retired intermediate (its key leaked): its root's CRL lists it at once, so that every certificate under it is refused",
				ArgsUsage: "FINGERPRINT",
				Description: `FINGERPRINT is the intermediate's SHA-256 fingerprint, or a unique prefix of at least 16
hex digits (certmaker status prints them), with or without colons. The intermediate that signs now cannot be revoked:
run certmaker intermediate rotate first. The root's CRL is signed at once, with the root key in
the database or, when it is offline, with --root-key FILE.`,
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "reason", Value: "keyCompromise", Usage: "RFC 5280 `REASON`: keyCompromise, superseded, cessationOfOperation, affiliationChanged, privilegeWithdrawn or unspecified"},
				}, rootKeyFlags()...),
				Action: cmdIntermediateRevoke,
			},
		},
	}
}

// rotateRootCommand is `certmaker rotate-root`.
func rotateRootCommand() *cli.Command {
	return &cli.Command{
		Name: "rotate-root", Usage: "make a new root CA, and an intermediate under it the issuer, and print the root's SHA-256 fingerprint",
		Flags:  []cli.Flag{&cli.BoolFlag{Name: "yes", Usage: "do not ask for confirmation (for scripts)"}},
		Action: cmdRotateRoot,
	}
}

// rekeyCommand is `certmaker rekey`.
func rekeyCommand() *cli.Command {
	return &cli.Command{
		Name: "rekey",
		Usage: "seal every private key and secret in the database under a new key, and replace the key file with it " +
			"(for a key file that may have leaked); also while serving",
		Action: cmdRekey,
	}
}

func cmdRekey(c *cli.Context) error {
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		path, err := op.Rekey(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "rekeyed; the new key is in %s\n", path)
		fmt.Fprintln(os.Stderr, "Backups made before this open only with the old key file; keep both apart from the backups, or make a new backup.")
		return nil
	})
}

// cmdRootOffline takes the root key off the server: written, read back
// and checked before the database lets go of it.
func cmdRootOffline(c *cli.Context) error {
	out := c.String("out")
	if out == "" {
		return errors.New("root offline needs --out FILE")
	}
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s exists; root offline writes a new file only", out)
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		fp, der, err := op.ExportRootKey(ctx)
		if err != nil {
			return err
		}
		p, err := passphrase(c, true)
		if err != nil {
			return err
		}
		enc, err := ca.EncryptKeyPEM(der, p)
		if err != nil {
			return err
		}
		if err := durable.WriteNew(out, enc); err != nil {
			return err
		}
		back, err := os.ReadFile(out)
		if err == nil {
			var got []byte
			if got, err = ca.DecryptKeyPEM(back, p); err == nil && !bytes.Equal(got, der) {
				err = errors.New("it holds another key")
			}
		}
		if err != nil {
			return fmt.Errorf("%s does not read back (%v): the root key stays in the database", out, err)
		}
		next, err := op.TakeRootOffline(ctx, fp)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "root %s is offline; its key is in %s\n", ca.Colons(fp), out)
		fmt.Fprintf(os.Stderr, "Keep %s and its passphrase off this server (a USB stick in a drawer). Rotating the intermediate\n"+
			"and re-signing the root's CRL need them: the CRL is valid until %s; sign the next one with\n"+
			"`certmaker root crl --root-key FILE` before then. Backups from before hold the key (sealed).\n", out, next.Local().Format("2006-01-02"))
		return nil
	})
}

func cmdRootCRL(c *cli.Context) error {
	key, err := rootKeyFromFlags(c)
	if err != nil {
		return err
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		next, err := op.SignRootCRL(ctx, key)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "root CRL signed; valid until %s\n", next.Local().Format("2006-01-02 15:04"))
		return nil
	})
}

// cmdRootFingerprint prints the active root's fingerprint, the value a
// client checks a root it downloaded against (docs/trust-chain.md), in the
// form openssl prints, or with --hex as URLs hold it.
func cmdRootFingerprint(c *cli.Context) error {
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		pemBytes, err := op.RootsPEM(ctx, false)
		if err != nil {
			return err
		}
		b, _ := pem.Decode(pemBytes)
		if b == nil {
			return errors.New("the server sent no root certificate")
		}
		fp := ca.Fingerprint(b.Bytes)
		if !c.Bool("hex") {
			fp = ca.Colons(fp)
		}
		fmt.Fprintln(c.App.Writer, fp)
		return nil
	})
}

func cmdIntermediateRotate(c *cli.Context) error {
	key, err := rootKeyFromFlags(c)
	if err != nil {
		return err
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		fp, err := op.RotateIntermediate(ctx, key)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, fp)
		fmt.Fprintln(os.Stderr, "The new intermediate signs from now on; devices that trust the root need nothing new.")
		return nil
	})
}

func cmdIntermediateRevoke(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("intermediate revoke takes one FINGERPRINT (certmaker status prints them)")
	}
	key, err := rootKeyFromFlags(c)
	if err != nil {
		return err
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		fp, err := op.RevokeIntermediate(ctx, c.Args().First(), c.String("reason"), key)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "intermediate %s is revoked (%s); its root's CRL lists it\n", fp, c.String("reason"))
		fmt.Fprintln(os.Stderr, "Relying parties that check CRLs refuse the certificates it signed once they fetch the root's new\n"+
			"CRL; reissue them under the active intermediate.")
		return nil
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

// cmdRotateRoot makes a new root the issuer. On a terminal it asks first,
// since every device must then be given the new root; scripts pass --yes
// (or run without a terminal). The new root's fingerprint alone goes to
// stdout, in the form devices show it.
func cmdRotateRoot(c *cli.Context) error {
	if !c.Bool("yes") && isTerminal(os.Stdin) {
		fmt.Fprint(os.Stderr, "A new root will sign every certificate from now on. Devices trust it only once it is\n"+
			"installed on them; certificates of the old root stay valid. Rotate the root? [y/N] ")
		if !confirmed(os.Stdin) {
			return errors.New("rotate-root: nothing changed")
		}
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		fp, err := op.RotateRoot(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, ca.Colons(fp))
		fmt.Fprintln(os.Stderr, "Next: give every device the new root (certmaker root export > root.crt, or the dashboard's\n"+
			"download) before the certificates it signs are used; keep the old root installed until its\n"+
			"certificates have expired.")
		return nil
	})
}

func confirmed(r io.Reader) bool {
	line, _ := bufio.NewReader(r).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}
