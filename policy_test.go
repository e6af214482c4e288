package main

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBinary_Policy is the small team of the README: a renewal bot held to
// one name, a team member to a subdomain, an admin without a policy. The
// policies are set over the socket of a running server and take effect on
// the next request; `cert issue` is held to them as the API is; each
// change leaves one audit line; they survive a restart, a backup and its
// restore; and with no server, the commands work on the file.
func TestBinary_Policy(t *testing.T) {
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	nas := strings.TrimSpace(binary.Must(t, dir, "user", "add", "nas", "--allow", "nas.home.lan", "--allow", "192.168.1.20", "--max-days", "30"))
	dev := strings.TrimSpace(binary.Must(t, dir, "user", "add", "dev", "--allow", ".lab.home.lan,10.20.0.0/16", "--deny", "vault.lab.home.lan", "--key-types", "ecdsa-p256,ed25519"))
	binary.Must(t, dir, "user", "add", "boss", "--admin")

	list := binary.Must(t, dir, "user", "list")
	for _, want := range []string{
		`(?m)^nas\s.*allow nas.home.lan 192.168.1.20; max 30 days$`,
		`(?m)^dev\s.*allow .lab.home.lan 10.20.0.0/16; deny vault.lab.home.lan; keys ecdsa-p256,ed25519$`,
		`(?m)^boss\s.*CA limits$`,
	} {
		if !regexp.MustCompile(want).MatchString(list) {
			t.Errorf("user list does not match %s:\n%s", want, list)
		}
	}

	request := func(token, body string) (int, string) {
		t.Helper()
		code, _, got := srv.Do(t, "POST", "/api/certificate/request", token, body)
		return code, got
	}
	if code, body := request(nas, `{"domains":["vault.home.lan"]}`); code != 403 || !strings.Contains(body, "refuses vault.home.lan: it allows only nas.home.lan, 192.168.1.20") {
		t.Errorf("nas asking for vault.home.lan: %d %q", code, body)
	}
	if code, body := request(nas, `{"domains":["nas.home.lan"],"ips":["192.168.1.20"],"days":90}`); code != 200 {
		t.Errorf("nas asking for its own name: %d %q", code, body)
	}
	if code, body := request(dev, `{"domains":["vault.lab.home.lan"]}`); code != 403 || !strings.Contains(body, "denied by vault.lab.home.lan") {
		t.Errorf("dev asking for a denied name: %d %q", code, body)
	}
	if code, body := request(dev, `{"domains":["*.lab.home.lan"]}`); code != 403 {
		t.Errorf("dev asking for a wildcard that covers a denied name: %d %q", code, body)
	}
	if code, body := request(dev, `{"domains":["ci.lab.home.lan"],"key_type":"rsa-2048"}`); code != 403 || !strings.Contains(body, "key type rsa-2048") {
		t.Errorf("dev asking for an RSA key: %d %q", code, body)
	}
	if code, body := request(dev, `{"domains":["ci.lab.home.lan"],"ips":["10.20.1.5"]}`); code != 200 {
		t.Errorf("dev asking inside its policy: %d %q", code, body)
	}

	// certmaker get, as the bot runs it: refused in words, nothing written.
	tokenFile := filepath.Join(dir, "nas.token")
	if err := os.WriteFile(tokenFile, []byte(nas+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getCrt := filepath.Join(dir, "get.crt")
	_, errOut, err := binary.Run(t, dir, "get", "--server", srv.URL, "--token-file", tokenFile, "--name", "vault.home.lan",
		"--cert", getCrt, "--key", filepath.Join(dir, "get.key"))
	if err == nil || !strings.Contains(errOut, "refuses vault.home.lan") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("certmaker get outside the policy: %v, stderr %q", err, errOut)
	}
	if _, err := os.Stat(getCrt); !os.IsNotExist(err) {
		t.Errorf("a refused get wrote the certificate: %v", err)
	}
	binary.Must(t, dir, "get", "--server", srv.URL, "--token-file", tokenFile, "--name", "nas.home.lan", "--days", "90",
		"--cert", getCrt, "--key", filepath.Join(dir, "get.key"))
	if d := readCert(t, getCrt); d.NotAfter.Sub(d.NotBefore).Hours()/24 != 30 {
		t.Errorf("get --days 90 under a maximum of 30: %v", d.NotAfter.Sub(d.NotBefore))
	}

	// A change over the socket: the very next request meets it.
	out := binary.Must(t, dir, "user", "policy", "nas", "--allow", "backup.home.lan")
	if !strings.Contains(out, "allow:      backup.home.lan") || !strings.Contains(out, "max days:   30") {
		t.Errorf("user policy printed:\n%s", out)
	}
	if code, body := request(nas, `{"domains":["nas.home.lan"]}`); code != 403 {
		t.Errorf("the next request after the change: %d %q, want 403", code, body)
	}
	if code, _ := request(nas, `{"domains":["backup.home.lan"]}`); code != 200 {
		t.Errorf("the newly allowed name: %d", code)
	}
	_, errOut, err = binary.Run(t, dir, "user", "policy", "nas", "--deny", "10.0.0.0/33")
	if err == nil || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "10.0.0.0/33") {
		t.Errorf("a bad rule: %v, stderr %q; want one line naming it", err, errOut)
	}

	// The operator issuing for nas is held to nas's policy.
	crt, key := filepath.Join(dir, "nas.crt"), filepath.Join(dir, "nas.key")
	_, errOut, err = binary.Run(t, dir, "cert", "issue", "--user", "nas", "--name", "vault.home.lan", "--cert", crt, "--key", key)
	if err == nil || !strings.Contains(errOut, "refuses vault.home.lan") {
		t.Errorf("cert issue outside nas's policy: %v %q", err, errOut)
	}
	if _, err := os.Stat(crt); !os.IsNotExist(err) {
		t.Errorf("a refused cert issue wrote a file: %v", err)
	}
	out = binary.Must(t, dir, "cert", "issue", "--user", "nas", "--name", "backup.home.lan", "--days", "60", "--cert", crt, "--key", key)
	if !strings.Contains(out, "issued for user nas") {
		t.Errorf("cert issue printed %q", out)
	}
	leaf := readCert(t, crt)
	if d := leaf.NotAfter.Sub(leaf.NotBefore).Hours() / 24; d != 30 || leaf.DNSNames[0] != "backup.home.lan" {
		t.Errorf("cert issue made %v for %v days", leaf.DNSNames, d)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	if list := binary.Must(t, dir, "cert", "list", "--user", "nas"); !strings.Contains(list, "backup.home.lan") {
		t.Errorf("the issued certificate is not nas's:\n%s", list)
	}

	// One audit line per change, naming what changed.
	audit := regexp.MustCompile(`(?m)^.*msg=audit.*action=user\.policy.*$`).FindAllString(srv.Stderr.String(), -1)
	if len(audit) != 2 || !strings.Contains(audit[0], "target=nas") || !strings.Contains(audit[0], `changed=allow allow=backup.home.lan`) || !strings.Contains(audit[1], "result=invalid") {
		t.Errorf("audit lines of the changes:\n%s", strings.Join(audit, "\n"))
	}

	backup := filepath.Join(dir, "backup.db")
	binary.Must(t, dir, "backup", backup)
	binary.Must(t, dir, "user", "policy", "nas", "--clear")
	if code, _ := request(nas, `{"domains":["vault.home.lan"]}`); code != 200 {
		t.Errorf("after --clear: %d, want 200", code)
	}
	srv.Stop(t)

	// On the file, with no server: the same commands.
	binary.Must(t, dir, "user", "policy", "dev", "--max-days", "10")
	if out := binary.Must(t, dir, "user", "policy", "dev"); !strings.Contains(out, "max days:   10") || !strings.Contains(out, "deny:       vault.lab.home.lan") {
		t.Errorf("offline user policy:\n%s", out)
	}

	// A restart keeps the policies.
	srv = binary.Start(t, dir)
	if code, _ := request(dev, `{"domains":["vault.lab.home.lan"]}`); code != 403 {
		t.Errorf("dev after a restart: %d, want 403", code)
	}
	if code, _ := request(nas, `{"domains":["vault.home.lan"]}`); code != 200 {
		t.Errorf("nas (cleared) after a restart: %d, want 200", code)
	}
	srv.Stop(t)

	// The backup holds the policies as they were when it was taken.
	db := filepath.Join(dir, "certmaker.db")
	copyFile(t, backup, db)
	srv = binary.Start(t, dir)
	if code, body := request(nas, `{"domains":["vault.home.lan"]}`); code != 403 || !strings.Contains(body, "allows only backup.home.lan") {
		t.Errorf("nas after restoring the backup: %d %q", code, body)
	}
	if out := binary.Must(t, dir, "user", "policy", "dev"); !strings.Contains(out, "max days:   182 (the CA's max_days)") {
		t.Errorf("dev after restoring the backup:\n%s", out)
	}
	srv.Stop(t)
}

// TestBinary_PolicyDefault: [policy.default] is the policy of users made
// from then on; a bad one stops the start, naming the key.
func TestBinary_PolicyDefault(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "certmaker.toml")
	if err := os.WriteFile(conf, []byte("[policy.default]\nallow = [\".lab.home.lan\"]\nmax_days = 14\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := binary.Start(t, dir)
	binary.Must(t, dir, "user", "add", "intern")
	binary.Must(t, dir, "user", "add", "lead", "--clear")
	if out := binary.Must(t, dir, "user", "policy", "intern"); !strings.Contains(out, "allow:      .lab.home.lan") || !strings.Contains(out, "max days:   14") {
		t.Errorf("a new user's policy:\n%s", out)
	}
	if out := binary.Must(t, dir, "user", "policy", "lead"); !strings.Contains(out, "every name the CA allows") {
		t.Errorf("a new user made with --clear:\n%s", out)
	}
	srv.Stop(t)

	if err := os.WriteFile(conf, []byte("[policy.default]\ndeny = [\"10.0.0.5/8\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := binary.Run(t, dir, "user", "list")
	if err == nil || !strings.Contains(errOut, "policy.default") || !strings.Contains(errOut, "10.0.0.5/8") {
		t.Errorf("a bad default: %v %q", err, errOut)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return pemCert(t, string(b))
}
