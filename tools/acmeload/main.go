// Command acmeload is the load client behind scripts/load.sh for the paths
// wrk cannot drive: CSR signing with a pool of P-256 CSRs against cfssl,
// step-ca (a one-time token per request) and certmaker, and whole ACME
// orders (golang.org/x/crypto/acme, one account per worker, http-01 answered
// on a loopback address). It also writes a step-ca configuration without the
// step CLI, so that make load can run step-ca beside certmaker.
//
//	acmeload stepca-init -dir D -addr 127.0.0.1:18900 -db bbolt
//	acmeload csrs -n 256 -out pool.pem [-ip 127.0.0.2]
//	acmeload sign -target certmaker|cfssl|stepca -url URL ...
//	acmeload acme -directory URL -http01 127.0.0.2:18899 ...
//
// sign and acme print one line of key=value pairs (see result.String) and,
// given -pid, measure that server's CPU, RSS and database growth over the
// timed phase only.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "stepca-init":
		err = stepcaInit(os.Args[2:])
	case "csrs":
		err = csrsMain(os.Args[2:])
	case "sign":
		err = signMain(os.Args[2:])
	case "acme":
		err = acmeMain(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "acmeload %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: acmeload stepca-init|sign|acme [flags] (-h for each)")
	os.Exit(2)
}
