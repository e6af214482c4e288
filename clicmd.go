package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/app"
	"certmaker/store"
)

// cmdInit makes a new database with its root and admin user, as serve's
// first start does, for operators who prepare a CA before starting it.
// Every other command refuses a database that does not exist, so that a
// typo in --db cannot make a second CA nobody serves.
func cmdInit(c *cli.Context) error {
	cfg, err := loadConfig(c) // checked, with the flags applied
	if err != nil {
		return err
	}
	path := cfg.Store.Path
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s already exists; init makes a new database only", path)
	}
	db, err := store.Open(path, store.Options{Timeout: 500 * time.Millisecond, KeyFile: cfg.Store.KeyPath()})
	if err != nil {
		return err
	}
	defer db.Close()
	level, _ := cfg.Server.Level()
	log := newLogger(cfg.Server.LogFormat, level)
	svc, err := app.NewCore(cfg, db, app.Options{Logger: log})
	if err != nil {
		return err
	}
	if err := app.EnsureRoot(c.Context, svc, log); err != nil {
		return err
	}
	if err := firstAdmin(c.Context, svc); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "created %s; root %s\n", path, svc.Authority().ActiveRoot().Fingerprint)
	return nil
}

// cmdRotateRoot makes a new root the issuer. On a terminal it asks first,
// since every device must then be given the new root; scripts pass --yes
// (or run without a terminal). The fingerprint alone goes to stdout.
func cmdRotateRoot(c *cli.Context) error {
	if !c.Bool("yes") && isTerminal(os.Stdin) {
		fmt.Fprint(os.Stderr, "A new root will sign every certificate from now on. Devices trust it only once it is\n"+
			"installed on them; certificates of the old root stay valid. Rotate the root? [y/N] ")
		if !confirmed(os.Stdin) {
			return errors.New("rotate-root: nothing changed")
		}
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		fp, err := op.RotateRoot(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, fp)
		fmt.Fprintln(os.Stderr, "Next: give every device the new root (certmaker root export > root.crt, or the dashboard's\n"+
			"download) before the certificates it signs are used; keep the old root installed until its\n"+
			"certificates have expired.")
		return nil
	})
}

func confirmed(r io.Reader) bool {
	line, _ := bufio.NewReader(r).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

// cmdCompletion prints a completion script for bash or zsh; both ask the
// binary itself (urfave/cli's --generate-bash-completion) for the words.
func cmdCompletion(c *cli.Context) error {
	switch c.Args().First() {
	case "bash":
		_, err := fmt.Fprint(c.App.Writer, bashCompletion)
		return err
	case "zsh":
		_, err := fmt.Fprint(c.App.Writer, zshCompletion)
		return err
	}
	return fmt.Errorf("completion needs a shell: bash or zsh")
}

const bashCompletion = `# certmaker completion for bash: certmaker completion bash > /etc/bash_completion.d/certmaker
_certmaker() {
  local cur opts
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  if [[ "$cur" == "-"* ]]; then
    opts=$("${COMP_WORDS[0]}" "${COMP_WORDS[@]:1:$COMP_CWORD-1}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${COMP_WORDS[0]}" "${COMP_WORDS[@]:1:$COMP_CWORD-1}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _certmaker certmaker
`

const zshCompletion = `#compdef certmaker
# certmaker completion for zsh: certmaker completion zsh > "${fpath[1]}/_certmaker"
_certmaker() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _certmaker certmaker
`
