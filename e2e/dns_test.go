package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// dns-01, wildcards and tls-alpn-01 with real programs: Debian's knot as
// the homelab's authoritative DNS server (a zone, TSIG-signed dynamic
// updates, on a loopback address and a high port), lego's rfc2136
// provider and certbot's dns-rfc2136 plugin publishing the TXT records
// through it, knsupdate for the token API's DNS proof, and lego's own
// tls-alpn-01 server. certmaker's dns_resolvers names the knot server.

// knotIP is the loopback address the test DNS server listens on.
const knotIP = "127.0.0.58"

// knotServer is a running knotd serving the zone wild.test.
type knotServer struct {
	addr    string // ip:port, UDP and TCP
	keyName string
	secret  string // base64
}

// startKnot starts knotd with the zone wild.test and a TSIG key allowed
// to update it, until the test ends.
func startKnot(t *testing.T) *knotServer {
	t.Helper()
	for _, prog := range []string{"knotd", "knsupdate"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Skipf("%s is not installed (scripts/deps.sh installs Debian's knot and knot-dnsutils)", prog)
		}
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	k := &knotServer{addr: net.JoinHostPort(knotIP, fmt.Sprint(freeUDPTCPPort(t, knotIP))), keyName: "certmaker-test.",
		secret: base64.StdEncoding.EncodeToString(secret)}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(k.addr)
	conf := fmt.Sprintf(`server:
    rundir: %q
    listen: %s@%s
log:
  - target: stderr
    any: info
database:
    storage: %q
control:
    listen: %q
key:
  - id: %s
    algorithm: hmac-sha256
    secret: %s
acl:
  - id: update
    key: %s
    action: update
template:
  - id: default
    storage: %q
    zonefile-sync: -1
zone:
  - domain: wild.test
    acl: update
`, dir, knotIP, port, filepath.Join(dir, "db"), filepath.Join(dir, "knot.sock"), k.keyName, k.secret, k.keyName, dir)
	zone := `$ORIGIN wild.test.
$TTL 60
@ SOA ns1.wild.test. hostmaster.wild.test. 1 3600 600 86400 60
@ NS ns1
ns1 A ` + knotIP + `
ready TXT "yes"
`
	for name, data := range map[string]string{"knot.conf": conf, "wild.test.zone": zone} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("knotd", "-c", filepath.Join(dir, "knot.conf"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, k.addr)
	}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		txt, err := r.LookupTXT(ctx, "ready.wild.test.")
		cancel()
		if err == nil && slices.Equal(txt, []string{"yes"}) {
			return k
		}
		if time.Now().After(deadline) {
			t.Fatalf("knotd does not answer on %s: %v\n%s", k.addr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// update sends one TSIG-signed dynamic update (RFC 2136) with knsupdate.
func (k *knotServer) update(t *testing.T, commands ...string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(k.addr)
	script := fmt.Sprintf("server %s %s\nzone wild.test.\n%s\nsend\n", host, port, strings.Join(commands, "\n"))
	cmd := exec.Command("knsupdate", "-y", "hmac-sha256:"+k.keyName+":"+k.secret)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("knsupdate: %v\n%s", err, out)
	}
}

// freeUDPTCPPort is a port on ip free for both UDP and TCP.
func freeUDPTCPPort(t *testing.T, ip string) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Skipf("cannot listen on %s: %v", ip, err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", ln.Addr().String())
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatalf("no port free for UDP and TCP on %s", ip)
	return 0
}

// dnsServer starts certmaker whose DNS proofs ask k, with more config.
func dnsServer(t *testing.T, k *knotServer, more string) (string, *server) {
	t.Helper()
	dir := t.TempDir()
	conf := fmt.Sprintf("[challenge]\ndns_resolvers = [%q]\n%s", k.addr, more)
	if err := os.WriteFile(filepath.Join(dir, "certmaker.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, binary.Start(t, dir)
}

// wantNames fails unless cert names exactly names, in any order.
func wantNames(t *testing.T, cert *x509.Certificate, names ...string) {
	t.Helper()
	got := slices.Clone(cert.DNSNames)
	slices.Sort(got)
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Errorf("certificate names %v, want %v", got, names)
	}
}

// TestDNS01_Lego: lego's rfc2136 provider publishes the TXT records in
// knot; certmaker finds them there and issues *.wild.test and wild.test
// in one certificate.
func TestDNS01_Lego(t *testing.T) {
	if _, err := exec.LookPath("lego"); err != nil {
		t.Skip("lego is not installed (scripts/deps.sh installs Debian's lego)")
	}
	k := startKnot(t)
	dir, srv := dnsServer(t, k, "")
	kid, hmac := eabFor(t, dir, "alice")
	env := []string{
		"RFC2136_NAMESERVER=" + k.addr, "RFC2136_TSIG_KEY=" + k.keyName, "RFC2136_TSIG_SECRET=" + k.secret,
		"RFC2136_TSIG_ALGORITHM=hmac-sha256.", "RFC2136_PROPAGATION_TIMEOUT=20", "RFC2136_POLLING_INTERVAL=1",
		// The wildcard and its base name share one TXT name, which lego
		// solves one after the other with this pause (60s by default).
		"RFC2136_SEQUENCE_INTERVAL=1",
	}
	// lego finds the zone through --dns.resolvers; its wait for every
	// authoritative server (the zone's NS on port 53) is off.
	runClient(t, dir, env, "lego", "--server", srv.URL+"/acme/directory", "--accept-tos", "--email", "alice@example.com",
		"--eab", "--kid", kid, "--hmac", hmac, "--path", filepath.Join(dir, "lego"),
		"--domains", "*.wild.test", "--domains", "wild.test",
		"--dns", "rfc2136", "--dns.resolvers", k.addr, "--dns.disable-cp", "run")
	leaf := leafOf(t, dir, filepath.Join(dir, "lego", "certificates", "_.wild.test.crt"), "nas.wild.test")
	wantNames(t, leaf, "*.wild.test", "wild.test")
	if owner, status := listed(t, dir, leaf); owner != "alice" || status != "valid" {
		t.Errorf("listed as %s, %s", owner, status)
	}
}

// TestDNS01_Certbot: certbot's dns-rfc2136 plugin, docs/acme.md's way.
func TestDNS01_Certbot(t *testing.T) {
	if _, err := exec.LookPath("certbot"); err != nil {
		t.Skip("certbot is not installed (scripts/deps.sh installs Debian's certbot)")
	}
	if _, err := os.Stat("/usr/lib/python3/dist-packages/certbot_dns_rfc2136"); err != nil {
		t.Skip("python3-certbot-dns-rfc2136 is not installed (scripts/deps.sh installs it)")
	}
	k := startKnot(t)
	dir, srv := dnsServer(t, k, "")
	kid, hmac := eabFor(t, dir, "bob")
	host, port, _ := net.SplitHostPort(k.addr)
	ini := filepath.Join(dir, "rfc2136.ini")
	creds := fmt.Sprintf("dns_rfc2136_server = %s\ndns_rfc2136_port = %s\ndns_rfc2136_name = %s\ndns_rfc2136_secret = %s\ndns_rfc2136_algorithm = HMAC-SHA256\n",
		host, port, k.keyName, k.secret)
	if err := os.WriteFile(ini, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	runClient(t, dir, nil, "certbot", "certonly", "--authenticator", "dns-rfc2136",
		"--dns-rfc2136-credentials", ini, "--dns-rfc2136-propagation-seconds", "1",
		"--server", srv.URL+"/acme/directory", "--agree-tos", "--register-unsafely-without-email",
		"--eab-kid="+kid, "--eab-hmac-key="+hmac, "-d", "*.cb.wild.test", "-d", "cb.wild.test",
		"--config-dir", filepath.Join(dir, "certbot", "config"), "--work-dir", filepath.Join(dir, "certbot", "work"),
		"--logs-dir", filepath.Join(dir, "certbot", "logs"), "--non-interactive")
	leaf := leafOf(t, dir, filepath.Join(dir, "certbot", "config", "live", "cb.wild.test", "fullchain.pem"), "nas.cb.wild.test")
	wantNames(t, leaf, "*.cb.wild.test", "cb.wild.test")
	if owner, _ := listed(t, dir, leaf); owner != "bob" {
		t.Errorf("owned by %q", owner)
	}
}

// TestDNSProof_API: the token API's DNS proof, the records published
// with knsupdate: a wrong value is refused with the reason, the right one
// issues the wildcard.
func TestDNSProof_API(t *testing.T) {
	k := startKnot(t)
	dir, srv := dnsServer(t, k, "required = true\n")
	token := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	status, hdr, body := srv.Do(t, "POST", "/api/certificate/request", token, `{"domains":["*.api.wild.test","api.wild.test"],"challenge":"dns"}`)
	var a struct {
		Token    string `json:"token"`
		Location string `json:"challenge_location"`
		DNS      []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"dns"`
	}
	if status != 202 || json.Unmarshal([]byte(body), &a) != nil || len(a.DNS) != 1 || a.Location != hdr.Get("X-Challenge-Location") {
		t.Fatalf("request: %d %q", status, body)
	}
	rec := a.DNS[0]
	if rec.Name != "_acme-challenge.api.wild.test" || rec.Value != a.Token {
		t.Fatalf("record %+v", rec)
	}
	u, err := url.Parse(a.Location)
	if err != nil {
		t.Fatal(err)
	}

	k.update(t, fmt.Sprintf("update add %s. 60 TXT \"not-the-token\"", rec.Name))
	status, _, body = srv.Do(t, "GET", u.Path, token, "")
	if status != 417 || !strings.Contains(body, "wrong TXT value at _acme-challenge.api.wild.test") || strings.Contains(body, "not-the-token") {
		t.Fatalf("a wrong value: %d %q", status, body)
	}
	k.update(t, fmt.Sprintf("update delete %s. TXT", rec.Name), fmt.Sprintf("update add %s. 60 TXT %q", rec.Name, rec.Value))
	status, hdr, body = srv.Do(t, "GET", u.Path, token, "")
	if status != 200 {
		t.Fatalf("solve: %d %q", status, body)
	}
	cu, _ := url.Parse(hdr.Get("X-Certificate-Location"))
	_, _, pemBody := srv.Do(t, "GET", cu.Path, token, "")
	path := filepath.Join(dir, "api.pem")
	os.WriteFile(path, []byte(pemBody), 0o600)
	wantNames(t, leafOf(t, dir, path, "www.api.wild.test"), "*.api.wild.test", "api.wild.test")
}

// TestTLSALPN01_Lego: lego answers tls-alpn-01 on a loopback address;
// certmaker connects there on its tls_alpn01_port.
func TestTLSALPN01_Lego(t *testing.T) {
	if _, err := exec.LookPath("lego"); err != nil {
		t.Skip("lego is not installed (scripts/deps.sh installs Debian's lego)")
	}
	const name = "alpn.test"
	port := freeUDPTCPPort(t, "127.0.0.2")
	dir := t.TempDir()
	conf := fmt.Sprintf("[acme]\ntls_alpn01_port = %d\n\n[challenge]\nallowed_ports = [80, %d]\n\n[challenge.hosts]\n%q = [\"127.0.0.2\"]\n", port, port, name)
	if err := os.WriteFile(filepath.Join(dir, "certmaker.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := binary.Start(t, dir)
	kid, hmac := eabFor(t, dir, "carol")
	runClient(t, dir, nil, "lego", "--server", srv.URL+"/acme/directory", "--accept-tos", "--email", "carol@example.com",
		"--eab", "--kid", kid, "--hmac", hmac, "--path", filepath.Join(dir, "lego"),
		"--domains", name, "--tls", "--tls.port", fmt.Sprintf("127.0.0.2:%d", port), "run")
	leaf := leafOf(t, dir, filepath.Join(dir, "lego", "certificates", name+".crt"), name)
	wantNames(t, leaf, name)
}

// TestTLSALPN01_Caddy: Caddy with http-01 off answers tls-alpn-01 on its
// HTTPS port, which certmaker's tls_alpn01_port names.
func TestTLSALPN01_Caddy(t *testing.T) {
	if _, err := exec.LookPath("caddy"); err != nil {
		t.Skip("caddy is not installed (scripts/deps.sh installs Debian's caddy)")
	}
	const name = "caddy-alpn.test"
	httpsPort := freeUDPTCPPort(t, "127.0.0.5")
	httpPort := freeUDPTCPPort(t, "127.0.0.5")
	dir := t.TempDir()
	conf := fmt.Sprintf("[acme]\ntls_alpn01_port = %d\n\n[challenge]\nallowed_ports = [80, %d]\n\n[challenge.hosts]\n%q = [\"127.0.0.5\"]\n", httpsPort, httpsPort, name)
	if err := os.WriteFile(filepath.Join(dir, "certmaker.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := binary.Start(t, dir)
	kid, hmac := eabFor(t, dir, "dave")
	data := filepath.Join(dir, "caddy")
	caddyfile := fmt.Sprintf(`{
	http_port %d
	https_port %d
	storage file_system %s
	admin off
}
%s {
	bind 127.0.0.5
	tls {
		issuer acme {
			dir %s/acme/directory
			eab %s %s
			disable_http_challenge
		}
	}
	respond "hello"
}
`, httpPort, httpsPort, data, name, srv.URL, kid, hmac)
	leaf := caddyCertificate(t, dir, caddyfile, name)
	if owner, _ := listed(t, dir, leaf); owner != "dave" {
		t.Errorf("caddy's certificate owned by %q", owner)
	}
}
