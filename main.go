// Command certmaker is a self-hosted certificate authority in one binary:
// `certmaker serve` runs the CA, the other subcommands administer it or,
// like `certmaker get`, use it. The commands live in package command.
package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"certmaker/command"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	app := &cli.App{
		Name:     "certmaker",
		Usage:    "a self-hosted certificate authority in one binary",
		Version:  version,
		Flags:    command.GlobalFlags(),
		Commands: command.All(),
	}
	os.Exit(command.Run(app, os.Args, os.Stderr))
}
