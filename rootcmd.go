package main

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/ca"
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
				Name:   "fingerprint",
				Usage:  "print the active root's SHA-256 fingerprint, to check a downloaded root against before trusting it",
				Action: cmdRootFingerprint,
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
				Action: cmdIntermediateRotate,
			},
		},
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

// cmdRootFingerprint prints the active root's fingerprint, the value a
// client checks a root it downloaded against (README: Trust chain).
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
		fmt.Fprintln(c.App.Writer, ca.Fingerprint(b.Bytes))
		return nil
	})
}

func cmdIntermediateRotate(c *cli.Context) error {
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		fp, err := op.RotateIntermediate(ctx, nil)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, fp)
		fmt.Fprintln(os.Stderr, "The new intermediate signs from now on; devices that trust the root need nothing new.")
		return nil
	})
}
