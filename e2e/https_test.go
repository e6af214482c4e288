package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// fetchRoot fetches the root over the plain listener and writes it to dir.
func fetchRoot(t *testing.T, srv *server, dir string) string {
	t.Helper()
	resp, err := http.Get(srv.PlainURL + "/roots.pem")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 8192)
	for {
		n, err := resp.Body.Read(buf)
		b.WriteString(string(buf[:n]))
		if err != nil {
			break
		}
	}
	if resp.StatusCode != 200 {
		t.Fatalf("/roots.pem: %d", resp.StatusCode)
	}
	path := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// nssHome makes a home directory whose NSS store (what Chromium on Linux
// trusts beyond the system) holds root as a trusted CA, as an operator
// adds it with certutil.
func nssHome(t *testing.T, root string) string {
	t.Helper()
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		t.Skip("certutil is not installed (scripts/deps.sh installs libnss3-tools)")
	}
	home := t.TempDir()
	db := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-d", "sql:" + db, "-N", "--empty-password"},
		{"-d", "sql:" + db, "-A", "-t", "C,,", "-n", "certmaker root", "-i", root},
	} {
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return home
}

// TestBrowser_HTTPS: the dashboard over HTTPS (tls = "self") in Chromium
// with the root added to its NSS store: sign in, issue, see the root key's
// state; and, as a control, the same browser without the root refuses the
// connection.
func TestBrowser_HTTPS(t *testing.T) {
	chromiumPath(t)
	dir := t.TempDir()
	srv := binary.StartTLS(t, dir, "self", "")
	home := nssHome(t, fetchRoot(t, srv, dir))

	p := newPageWith(t, srv.URL, chromedp.Env("HOME="+home))
	if code := p.signIn(srv.Token); code != 200 || p.path() != "/certificates" {
		t.Fatalf("sign in over HTTPS: status %d at %s", code, p.path())
	}
	if code := p.open("/certificates/new"); code != 200 {
		t.Fatalf("request form: %d", code)
	}
	p.do(chromedp.SendKeys(chromedp.CSS("#names"), "tls.home.lan"))
	if code := p.click(`button[type=submit][data-busy]`); code != 200 {
		t.Fatalf("request over HTTPS: status %d", code)
	}
	if code := p.open("/admin"); code != 200 {
		t.Fatalf("status page: %d", code)
	}
	p.wantText("#root-key", "Root key: online")

	// The control: no root in the store, no page.
	bare := newPageWith(t, srv.URL, chromedp.Env("HOME="+t.TempDir()))
	if _, err := chromedp.Run(bare.ctx, chromedp.NavigateResponse(srv.URL+"/signin")); err == nil || !strings.Contains(err.Error(), "CERT") {
		t.Errorf("Chromium without the root opened the HTTPS dashboard: %v", err)
	}
}
