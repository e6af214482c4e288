// Command certmaker is a self-hosted certificate authority in one binary:
// `certmaker serve` runs the HTTP API, the other subcommands administer it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// --version and `version` print the same line.
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, "certmaker", c.App.Version) }
	app := newApp()
	oneLineUsageErrors(app.Commands)
	args := hoistFlags(app, os.Args)
	err := checkCommands(app, args)
	if err == nil {
		err = app.Run(args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "certmaker:", withAdvice(err))
		os.Exit(1)
	}
}

// withAdvice adds to a damaged-file error what the operator does next.
func withAdvice(err error) string {
	var d *store.DamageError
	if errors.As(err, &d) {
		return fmt.Sprintf("%v; `certmaker --db %s check` lists the damage, and README (Backup and restore) says how to put a backup in its place", err, d.Path)
	}
	return err.Error()
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
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return err },
		// certmaker completion bash|zsh prints the script that asks for these.
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "TOML config `FILE` (default: certmaker.toml if present)"},
			&cli.StringFlag{Name: "db", Usage: "database `PATH` (overrides store.path; default certmaker.db)"},
			&cli.StringFlag{Name: "key-file", Usage: "`FILE` with the key that seals the database's secrets (overrides store.key_file; default: the database's path plus .key)"},
		},
		Commands: []*cli.Command{
			{
				Name:  "serve",
				Usage: "run the CA's HTTP API",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "listen", Usage: "`ADDR` to listen on (default :8880)"},
					&cli.StringFlag{Name: "public-url", Usage: "base `URL` of every URL the CA hands out (default http://localhost:8880)"},
					&cli.StringFlag{Name: "http-listen", Usage: "with [server] tls on: plain-HTTP `ADDR` for OCSP, CRLs and the CA certificates (overrides server.http_listen)"},
				},
				Action: cmdServeGuarded,
			},
			{
				Name:  "user",
				Usage: "manage API users",
				Subcommands: []*cli.Command{
					addUser,
					{Name: "list", Usage: "list users", Flags: []cli.Flag{jsonFlag}, Action: cmdUserList},
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
							&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table, streamed as it is read"},
							&cli.StringFlag{Name: "name", Usage: "only certificates for `NAME`; .NAME for it and every name under it (.home.lan)"},
							&cli.IntFlag{Name: "limit", Usage: "print at most `N` certificates (0: all), then where to go on from"},
							&cli.StringFlag{Name: "cursor", Usage: "go on from `CURSOR`, as a listing cut by --limit printed it"},
						},
						Action: cmdCertList,
					},
					{Name: "show", Usage: "show one certificate: decoded, status, owner, PEM", ArgsUsage: "ID", Flags: []cli.Flag{jsonFlag}, Action: cmdCertShow},
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
			rootCommand(),
			intermediateCommand(),
			rekeyCommand(),
			{
				Name: "status", Usage: "print a short health summary",
				Flags:  []cli.Flag{jsonFlag},
				Action: cmdStatus,
			},
			{
				Name:   "init",
				Usage:  "create the database, the root CA and the admin user (printing its token) without serving; serve does this on its first start too",
				Action: cmdInit,
			},
			getCommand(),
			{Name: "check", Usage: "read the whole database file and run bbolt's consistency check on it", Action: cmdCheck},
			notifyCommand(),
			{
				Name: "backup", Usage: "write a consistent copy of the database to FILE, also while serving", ArgsUsage: "FILE",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "force", Usage: "replace FILE if it exists (never the database or its socket)"}},
				Action: cmdBackup,
			},
			{
				Name: "rotate-root", Usage: "make a new root CA, and an intermediate under it the issuer, and print the root's SHA-256 fingerprint",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "yes", Usage: "do not ask for confirmation (for scripts)"}},
				Action: cmdRotateRoot,
			},
			{
				Name: "version", Usage: "print the version (as --version does)",
				Action: func(c *cli.Context) error { cli.VersionPrinter(c); return nil },
			},
			{
				Name: "completion", Usage: "print a shell completion script: bash or zsh", ArgsUsage: "SHELL",
				Description: "bash: certmaker completion bash > /etc/bash_completion.d/certmaker\nzsh:  certmaker completion zsh > \"${fpath[1]}/_certmaker\"",
				Action:      cmdCompletion,
			},
			{
				Name: "man", Usage: "print the manual page (roff), made from these commands", Hidden: true,
				Action: func(c *cli.Context) error {
					page, err := c.App.ToMan()
					if err != nil {
						return err
					}
					_, err = fmt.Fprint(c.App.Writer, page)
					return err
				},
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
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		k, err := op.ACMEEAB(ctx, c.Args().First())
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "EAB_KID=%s\nEAB_HMAC_KEY=%s\n", k.KeyID, k.HMACKey)
		return nil
	})
}

// cmdServeGuarded is serve, with a panic that bbolt raises on a damaged
// page while the server starts (in a file too large for Open's check)
// turned into the damaged-file line instead of a stack trace.
func cmdServeGuarded(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	return store.Guard(cfg.Store.Path, func() error { return cmdServe(c) })
}

// jsonFlag asks a command for JSON instead of its table or text; lists are
// [] when empty, never null.
var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print JSON instead of text"}

// oneLineUsageErrors makes a bad flag of any subcommand one line on
// stderr, like every other error, instead of a page of help.
func oneLineUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return err }
		oneLineUsageErrors(c.Subcommands)
	}
}
