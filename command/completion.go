package command

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name: "completion", Usage: "print a shell completion script: bash or zsh", ArgsUsage: "SHELL",
		Description: "bash: certmaker completion bash > /etc/bash_completion.d/certmaker\nzsh:  certmaker completion zsh > \"${fpath[1]}/_certmaker\"",
		Action:      cmdCompletion,
	}
}

// manCommand prints the manual page, made from the commands themselves.
func manCommand() *cli.Command {
	return &cli.Command{
		Name: "man", Usage: "print the manual page (roff), made from these commands", Hidden: true,
		Action: func(c *cli.Context) error {
			page, err := c.App.ToMan()
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(c.App.Writer, page)
			return err
		},
	}
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
