package command

import (
	"errors"
	"fmt"
	"slices"
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
	var global []string
	for len(rest) > 0 {
		a := rest[0]
		if strings.HasPrefix(a, "-") {
			// A global flag typed after a subcommand (user --db x list)
			// goes back in front of the subcommands.
			dst := &out
			if leaf != nil && hasFlag(app.Flags, a) && !hasFlag(leaf.Flags, a) {
				dst = &global
			}
			*dst = append(*dst, a)
			rest = rest[1:]
			if !strings.Contains(a, "=") && takesValue(app.Flags, leaf, a) && len(rest) > 0 {
				*dst = append(*dst, rest[0])
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
			// A global flag typed after the subcommand (user list --db x)
			// goes back in front of it, unless the command has its own.
			dst := &flags
			if hasFlag(app.Flags, a) && !hasFlag(leaf.Flags, a) {
				dst = &global
			}
			*dst = append(*dst, a)
			if !strings.Contains(a, "=") && takesValue(app.Flags, leaf, a) && i+1 < len(rest) {
				i++
				*dst = append(*dst, rest[i])
			}
			continue
		}
		positional = append(positional, a)
	}
	out = append(append([]string{out[0]}, global...), out[1:]...)
	return append(append(out, flags...), positional...)
}

// helpAsFlag turns every way of asking for a command's help into the one
// urfave/cli answers right, `COMMAND... --help`: `help user add` and `user
// help add` would print the help of `user`, or refuse "user add" as an
// unknown command. Only a word where a command name goes counts: in `user
// add help`, help is the new user's name.
func helpAsFlag(app *cli.App, args []string) []string {
	out := []string{args[0]}
	cmds, asked := app.Commands, false
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "-"):
			out = append(out, a)
			if !strings.Contains(a, "=") && takesValue(app.Flags, nil, a) && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			continue
		case (a == "help" || a == "h") && !asked:
			asked = true
			continue
		}
		c := findCommand(cmds, a)
		if c == nil || len(c.Subcommands) == 0 {
			// An unknown word (checkCommands names it), or the arguments
			// of a command without subcommands: left as they are.
			out = append(out, args[i:]...)
			break
		}
		out = append(out, a)
		cmds = c.Subcommands
	}
	if asked {
		out = append(out, "--help")
	}
	return out
}

// hasFlag reports whether arg ("--db", "-db=x") names one of flags.
func hasFlag(flags []cli.Flag, arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

// checkCommands refuses a command or subcommand name that does not exist,
// with the closest one if a typo is likely: urfave/cli would answer "No
// help topic for 'usr'", which tells a new user nothing.
func checkCommands(app *cli.App, args []string) error {
	cmds := app.Commands
	path := ""
	for i := 1; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if !strings.Contains(a, "=") && takesValue(app.Flags, nil, a) {
				i++ // the flag's value
			}
			continue
		}
		if a == "help" || a == "h" {
			cmds = app.Commands // help TOPIC names a command
			continue
		}
		c := findCommand(cmds, a)
		if c == nil {
			msg := fmt.Sprintf("unknown command '%s'", strings.TrimSpace(path+" "+a))
			if s := closest(cmds, a); s != "" {
				msg += fmt.Sprintf("; did you mean '%s'?", strings.TrimSpace(path+" "+s))
			}
			return errors.New(msg + " (certmaker help lists the commands)")
		}
		if len(c.Subcommands) == 0 {
			return nil // the rest are the command's arguments
		}
		path = strings.TrimSpace(path + " " + c.Name)
		cmds = c.Subcommands
	}
	return nil
}

// closest is the visible command name nearest to s by edit distance, if
// it is near enough to be a typo: at most one edit per three letters.
func closest(cmds []*cli.Command, s string) string {
	best, bestDist := "", max(1, len(s)/3)+1
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		for _, n := range c.Names() {
			if d := editDistance(s, n); d < bestDist {
				best, bestDist = c.Name, d
			}
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (adjacent swaps count
// one, as in "sevre").
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
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
