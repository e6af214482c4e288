package command

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/client"
)

// getCommand is `certmaker get`: a client of a certmaker server that keeps
// a certificate and key on this machine fresh, for scripts and timers.
func getCommand() *cli.Command {
	return &cli.Command{
		Name:  "get",
		Usage: "get a certificate from a certmaker server, or renew it when due (for timers and cron)",
		Description: `Asks the server at --server for a certificate for the --name, --ip and --email values,
and writes it to --cert and its key to --key. Run again, it does nothing while the certificate
is fresh (one line, exit 0), and renews when it is due (--renew-before), revoked (OCSP), for
other names, or missing. Files are replaced atomically, the key with mode 0600; on any error
the previous pair stays. --post-hook runs only after a change.

With --csr the key is made on this machine and never leaves it. When the server requires a
challenge, --serve-challenge ADDR serves the token itself, or --webroot DIR writes it where a
web server on this machine serves it.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "server", EnvVars: []string{"CERTMAKER_SERVER"}, Usage: "the certmaker server's `URL`, such as http://ca.home.lan:8880"},
			&cli.StringFlag{Name: "token-file", EnvVars: []string{"CERTMAKER_TOKEN_FILE"}, Usage: "`FILE` holding the API token (never put the token itself on a command line)"},
			&cli.StringFlag{Name: "cacert", Usage: "with an https server: trust the roots in `FILE` (PEM), such as the CA's own root"},
			&cli.StringFlag{Name: "fingerprint", Usage: "with an https server: trust its root whose SHA-256 fingerprint is `FP`, as certmaker root fingerprint on the CA prints it (AB:CD:...) or in plain hex"},
			&cli.StringSliceFlag{Name: "name", Usage: "a DNS `NAME` for the certificate (repeat for more)"},
			&cli.StringSliceFlag{Name: "ip", Usage: "an IP `ADDRESS` for the certificate (repeat for more)"},
			&cli.StringSliceFlag{Name: "email", Usage: "an email `ADDRESS` for the certificate (repeat for more)"},
			&cli.StringFlag{Name: "cert", Usage: "certificate `FILE` to write (PEM)"},
			&cli.StringFlag{Name: "key", Usage: "private key `FILE` to write (PEM, mode 0600)"},
			&cli.BoolFlag{Name: "chain", Value: true, Usage: "write the chain the server serves into --cert: the leaf, then the intermediate a TLS server must send with it (--chain=false: the leaf alone)"},
			&cli.IntFlag{Name: "days", DefaultText: "the server's", Usage: "validity in `DAYS`"},
			&cli.StringFlag{Name: "key-type", Value: "ecdsa-p256", Usage: "`TYPE`: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096, ed25519"},
			&cli.BoolFlag{Name: "csr", Usage: "make the key here and send a CSR: the key never leaves this machine"},
			&cli.StringFlag{Name: "renew-before", Value: "1/3", Usage: "renew this long before the end, `WHEN`: a fraction of the lifetime (1/3), days (10d) or a duration (36h)"},
			&cli.StringFlag{Name: "serve-challenge", Usage: "serve the challenge token on `ADDR` (such as :80) while the server checks"},
			&cli.StringFlag{Name: "webroot", Usage: "write the challenge token below `DIR`, served by a web server on this machine"},
			&cli.IntFlag{Name: "challenge-port", DefaultText: "the server's", Usage: "with --webroot, the `PORT` the server fetches the token from"},
			&cli.StringFlag{Name: "post-hook", Usage: "`COMMAND` to run with sh -c after a renewal, such as \"systemctl reload nginx\""},
			// For tests of renewal timing: the time to act as if it were.
			&cli.TimestampFlag{Name: "now", Layout: time.RFC3339, Hidden: true},
		},
		Action: cmdGet,
	}
}

func cmdGet(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("get takes no arguments (names go in --name), got %q", c.Args().First())
	}
	for _, f := range []string{"server", "token-file", "cert", "key"} {
		if c.String(f) == "" {
			return fmt.Errorf("get needs --%s", f)
		}
	}
	if len(c.StringSlice("name"))+len(c.StringSlice("ip"))+len(c.StringSlice("email")) == 0 {
		return errors.New("get needs at least one --name, --ip or --email")
	}
	if c.String("serve-challenge") != "" && c.String("webroot") != "" {
		return errors.New("--serve-challenge and --webroot both given; choose one")
	}
	window, err := client.ParseWindow(c.String("renew-before"))
	if err != nil {
		return err
	}
	tok, err := os.ReadFile(c.String("token-file"))
	if err != nil {
		return fmt.Errorf("reading the token: %w", err)
	}
	hc, err := client.Trust{CACertFile: c.String("cacert"), Fingerprint: c.String("fingerprint")}.HTTPClient(c.Context, c.String("server"))
	if err != nil {
		return err
	}
	cl, err := client.New(c.String("server"), strings.TrimSpace(string(tok)), hc)
	if err != nil {
		return err
	}
	r := &client.Renewal{
		Client: cl,
		Request: client.Request{
			Domains: c.StringSlice("name"),
			IPs:     c.StringSlice("ip"),
			Emails:  c.StringSlice("email"),
			Days:    c.Int("days"),
			KeyType: c.String("key-type"),
		},
		CSR:         c.Bool("csr"),
		CertFile:    c.String("cert"),
		KeyFile:     c.String("key"),
		Chain:       c.Bool("chain"),
		RenewBefore: window,
		Solver: client.Solver{
			Serve:   c.String("serve-challenge"),
			WebRoot: c.String("webroot"),
			Port:    c.Int("challenge-port"),
		},
		PostHook: c.String("post-hook"),
		Out:      c.App.Writer,
	}
	if now := c.Timestamp("now"); now != nil {
		r.Now = func() time.Time { return *now }
	}
	_, err = r.Run(c.Context)
	return client.TrustAdvice(c.String("server"), err)
}
