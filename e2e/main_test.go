// Package e2e runs certmaker as an operator would, against programs
// outside it: ACME clients (lego, certbot, Caddy), a browser (chromium),
// zlint, and SIGKILL under load. It is a module of its own, so that the
// product's go.mod does not carry what only these tests need; `make test`
// runs it after the product's tests.
package e2e

import (
	"fmt"
	"os"
	"testing"

	"certmaker/internal/binarytest"
)

// binary is the certmaker built once for these tests from the module
// above this one.
var binary string

func TestMain(m *testing.M) {
	bin, cleanup, err := binarytest.Build("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// The helpers of binarytest, on this package's binary.
type server = binarytest.Server

func runCLI(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return binarytest.Run(t, binary, dir, args...)
}

func mustCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	return binarytest.Must(t, binary, dir, args...)
}

func startServer(t *testing.T, dir string, extra ...string) *server {
	t.Helper()
	return binarytest.Start(t, binary, dir, extra...)
}

type acked = binarytest.Acked

var (
	tryDo         = binarytest.TryDo
	checkAcked    = binarytest.CheckAcked
	opensslVerify = binarytest.OpenSSLVerify
)

type loggedServer = binarytest.LoggedServer

func startLogged(t *testing.T, dir string, args ...string) *loggedServer {
	t.Helper()
	return binarytest.StartLogged(t, binary, dir, args...)
}
