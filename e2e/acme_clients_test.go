package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The real ACME clients, Debian's lego and certbot, against the real
// binary on loopback: each gets, renews (and lego revokes) a certificate
// with its own http-01 server, and every certificate verifies against the
// root through its intermediate and shows up in `certmaker cert list`
// under the EAB key's user. Each also runs against the server over HTTPS
// (tls = "self") with the root trusted as its users would trust it (lego:
// LEGO_CA_CERTIFICATES, certbot: REQUESTS_CA_BUNDLE), and lego once more
// with the root key offline.

// acmeConfig is the configuration of a server for an ACME client on a
// free port of challengeIP, with name resolving to challengeIP.
func acmeConfig(t *testing.T, name, challengeIP string) (conf string, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(challengeIP, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", challengeIP, err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	// The free port is above 1023: allow it, as an operator would.
	return fmt.Sprintf("[acme]\nhttp01_port = %d\n\n[challenge]\nallowed_ports = [80, %d]\n\n[challenge.hosts]\n%q = [%q]\n", port, port, name, challengeIP), port
}

// acmeServer starts certmaker with ACME on, http-01 on a free port of
// challengeIP, and name resolving to challengeIP.
func acmeServer(t *testing.T, name, challengeIP string) (dir string, srv *server, port int) {
	t.Helper()
	dir = t.TempDir()
	conf, port := acmeConfig(t, name, challengeIP)
	if err := os.WriteFile(filepath.Join(dir, "certmaker.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, binary.Start(t, dir), port
}

// acmeServerTLS is acmeServer serving HTTPS (tls = "self"), with the root
// fetched over plain HTTP into rootFile; offline takes the root key off
// the server first.
func acmeServerTLS(t *testing.T, name, challengeIP string, offline bool) (dir string, srv *server, port int, rootFile string) {
	t.Helper()
	dir = t.TempDir()
	conf, port := acmeConfig(t, name, challengeIP)
	srv = binary.StartTLS(t, dir, "self", conf)
	rootFile = fetchRoot(t, srv, dir)
	if offline {
		pass := filepath.Join(dir, "pass")
		os.WriteFile(pass, []byte("an offline root passphrase\n"), 0o600)
		binary.Must(t, dir, "root", "offline", "--out", filepath.Join(dir, "root-key.pem"), "--passphrase-file", pass)
		if st := binary.Must(t, dir, "status"); !strings.Contains(st, "root key OFFLINE") {
			t.Fatalf("the root key is not offline:\n%s", st)
		}
	}
	return dir, srv, port, rootFile
}

// eabFor runs `certmaker user add` and `user acme-eab` for a new user.
func eabFor(t *testing.T, dir, user string) (kid, hmac string) {
	t.Helper()
	binary.Must(t, dir, "user", "add", user)
	out := binary.Must(t, dir, "user", "acme-eab", user)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "EAB_KID":
			kid = v
		case "EAB_HMAC_KEY":
			hmac = v
		}
	}
	if kid == "" || len(hmac) != 43 {
		t.Fatalf("user acme-eab printed %q", out)
	}
	return kid, hmac
}

// runClient runs an ACME client with a deadline and a clean environment
// (no proxies) plus env, failing the test with its output if it fails.
func runClient(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := execClient(dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// execClient runs an ACME client as runClient does and returns what it
// printed and how it ended.
func execClient(dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8"}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// leafOf reads a chain as an ACME client saved it (leaf first, then the
// intermediate) and checks it against the root alone for name, with Go
// and with openssl.
func leafOf(t *testing.T, dir, path, name string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var chain []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	if len(chain) != 2 {
		t.Fatalf("%s holds %d certificates, want the leaf and its intermediate", path, len(chain))
	}
	leaf := chain[0]
	rootPEM := binary.Must(t, dir, "root", "export")
	pool, inter := x509.NewCertPool(), x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(rootPEM)) {
		t.Fatalf("root export printed no root: %q", rootPEM)
	}
	inter.AddCert(chain[1])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: name}); err != nil {
		t.Errorf("%s does not verify against the root for %s: %v", path, name, err)
	}
	opensslVerify(t, t.TempDir(), rootPEM, string(data))
	return leaf
}

// listed finds a certificate in `certmaker cert list --json`.
func listed(t *testing.T, dir string, cert *x509.Certificate) (owner, status string) {
	t.Helper()
	var page struct {
		Certificates []struct {
			ID     string `json:"id"`
			Owner  string `json:"owner"`
			Status string `json:"status"`
		} `json:"certificates"`
	}
	if err := json.Unmarshal([]byte(binary.Must(t, dir, "cert", "list", "--json")), &page); err != nil {
		t.Fatal(err)
	}
	for _, c := range page.Certificates {
		if c.ID == cert.SerialNumber.String() {
			return c.Owner, c.Status
		}
	}
	t.Fatalf("certificate %s is not in cert list", cert.SerialNumber)
	return "", ""
}

func TestACME_Lego(t *testing.T) {
	if _, err := exec.LookPath("lego"); err != nil {
		t.Skip("lego is not installed (scripts/deps.sh installs Debian's lego)")
	}
	const name = "lego.test"
	t.Run("HTTP", func(t *testing.T) {
		dir, srv, port := acmeServer(t, name, "127.0.0.2")
		legoFlow(t, dir, srv, port, nil)
	})
	t.Run("HTTPSRootOffline", func(t *testing.T) {
		dir, srv, port, root := acmeServerTLS(t, name, "127.0.0.2", true)
		legoFlow(t, dir, srv, port, []string{"LEGO_CA_CERTIFICATES=" + root})
	})
}

// legoFlow gets, renews and revokes a certificate with lego.
func legoFlow(t *testing.T, dir string, srv *server, port int, env []string) {
	const name = "lego.test"
	kid, hmac := eabFor(t, dir, "alice")
	// lego checks the directory's externalAccountRequired on every command,
	// so the EAB flags go with renew and revoke too.
	common := []string{
		"--server", srv.URL + "/acme/directory", "--accept-tos", "--email", "alice@example.com",
		"--eab", "--kid", kid, "--hmac", hmac, "--path", filepath.Join(dir, "lego"),
		"--domains", name, "--http", "--http.port", fmt.Sprintf("127.0.0.2:%d", port),
	}
	crt := filepath.Join(dir, "lego", "certificates", name+".crt")

	runClient(t, dir, env, "lego", append(common, "run")...)
	first := leafOf(t, dir, crt, name)
	if owner, status := listed(t, dir, first); owner != "alice" || status != "valid" {
		t.Errorf("issued certificate listed as %s, %s", owner, status)
	}

	runClient(t, dir, env, "lego", append(common, "renew", "--days", "3650", "--no-random-sleep")...)
	renewed := leafOf(t, dir, crt, name)
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("renew kept the old certificate")
	}
	if owner, _ := listed(t, dir, renewed); owner != "alice" {
		t.Errorf("renewed certificate owned by %q", owner)
	}

	runClient(t, dir, env, "lego", append(common, "revoke")...)
	if _, status := listed(t, dir, renewed); status != "revoked" {
		t.Errorf("after lego revoke the certificate is %s", status)
	}
}

func TestACME_Certbot(t *testing.T) {
	if _, err := exec.LookPath("certbot"); err != nil {
		t.Skip("certbot is not installed (scripts/deps.sh installs Debian's certbot)")
	}
	t.Run("HTTP", func(t *testing.T) {
		dir, srv, port := acmeServer(t, "certbot.test", "127.0.0.3")
		certbotFlow(t, dir, srv, port, nil)
	})
	t.Run("HTTPS", func(t *testing.T) {
		dir, srv, port, root := acmeServerTLS(t, "certbot.test", "127.0.0.3", false)
		certbotFlow(t, dir, srv, port, []string{"REQUESTS_CA_BUNDLE=" + root})
	})
}

// certbotFlow gets and renews a certificate with certbot.
func certbotFlow(t *testing.T, dir string, srv *server, port int, env []string) {
	const name = "certbot.test"
	kid, hmac := eabFor(t, dir, "bob")
	paths := []string{
		"--config-dir", filepath.Join(dir, "certbot", "config"),
		"--work-dir", filepath.Join(dir, "certbot", "work"),
		"--logs-dir", filepath.Join(dir, "certbot", "logs"),
		"--non-interactive",
	}
	// docs/acme.md's form: with "=", a value beginning with '-' stays a value.
	runClient(t, dir, env, "certbot", append([]string{
		"certonly", "--standalone", "--http-01-port", fmt.Sprint(port), "--http-01-address", "127.0.0.3",
		"--server", srv.URL + "/acme/directory", "--agree-tos", "--register-unsafely-without-email",
		"--eab-kid=" + kid, "--eab-hmac-key=" + hmac, "-d", name,
	}, paths...)...)
	live := filepath.Join(dir, "certbot", "config", "live", name)
	first := leafOf(t, dir, filepath.Join(live, "fullchain.pem"), name)
	if owner, status := listed(t, dir, first); owner != "bob" || status != "valid" {
		t.Errorf("issued certificate listed as %s, %s", owner, status)
	}
	// fullchain.pem is leaf then intermediate, as the server sent it.
	if data, _ := os.ReadFile(filepath.Join(live, "fullchain.pem")); bytes.Count(data, []byte("BEGIN CERTIFICATE")) != 2 {
		t.Errorf("fullchain.pem:\n%s", data)
	}

	// The renewal config remembers the server, port and address.
	// docs/acme.md's form: with "=", a value beginning with '-' stays a value.
	runClient(t, dir, env, "certbot", append([]string{"renew", "--force-renewal", "--no-random-sleep-on-renew"}, paths...)...)
	renewed := leafOf(t, dir, filepath.Join(live, "fullchain.pem"), name)
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("renew kept the old certificate")
	}
	if owner, _ := listed(t, dir, renewed); owner != "bob" {
		t.Errorf("renewed certificate owned by %q", owner)
	}
}

// TestACME_Caddy runs docs/acme.md's Caddyfile (with test ports) with
// Debian's caddy, which scripts/deps.sh installs.
func TestACME_Caddy(t *testing.T) {
	if _, err := exec.LookPath("caddy"); err != nil {
		t.Skip("caddy is not installed (scripts/deps.sh installs Debian's caddy)")
	}
	const name = "caddy.test"
	dir, srv, port := acmeServer(t, name, "127.0.0.4")
	kid, hmac := eabFor(t, dir, "carol")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpsPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	data := filepath.Join(dir, "caddy")
	caddyfile := fmt.Sprintf(`{
	acme_ca %s/acme/directory
	acme_eab {
		key_id %s
		mac_key %s
	}
	http_port %d
	https_port %d
	storage file_system %s
	admin off
}
%s {
	respond "hello"
}
`, srv.URL, kid, hmac, port, httpsPort, data, name)
	leaf := caddyCertificate(t, dir, caddyfile, name)
	if owner, status := listed(t, dir, leaf); owner != "carol" || status != "valid" {
		t.Errorf("caddy's certificate listed as %s, %s", owner, status)
	}
}

// caddyCertificate runs caddy with caddyfile (its storage in dir/caddy)
// until it has a certificate for name, and returns it, checked by leafOf.
func caddyCertificate(t *testing.T, dir, caddyfile, name string) *x509.Certificate {
	t.Helper()
	data := filepath.Join(dir, "caddy")
	if err := os.WriteFile(filepath.Join(dir, "Caddyfile"), []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("caddy", "run", "--config", filepath.Join(dir, "Caddyfile"), "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_DATA_HOME=" + data, "XDG_CONFIG_HOME=" + data}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		found, _ := filepath.Glob(filepath.Join(data, "certificates", "*", name, name+".crt"))
		if len(found) == 1 {
			return leafOf(t, dir, found[0], name)
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait() // out is complete and no longer written
			t.Fatalf("caddy got no certificate\n%s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBinary_ACMEEAB: `user acme-eab --list` and `--revoke` over the
// socket of a running server and, with none, on the file.
func TestBinary_ACMEEAB(t *testing.T) {
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	kid1, hmac1 := eabFor(t, dir, "alice")
	kid2, hmac2 := "", ""
	for _, line := range strings.Split(binary.Must(t, dir, "user", "acme-eab", "alice"), "\n") {
		if v, ok := strings.CutPrefix(line, "EAB_KID="); ok {
			kid2 = v
		}
		if v, ok := strings.CutPrefix(line, "EAB_HMAC_KEY="); ok {
			hmac2 = v
		}
	}
	rows := func(out string) map[string]string {
		t.Helper()
		if strings.Contains(out, hmac1) || strings.Contains(out, hmac2) {
			t.Fatalf("the list shows an HMAC key:\n%s", out)
		}
		m := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Fields(line)
			m[f[0]] = strings.Join(f[1:], " ")
		}
		return m
	}
	list := rows(binary.Must(t, dir, "user", "acme-eab", "--list"))
	if len(list) != 2 || !strings.HasPrefix(list[kid1], "alice ") || !strings.HasSuffix(list[kid2], " no 0") {
		t.Fatalf("list: %v", list)
	}
	if got := binary.Must(t, dir, "user", "acme-eab", "--revoke", kid1); !strings.Contains(got, "revoked EAB key "+kid1) {
		t.Errorf("revoke printed %q", got)
	}
	if list := rows(binary.Must(t, dir, "user", "acme-eab", "--list", "alice")); len(list) != 1 || list[kid2] == "" {
		t.Errorf("after revoke: %v", list)
	}
	if _, errOut, err := binary.Run(t, dir, "user", "acme-eab", "--revoke", kid1); err == nil || !strings.Contains(errOut, "not found") {
		t.Errorf("revoking twice: %v %q", err, errOut)
	}

	srv.Stop(t)
	binary.Must(t, dir, "user", "acme-eab", "--revoke="+kid2)
	if list := rows(binary.Must(t, dir, "user", "acme-eab", "--list")); len(list) != 0 {
		t.Errorf("offline, after revoking both: %v", list)
	}
}
