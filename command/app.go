// Package command holds certmaker's subcommands, one file per command
// group: main lists them in the urfave/cli app, and Run runs that app as
// an operator expects (flags after the subcommand, typos named, one line
// per error). Commands reach the store only through app: the admin socket
// of a running server, or app.OpenStore on the file.
package command

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"certmaker/storage"
)

// GlobalFlags are the flags every command takes, before or after its name.
func GlobalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Usage: "TOML config `FILE` (default: certmaker.toml if present)"},
		&cli.StringFlag{Name: "db", Usage: "database `PATH` (overrides store.path; default certmaker.db)"},
		&cli.StringFlag{Name: "key-file", Usage: "`FILE` with the key that seals the database's secrets (overrides store.key_file; default: the database's path plus .key)"},
	}
}

// All is every command, in the order help lists them.
func All() []*cli.Command {
	cmds := []*cli.Command{serveCommand()}
	cmds = append(cmds, userCommands()...)
	return append(cmds,
		certCommand(),
		acmeCommand(),
		rootCommand(),
		intermediateCommand(),
		rekeyCommand(),
		statusCommand(),
		initCommand(),
		getCommand(),
		checkCommand(),
		notifyCommand(),
		backupCommand(),
		migrateCommand(),
		rotateRootCommand(),
		versionCommand(),
		completionCommand(),
		manCommand(),
	)
}

// Run runs app with the command line args and returns the exit code: 0,
// or 1 after one line on stderr.
func Run(app *cli.App, args []string, stderr io.Writer) int {
	// --version and `version` print the same line.
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, "certmaker", c.App.Version) }
	// One clear line on stderr, from here, rather than urfave's own.
	app.ExitErrHandler = func(*cli.Context, error) {}
	// A bad flag is one line on stderr, like every other error.
	app.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return err }
	// certmaker completion bash|zsh prints the script that asks for these.
	app.EnableBashCompletion = true
	oneLineUsageErrors(app.Commands)
	args = hoistFlags(app, helpAsFlag(app, args))
	err := checkCommands(app, args)
	if err == nil {
		err = app.Run(args)
	}
	if err != nil {
		fmt.Fprintln(stderr, "certmaker:", withAdvice(err))
		return 1
	}
	return 0
}

// withAdvice adds to a damaged-file error what the operator does next.
func withAdvice(err error) string {
	var d *storage.DamageError
	if errors.As(err, &d) {
		return fmt.Sprintf("%v; `certmaker --db %s check` lists the damage, and docs/backup.md says how to put a backup in its place", err, d.Path)
	}
	return err.Error()
}

// jsonFlag asks a command for JSON instead of its table or text; lists are
// [] when empty, never null. A new one for each command: urfave/cli keeps
// a flag's parsed state in the flag itself.
func jsonFlag() *cli.BoolFlag {
	return &cli.BoolFlag{Name: "json", Usage: "print JSON instead of text"}
}

// oneLineUsageErrors makes a bad flag of any subcommand one line on
// stderr, like every other error, instead of a page of help.
func oneLineUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return err }
		oneLineUsageErrors(c.Subcommands)
	}
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name: "version", Usage: "print the version (as --version does)",
		Action: func(c *cli.Context) error { cli.VersionPrinter(c); return nil },
	}
}
