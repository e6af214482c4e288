package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// hoistFlags moves a subcommand's flags in front of its positional
// arguments, so `cert revoke ID --reason R` works as operators type it:
// urfave/cli v2, like Go's flag package, stops at the first positional.
func hoistFlags(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	rest := args[1:]
	cmds := app.Commands
	var leaf *cli.Command
	// Walk global flags and the subcommand chain as they are given.
	for len(rest) > 0 {
		a := rest[0]
		if strings.HasPrefix(a, "-") {
			out = append(out, a)
			rest = rest[1:]
			if !strings.Contains(a, "=") && takesValue(app.Flags, leaf, a) && len(rest) > 0 {
				out = append(out, rest[0])
				rest = rest[1:]
			}
			continue
		}
		next := findCommand(cmds, a)
		if next == nil {
			break
		}
		out = append(out, a)
		rest = rest[1:]
		leaf, cmds = next, next.Subcommands
	}
	if leaf == nil {
		return args
	}
	var flags, positional []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && takesValue(nil, leaf, a) && i+1 < len(rest) {
				i++
				flags = append(flags, rest[i])
			}
			continue
		}
		positional = append(positional, a)
	}
	return append(append(out, flags...), positional...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether a flag (of the command, or global) needs an
// argument; only boolean flags do not.
func takesValue(global []cli.Flag, cmd *cli.Command, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	flags := global
	if cmd != nil {
		flags = append(append([]cli.Flag{}, global...), cmd.Flags...)
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}
