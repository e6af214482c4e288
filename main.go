// Command certmaker is a self-hosted certificate authority in one binary:
// `certmaker serve` runs the HTTP API, the other subcommands administer it.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	app := newApp()
	oneLineUsageErrors(app.Commands)
	if err := app.Run(hoistFlags(app, os.Args)); err != nil {
		fmt.Fprintln(os.Stderr, "certmaker:", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	userName := func(c *cli.Context) (string, error) {
		if c.NArg() != 1 {
			return "", fmt.Errorf("%s needs exactly one user name", c.Command.FullName())
		}
		return c.Args().First(), nil
	}
	addUser := &cli.Command{
		Name:      "add",
		Aliases:   []string{"create-user"},
		Usage:     "create a user and print its API token on stdout",
		ArgsUsage: "NAME",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "admin", Usage: "the user may read every user's certificates"}},
		Action:    func(c *cli.Context) error { return cmdUserAdd(c, userName) },
	}
	disableUser := &cli.Command{
		Name:      "disable",
		Usage:     "refuse the user's requests from now on",
		ArgsUsage: "NAME",
		Action:    func(c *cli.Context) error { return cmdUserSetDisabled(c, userName, true) },
	}
	return &cli.App{
		Name:    "certmaker",
		Usage:   "a self-hosted certificate authority in one binary",
		Version: version,
		// One clear line on stderr, from main, rather than urfave's own.
		ExitErrHandler: func(*cli.Context, error) {},
		// A bad flag is one line on stderr, like every other error.
		OnUsageError:    func(_ *cli.Context, err error, _ bool) error { return err },
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "TOML config `FILE` (default: certmaker.toml if present)"},
			&cli.StringFlag{Name: "db", Usage: "database `PATH` (overrides store.path; default certmaker.db)"},
		},
		Commands: []*cli.Command{
			{
				Name:  "serve",
				Usage: "run the CA's HTTP API",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "listen", Usage: "`ADDR` to listen on (default :8880)"},
					&cli.StringFlag{Name: "public-url", Usage: "base `URL` of every URL the CA hands out (default http://localhost:8880)"},
				},
				Action: cmdServe,
			},
			{
				Name:  "user",
				Usage: "manage API users",
				Subcommands: []*cli.Command{
					addUser,
					{Name: "list", Usage: "list users", Action: cmdUserList},
					disableUser,
					{
						Name: "enable", Usage: "accept the user's requests again", ArgsUsage: "NAME",
						Action: func(c *cli.Context) error { return cmdUserSetDisabled(c, userName, false) },
					},
					{
						Name: "token", Usage: "replace the user's token and print the new one", ArgsUsage: "NAME",
						Action: func(c *cli.Context) error { return cmdUserToken(c, userName) },
					},
					{
						Name: "acme-eab", Usage: "make an ACME External Account Binding key for the user and print its key id and HMAC key; or list or revoke keys",
						ArgsUsage: "NAME | --list [NAME] | --revoke KID",
						Flags: []cli.Flag{
							&cli.BoolFlag{Name: "list", Usage: "list keys (of NAME, or all): key id, user, created, accounts bound; never the HMAC key"},
							&cli.StringFlag{Name: "revoke", Usage: "delete the key `KID` and deactivate the ACME accounts it bound"},
						},
						Action: cmdUserACMEEAB,
					},
				},
			},
			{
				Name:  "cert",
				Usage: "manage issued certificates",
				Subcommands: []*cli.Command{
					{
						Name: "list", Usage: "list certificates, newest first",
						Flags: []cli.Flag{
							&cli.StringFlag{Name: "user", Usage: "only this user's certificates"},
							&cli.StringFlag{Name: "expiring", Usage: "only unrevoked ones expiring within `WINDOW` (14d, 2w, 36h)"},
							&cli.BoolFlag{Name: "revoked", Usage: "only revoked ones"},
							&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
						},
						Action: cmdCertList,
					},
					{Name: "show", Usage: "show one certificate: decoded, status, owner, PEM", ArgsUsage: "ID", Action: cmdCertShow},
					{
						Name: "revoke", Usage: "revoke a certificate (OCSP and CRL answer revoked at once)", ArgsUsage: "ID",
						Flags:  []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "RFC 5280 `REASON`: keyCompromise, superseded, cessationOfOperation, affiliationChanged, privilegeWithdrawn"}},
						Action: cmdCertRevoke,
					},
				},
			},
			// The seed's command names, kept for existing scripts.
			{Name: "create-user", Usage: "alias of user add", ArgsUsage: "NAME", Flags: addUser.Flags, Action: addUser.Action},
			{Name: "disable-user", Usage: "alias of user disable", ArgsUsage: "NAME", Action: disableUser.Action},
			{
				Name:  "root",
				Usage: "the root CA",
				Subcommands: []*cli.Command{
					{
						Name: "export", Usage: "print the active root (or --all roots) as PEM, from the database",
						Flags:  []cli.Flag{&cli.BoolFlag{Name: "all", Usage: "every root, also rotated-out ones"}},
						Action: cmdRootExport,
					},
				},
			},
			{Name: "status", Usage: "print a short health summary", Action: cmdStatus},
			getCommand(),
			notifyCommand(),
			{
				Name: "backup", Usage: "write a consistent copy of the database to FILE, also while serving", ArgsUsage: "FILE",
				Action: cmdBackup,
			},
			{Name: "rotate-root", Usage: "make a new root CA the issuer and print its SHA-256 fingerprint", Action: cmdRotateRoot},
			{
				Name: "version", Usage: "print the version",
				Action: func(c *cli.Context) error { fmt.Fprintln(c.App.Writer, "certmaker", version); return nil },
			},
		},
	}
}

// cmdUserACMEEAB prints a new EAB key as two shell assignments, the two
// values every ACME client asks for: eval "$(certmaker user acme-eab NAME)"
// sets $EAB_KID and $EAB_HMAC_KEY (base64url). With --list or --revoke it
// lists or revokes keys instead.
func cmdUserACMEEAB(c *cli.Context) error {
	switch {
	case c.Bool("list") && c.IsSet("revoke"):
		return fmt.Errorf("%s: --list or --revoke, not both", c.Command.FullName())
	case c.Bool("list"):
		if c.NArg() > 1 {
			return fmt.Errorf("%s --list takes at most one user name", c.Command.FullName())
		}
		return cmdListACMEEAB(c, c.Args().First())
	case c.IsSet("revoke"):
		if c.NArg() > 0 || c.String("revoke") == "" {
			return fmt.Errorf("%s --revoke takes one key id and no user name", c.Command.FullName())
		}
		return cmdRevokeACMEEAB(c, c.String("revoke"))
	case c.NArg() != 1:
		return fmt.Errorf("%s needs exactly one user name", c.Command.FullName())
	}
	return withOperator(c, true, func(ctx context.Context, op admin.Operator) error {
		k, err := op.ACMEEAB(ctx, c.Args().First())
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "EAB_KID=%s\nEAB_HMAC_KEY=%s\n", k.KeyID, k.HMACKey)
		return nil
	})
}

// oneLineUsageErrors makes a bad flag of any subcommand one line on
// stderr, like every other error, instead of a page of help.
func oneLineUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return err }
		oneLineUsageErrors(c.Subcommands)
	}
}
