package command

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/core"
)

// ruleSyntax is the one syntax of allow and deny rules, as help says it
// (docs/policies.md says it in full).
const ruleSyntax = "nas.home.lan (that name), .home.lan (every name below), *.home.lan (one label below), 192.168.0.0/16 or 192.168.1.20, @home.lan (email addresses at home.lan), ops@home.lan"

// policyFlags change a user's issuance policy, on `user add` and `user
// policy`: each flag given replaces that part of the policy, --clear
// starts from none.
func policyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "allow", Usage: "allow only names matching `RULE` (repeat it, or separate with commas; replaces the allow list; '' empties it): " + ruleSyntax},
		&cli.StringSliceFlag{Name: "deny", Usage: "refuse names matching `RULE`, whatever is allowed (same syntax; replaces the deny list; '' empties it)"},
		&cli.IntFlag{Name: "max-days", Usage: "certificates last at most `N` days; longer requests are shortened to it (0: the CA's max_days)"},
		&cli.StringFlag{Name: "key-types", Usage: "allowed key `TYPES`, comma-separated (ecdsa-p256,ecdsa-p384,rsa-2048,rsa-3072,rsa-4096,ed25519), for server-made keys and CSRs; any: all"},
		&cli.StringFlag{Name: "challenge", Usage: "`MODE`: required (prove every name first), optional (never, even when the CA requires it: a lower bar) or default (the CA's [challenge] required)"},
		&cli.BoolFlag{Name: "clear", Usage: "start from no policy (the CA's limits only), then apply the other flags"},
	}
}

// policyChange reads the policy flags; an empty value of --allow or
// --deny (an empty --allow value) empties that list.
func policyChange(c *cli.Context) core.PolicyChange {
	var pc core.PolicyChange
	pc.Clear = c.Bool("clear")
	rules := func(name string) *[]string {
		if !c.IsSet(name) {
			return nil
		}
		out := []string{}
		for _, r := range c.StringSlice(name) {
			if r = strings.TrimSpace(r); r != "" {
				out = append(out, r)
			}
		}
		return &out
	}
	pc.Allow, pc.Deny = rules("allow"), rules("deny")
	if c.IsSet("max-days") {
		n := c.Int("max-days")
		pc.MaxDays = &n
	}
	if c.IsSet("key-types") {
		kts := []string{}
		if v := strings.TrimSpace(c.String("key-types")); v != "any" {
			for _, kt := range strings.Split(v, ",") {
				if kt = strings.TrimSpace(kt); kt != "" {
					kts = append(kts, kt)
				}
			}
		}
		pc.KeyTypes = &kts
	}
	if c.IsSet("challenge") {
		ch := c.String("challenge")
		pc.Challenge = &ch
	}
	return pc
}

func policyCommand() *cli.Command {
	return &cli.Command{
		Name:      "policy",
		Usage:     "show a user's issuance policy, or change it with the flags",
		ArgsUsage: "NAME",
		Description: `What a user may ask for, through every door (API, ACME, dashboard, cert issue).
Without flags it shows the policy. Each flag given replaces that part; --clear
starts from none (the CA's limits only). A denied name beats every allowed one;
with any allow rule, only what the rules allow (of every kind of name) is.
docs/policies.md has the rules and examples.`,
		Flags:  append(policyFlags(), jsonFlag()),
		Action: cmdUserPolicy,
	}
}

func cmdUserPolicy(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("%s needs exactly one user name", c.Command.FullName())
	}
	name := c.Args().First()
	pc := policyChange(c)
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		var info admin.PolicyInfo
		var err error
		if pc.IsZero() {
			info, err = op.UserPolicy(ctx, name)
		} else {
			info, err = op.SetPolicy(ctx, name, pc)
		}
		if err != nil {
			return err
		}
		if c.Bool("json") {
			return writeJSON(c.App.Writer, info)
		}
		return printPolicy(c, info)
	})
}

// printPolicy shows a policy part by part, with what each empty part
// leaves to the CA.
func printPolicy(c *cli.Context, info admin.PolicyInfo) error {
	p := info.Policy
	orNone := func(list []string, none string) string {
		if len(list) == 0 {
			return none
		}
		return strings.Join(list, " ")
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "user:\t%s\n", info.User)
	fmt.Fprintf(tw, "allow:\t%s\n", orNone(p.Allow, "every name the CA allows"))
	fmt.Fprintf(tw, "deny:\t%s\n", orNone(p.Deny, "none"))
	if p.MaxDays > 0 {
		fmt.Fprintf(tw, "max days:\t%d\n", info.MaxDays)
	} else {
		fmt.Fprintf(tw, "max days:\t%d (the CA's max_days)\n", info.MaxDays)
	}
	fmt.Fprintf(tw, "key types:\t%s\n", orNone(p.KeyTypes, "any"))
	proof := "not required"
	if info.ChallengeRequired {
		proof = "required"
	}
	switch p.Challenge {
	case core.ChallengeDefault:
		fmt.Fprintf(tw, "challenge:\tdefault (the CA's: %s)\n", proof)
	default:
		fmt.Fprintf(tw, "challenge:\t%s\n", p.Challenge)
	}
	return tw.Flush()
}
