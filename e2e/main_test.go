// Package e2e runs certmaker as an operator would, against programs
// outside it: ACME clients (lego, certbot, Caddy), a browser (chromium),
// zlint, and SIGKILL under load. It is a module of its own, so that the
// product's go.mod does not carry what only these tests need; `make test`
// runs it after the product's tests.
package e2e

import (
	"testing"

	"certmaker/internal/binarytest"
)

// binary is the certmaker built once for these tests from the module
// above this one.
var binary binarytest.Binary

func TestMain(m *testing.M) { binarytest.Main(m, "..", &binary) }

// The helpers of binarytest, on this package's binary.
type server = binarytest.Server

type acked = binarytest.Acked

var (
	tryDo         = binarytest.TryDo
	checkAcked    = binarytest.CheckAcked
	opensslVerify = binarytest.OpenSSLVerify
)

type loggedServer = binarytest.LoggedServer
