package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Two small shell-script ACME clients from Debian, uacme (C, libcurl) and
// dehydrated (bash, curl), against the real binary over plain HTTP: each
// registers with an EAB key, gets, renews and revokes a certificate,
// answering http-01 through a web root that a file server on the
// challenge address serves (as the clients' users do with their web
// server); uacme also rolls its account over to a new key (keyChange),
// issues with it, and deactivates the account. uacme's libcurl build ignores CA variables, so it is not run
// over HTTPS (docs/acme.md says how to point it at a private CA).

// serveWebroot serves dir on addr, the challenge address of the server,
// until the test ends.
func serveWebroot(t *testing.T, addr, dir string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

func TestACME_Uacme(t *testing.T) {
	if _, err := exec.LookPath("uacme"); err != nil {
		t.Skip("uacme is not installed (scripts/deps.sh installs Debian's uacme)")
	}
	const name = "uacme.test"
	dir, srv, port := acmeServer(t, name, "127.0.0.5")
	kid, hmac := eabFor(t, dir, "dave")
	webroot := filepath.Join(dir, "www")
	serveWebroot(t, fmt.Sprintf("127.0.0.5:%d", port), webroot)
	// uacme calls the hook with: method type ident token key_auth.
	hook := filepath.Join(dir, "hook.sh")
	script := fmt.Sprintf(`#!/bin/sh
d=%q/.well-known/acme-challenge
case "$1" in
begin) [ "$2" = http-01 ] || exit 1; mkdir -p "$d" && printf %%s "$5" > "$d/$4" ;;
done|failed) rm -f "$d/$4" ;;
esac
`, webroot)
	if err := os.WriteFile(hook, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "uacme")
	common := []string{"-v", "-y", "-c", conf, "-a", srv.URL + "/acme/directory"}
	runClient(t, dir, nil, "uacme", append(common, "-e", kid+":"+hmac, "new")...)
	runClient(t, dir, nil, "uacme", append(common, "-h", hook, "-t", "EC", "issue", name)...)
	crt := filepath.Join(conf, name, "cert.pem")
	first := leafOf(t, dir, crt, name)
	if owner, status := listed(t, dir, first); owner != "dave" || status != "valid" {
		t.Errorf("issued certificate listed as %s, %s", owner, status)
	}

	// uacme keeps the certificate it replaces under a name made of its
	// time in seconds, and a second order of the name reuses the valid
	// authorization, so it can come within the same second: one per second.
	reissue := func() {
		t.Helper()
		time.Sleep(1100 * time.Millisecond)
		runClient(t, dir, nil, "uacme", append(common, "-h", hook, "-t", "EC", "-f", "issue", name)...)
	}
	reissue()
	renewed := leafOf(t, dir, crt, name)
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("a forced issue kept the old certificate")
	}

	// A new account key (keyChange), then the same account issues with it.
	runClient(t, dir, nil, "uacme", append(common, "newkey")...)
	reissue()
	rolled := leafOf(t, dir, crt, name)
	if rolled.SerialNumber.Cmp(renewed.SerialNumber) == 0 {
		t.Fatal("no certificate after the key rollover")
	}
	if owner, _ := listed(t, dir, rolled); owner != "dave" {
		t.Errorf("certificate after the rollover owned by %q", owner)
	}

	runClient(t, dir, nil, "uacme", append(common, "revoke", crt)...)
	if _, status := listed(t, dir, rolled); status != "revoked" {
		t.Errorf("after uacme revoke the certificate is %s", status)
	}
	runClient(t, dir, nil, "uacme", append(common, "deactivate")...)
	if out, err := exec.Command("uacme", append(common, "-n", "-h", hook, "-t", "EC", "-f", "issue", name)...).CombinedOutput(); err == nil {
		t.Errorf("a deactivated account issued:\n%s", out)
	}
}

func TestACME_Dehydrated(t *testing.T) {
	if _, err := exec.LookPath("dehydrated"); err != nil {
		t.Skip("dehydrated is not installed (scripts/deps.sh installs Debian's dehydrated)")
	}
	const name = "dehydrated.test"
	dir, srv, port := acmeServer(t, name, "127.0.0.6")
	kid, hmac := eabFor(t, dir, "erin")
	webroot := filepath.Join(dir, "www")
	wellKnown := filepath.Join(webroot, ".well-known", "acme-challenge")
	if err := os.MkdirAll(wellKnown, 0o755); err != nil {
		t.Fatal(err)
	}
	serveWebroot(t, fmt.Sprintf("127.0.0.6:%d", port), webroot)
	base := filepath.Join(dir, "dehydrated")
	if err := os.MkdirAll(base, 0o700); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "dehydrated.conf")
	conf := fmt.Sprintf("CA=%q\nBASEDIR=%q\nWELLKNOWN=%q\nCHALLENGETYPE=http-01\nKEY_ALGO=prime256v1\nEAB_KID=%q\nEAB_HMAC_KEY=%q\n",
		srv.URL+"/acme/directory", base, wellKnown, kid, hmac)
	if err := os.WriteFile(config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	runClient(t, dir, nil, "dehydrated", "-f", config, "--register", "--accept-terms")
	runClient(t, dir, nil, "dehydrated", "-f", config, "-c", "-d", name)
	crt := filepath.Join(base, "certs", name, "fullchain.pem")
	first := leafOf(t, dir, crt, name)
	if owner, status := listed(t, dir, first); owner != "erin" || status != "valid" {
		t.Errorf("issued certificate listed as %s, %s", owner, status)
	}

	runClient(t, dir, nil, "dehydrated", "-f", config, "-c", "-d", name, "--force")
	renewed := leafOf(t, dir, crt, name)
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("a forced renewal kept the old certificate")
	}

	runClient(t, dir, nil, "dehydrated", "-f", config, "-r", filepath.Join(base, "certs", name, "cert.pem"))
	if _, status := listed(t, dir, renewed); status != "revoked" {
		t.Errorf("after dehydrated -r the certificate is %s", status)
	}
}
