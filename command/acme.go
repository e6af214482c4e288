package command

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
)

// acmeCommand is `certmaker acme`: the ACME accounts, as the operator
// looks at them and stops one (EAB keys are `user acme-eab`).
func acmeCommand() *cli.Command {
	return &cli.Command{
		Name:  "acme",
		Usage: "list ACME accounts and deactivate one",
		Subcommands: []*cli.Command{
			{
				Name:  "accounts",
				Usage: "list ACME accounts: id, user, the EAB key that bound it (none: require_eab = false), status, created, contacts",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "user", Usage: "only the accounts acting for `NAME`"},
					&cli.BoolFlag{Name: "unbound", Usage: "only the accounts without a binding, which anyone could make"},
					jsonFlag(),
				},
				Action: cmdACMEAccounts,
			},
			{
				Name:      "deactivate",
				Usage:     "deactivate an ACME account for good: its client's next request is refused (its certificates stay valid)",
				ArgsUsage: "ID",
				Action:    cmdACMEDeactivate,
			},
		},
	}
}

func cmdACMEAccounts(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("%s takes no arguments (--user NAME for one user's)", c.Command.FullName())
	}
	q := admin.ACMEAccountQuery{User: c.String("user"), Unbound: c.Bool("unbound")}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		accounts, err := op.ACMEAccounts(ctx, q)
		if err != nil {
			return err
		}
		if c.Bool("json") {
			return writeJSON(c.App.Writer, nonNil(accounts))
		}
		tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tEAB KEY\tSTATUS\tCREATED\tCONTACT")
		for _, a := range accounts {
			kid := a.EABKeyID
			if kid == "" {
				kid = "none"
			}
			contact := strings.Join(a.Contact, ",")
			if contact == "" {
				contact = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.User, kid, a.Status, a.Created.Local().Format("2006-01-02 15:04"), contact)
		}
		return tw.Flush()
	})
}

func cmdACMEDeactivate(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("%s needs exactly one account id (certmaker acme accounts lists them)", c.Command.FullName())
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		a, err := op.DeactivateACMEAccount(ctx, c.Args().First())
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "ACME account %s of user %s deactivated: its requests are refused from now on\n", a.ID, a.User)
		return nil
	})
}
