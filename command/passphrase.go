package command

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"certmaker/ca"
)

// minPassphrase is the shortest passphrase a new key file takes: it is
// all that guards the root key once the file is copied.
const minPassphrase = 12

// maxSecretLine bounds what is read as a passphrase.
const maxSecretLine = 4096

// readLine reads up to a newline (not included), at most maxSecretLine bytes.
func readLine(r io.Reader) ([]byte, error) {
	var out []byte
	b := make([]byte, 1)
	for len(out) < maxSecretLine {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				return bytes.TrimSuffix(out, []byte("\r")), nil
			}
			out = append(out, b[0])
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, errors.New("the passphrase is too long")
}

// passphrase reads the passphrase from --passphrase-file (its first line)
// or, on a terminal, from the operator, twice when confirm (a new file).
func passphrase(c *cli.Context, confirm bool) ([]byte, error) {
	if path := c.String("passphrase-file"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase: %w", err)
		}
		defer f.Close()
		p, err := readLine(f)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase from %s: %w", path, err)
		}
		return checkPassphrase(p, confirm)
	}
	if !isTerminal(os.Stdin) {
		return nil, errors.New("no terminal to ask the passphrase on: give --passphrase-file FILE")
	}
	fmt.Fprint(os.Stderr, "Passphrase of the root key file: ")
	p, err := readSecret(os.Stdin)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("reading the passphrase: %w", err)
	}
	if confirm {
		fmt.Fprint(os.Stderr, "The same passphrase again: ")
		again, err := readSecret(os.Stdin)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase: %w", err)
		}
		if !bytes.Equal(p, again) {
			return nil, errors.New("the two passphrases differ; nothing changed")
		}
	}
	return checkPassphrase(p, confirm)
}

func checkPassphrase(p []byte, isNew bool) ([]byte, error) {
	if len(p) == 0 {
		return nil, errors.New("the passphrase is empty")
	}
	if isNew && len(p) < minPassphrase {
		return nil, fmt.Errorf("the passphrase is %d characters; a root key file wants at least %d", len(p), minPassphrase)
	}
	return p, nil
}

// rootKeyFromFlags reads --root-key FILE and opens it with the passphrase:
// the offline root's PKCS#8 key, or nil without --root-key.
func rootKeyFromFlags(c *cli.Context) ([]byte, error) {
	path := c.String("root-key")
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the root key file: %w", err)
	}
	p, err := passphrase(c, false)
	if err != nil {
		return nil, err
	}
	der, err := ca.DecryptKeyPEM(b, p)
	if errors.Is(err, ca.ErrPassphrase) {
		return nil, fmt.Errorf("the passphrase does not open %s", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return der, nil
}

// rootKeyFlags are the flags of the commands that may need an offline root.
func rootKeyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "root-key", Usage: "the offline root's key `FILE` (from certmaker root offline); asks for its passphrase"},
		passphraseFileFlag(),
	}
}

func passphraseFileFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "passphrase-file", Usage: "read the key file's passphrase from the first line of `FILE` (for scripts) instead of the terminal"}
}
