package command

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/core"
)

// userCommands are `certmaker user` and the seed's names for two of its
// subcommands, kept for existing scripts.
func userCommands() []*cli.Command {
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
		Flags:     userAddFlags(),
		Action:    func(c *cli.Context) error { return cmdUserAdd(c, userName) },
	}
	disableUser := &cli.Command{
		Name:      "disable",
		Usage:     "refuse the user's requests from now on",
		ArgsUsage: "NAME",
		Action:    func(c *cli.Context) error { return cmdUserSetDisabled(c, userName, true) },
	}
	return []*cli.Command{
		{
			Name:  "user",
			Usage: "manage API users",
			Subcommands: []*cli.Command{
				addUser,
				{Name: "list", Usage: "list users, each with its policy in one line (--json: all of it)", Flags: []cli.Flag{jsonFlag()}, Action: cmdUserList},
				policyCommand(),
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
		{Name: "create-user", Usage: "alias of user add", ArgsUsage: "NAME", Flags: userAddFlags(), Action: addUser.Action},
		{Name: "disable-user", Usage: "alias of user disable", ArgsUsage: "NAME", Action: disableUser.Action},
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

// userAddFlags are the flags of user add and its alias create-user, a set
// for each (TestFlagsNotShared).
func userAddFlags() []cli.Flag {
	return append([]cli.Flag{&cli.BoolFlag{Name: "admin", Usage: "the user may read every user's certificates"}}, policyFlags()...)
}

func cmdUserAdd(c *cli.Context, name func(*cli.Context) (string, error)) error {
	n, err := name(c)
	if err != nil {
		return err
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		token, err := op.AddUserWithPolicy(ctx, n, c.Bool("admin"), policyChange(c))
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, token)
		return nil
	})
}

func cmdUserList(c *cli.Context) error {
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		users, err := op.Users(ctx)
		if err != nil {
			return err
		}
		if c.Bool("json") {
			return writeJSON(c.App.Writer, nonNil(users))
		}
		tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tADMIN\tDISABLED\tCREATED\tCERTIFICATES\tPOLICY")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", u.Name, yesNo(u.Admin), yesNo(u.Disabled), u.Created.Local().Format("2006-01-02 15:04"), u.Certificates, core.PolicySummary(u.Policy))
		}
		return tw.Flush()
	})
}

func cmdUserSetDisabled(c *cli.Context, name func(*cli.Context) (string, error), disabled bool) error {
	n, err := name(c)
	if err != nil {
		return err
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		if err := op.SetDisabled(ctx, n, disabled); err != nil {
			return err
		}
		if disabled {
			fmt.Fprintf(c.App.Writer, "user %s disabled: its requests are refused from now on\n", n)
		} else {
			fmt.Fprintf(c.App.Writer, "user %s enabled\n", n)
		}
		return nil
	})
}

func cmdUserToken(c *cli.Context, name func(*cli.Context) (string, error)) error {
	n, err := name(c)
	if err != nil {
		return err
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		token, err := op.ResetToken(ctx, n)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, token)
		return nil
	})
}

// cmdListACMEEAB prints the EAB keys of user (or all) as a table; the HMAC
// keys are shown once, when made, and never again.
func cmdListACMEEAB(c *cli.Context, user string) error {
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		keys, err := op.ACMEEABs(ctx, user)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY ID\tUSER\tCREATED\tUSED\tACCOUNTS")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", k.KeyID, k.User, k.Created.Local().Format("2006-01-02 15:04"), yesNo(k.Accounts > 0), k.Accounts)
		}
		return tw.Flush()
	})
}

// cmdRevokeACMEEAB deletes an EAB key and says how many accounts stopped.
func cmdRevokeACMEEAB(c *cli.Context, kid string) error {
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		n, err := op.RevokeACMEEAB(ctx, kid)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "revoked EAB key %s; deactivated %d ACME account(s) it bound\n", kid, n)
		return nil
	})
}
