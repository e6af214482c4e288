package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/ocsp"

	"certmaker/ca"
	"certmaker/internal/binarytest"
	"certmaker/internal/testdb"
)

// binary is the certmaker built once for these tests, run as an operator
// would run it.
var binary binarytest.Binary

func TestMain(m *testing.M) { binarytest.Main(m, ".", &binary) }

// The helpers of binarytest, on this package's binary.
type server = binarytest.Server

func freePort(t *testing.T) int { return binarytest.FreePort(t) }

var tryDo = binarytest.TryDo

func TestBinary_Operator(t *testing.T) {
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	if srv.Token == "" {
		t.Fatalf("first start printed no admin token\n%s", srv.Stderr)
	}
	if code, _, _ := srv.Do(t, "GET", "/api/root-certificate/obtain", srv.Token, ""); code != 200 {
		t.Fatalf("bootstrap admin token refused: %d", code)
	}

	// Admin commands reach the running server over its socket.
	alice := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	if strings.Contains(alice, "\n") || len(alice) != 43 {
		t.Fatalf("user add printed %q, want the token alone", alice)
	}
	code, hdr, body := srv.Do(t, "POST", "/api/certificate/request", alice, `{"domains":["nas.home.lan"]}`)
	if code != 200 {
		t.Fatalf("request: %d %s", code, body)
	}
	certPath := strings.TrimPrefix(hdr.Get("X-Certificate-Location"), srv.URL)
	_, _, rootPEM := srv.Do(t, "GET", "/api/root-certificate/obtain", alice, "")
	_, _, leafPEM := srv.Do(t, "GET", certPath, alice, "")
	opensslVerify(t, dir, rootPEM, leafPEM)

	list := binary.Must(t, dir, "user", "list")
	if !regexp.MustCompile(`(?m)^alice\s+no\s+no\s+.*\s1\s+CA limits$`).MatchString(list) || !regexp.MustCompile(`(?m)^admin\s+yes\s+no`).MatchString(list) {
		t.Errorf("user list:\n%s", list)
	}

	binary.Must(t, dir, "user", "disable", "alice")
	if code, _, _ := srv.Do(t, "GET", "/api/root-certificate/obtain", alice, ""); code != 401 {
		t.Errorf("disabled user got %d, want 401 at once", code)
	}
	binary.Must(t, dir, "user", "enable", "alice")
	if code, _, _ := srv.Do(t, "GET", "/api/root-certificate/obtain", alice, ""); code != 200 {
		t.Errorf("enabled user got %d", code)
	}
	bob := strings.TrimSpace(binary.Must(t, dir, "create-user", "bob"))
	binary.Must(t, dir, "disable-user", "bob")
	if code, _, _ := srv.Do(t, "GET", "/api/root-certificate/obtain", bob, ""); code != 401 {
		t.Errorf("disable-user alias: bob got %d, want 401", code)
	}

	newAlice := strings.TrimSpace(binary.Must(t, dir, "user", "token", "alice"))
	if code, _, _ := srv.Do(t, "GET", "/api/root-certificate/obtain", alice, ""); code != 404 {
		t.Errorf("old token got %d, want 404", code)
	}
	if code, _, _ := srv.Do(t, "GET", certPath, newAlice, ""); code != 200 {
		t.Errorf("new token got %d", code)
	}

	fp := strings.TrimSpace(binary.Must(t, dir, "rotate-root"))
	_, _, newRoot := srv.Do(t, "GET", "/api/root-certificate/obtain", newAlice, "")
	if got := ca.Colons(pemFingerprint(t, newRoot)); got != fp {
		t.Errorf("rotate-root printed %s, server now serves %s", fp, got)
	}
	// The old certificate is still obtainable after the rotation.
	if code, _, got := srv.Do(t, "GET", certPath, newAlice, ""); code != 200 || got != leafPEM {
		t.Errorf("old certificate after rotation: %d", code)
	}

	for _, args := range [][]string{{"user", "disable", "nobody"}, {"user", "add", "alice"}, {"user", "add", "bad name"}, {"user", "token"}} {
		_, errOut, err := binary.Run(t, dir, args...)
		if err == nil {
			t.Errorf("%v succeeded", args)
		}
		if lines := strings.Count(strings.TrimSpace(errOut), "\n"); lines != 0 || errOut == "" {
			t.Errorf("%v: stderr %q, want one line", args, errOut)
		}
	}

	srv.Stop(t)
	if _, err := os.Stat(filepath.Join(dir, "certmaker.db.sock")); !os.IsNotExist(err) {
		t.Errorf("admin socket left behind: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "certmaker.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	// With no server, the same commands open the file themselves.
	if list := binary.Must(t, dir, "user", "list"); !strings.Contains(list, "bob") {
		t.Errorf("offline user list:\n%s", list)
	}
	carol := strings.TrimSpace(binary.Must(t, dir, "user", "add", "carol"))

	// A restart keeps everything and prints no new admin token.
	srv = binary.Start(t, dir)
	if srv.Token != "" {
		t.Error("second start printed a new admin token")
	}
	if code, _, got := srv.Do(t, "GET", certPath, newAlice, ""); code != 200 || got != leafPEM {
		t.Errorf("certificate after restart: %d", code)
	}
	if code, _, _ := srv.Do(t, "GET", "/api/root-certificate/obtain", carol, ""); code != 200 {
		t.Errorf("user added offline got %d", code)
	}
	srv.Stop(t)
}

func TestBinary_LockedWithoutServer(t *testing.T) {
	dir := t.TempDir()
	db, err := testdb.Open(filepath.Join(dir, "certmaker.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, errOut, err := binary.Run(t, dir, "user", "list")
	if err == nil || !strings.Contains(errOut, "in use") {
		t.Errorf("locked file: err %v, stderr %q; want a clear 'in use' line", err, errOut)
	}
	_, errOut, err = binary.Run(t, dir, "serve", "--listen", "127.0.0.1:0")
	if err == nil || !strings.Contains(errOut, "in use") {
		t.Errorf("second serve: err %v, stderr %q", err, errOut)
	}
}

func TestBinary_Config(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct{ name, toml, mention string }{
		{"UnknownKey", "[server]\nlisten = \":0\"\ncolour = \"blue\"\n", "server.colour"},
		{"BadValue", "[certificates]\nmax_days = 0\n", "certificates.max_days"},
		{"BadDuration", "[challenge]\ntimeout = \"soon\"\n", "soon"},
		{"BadURL", "[server]\npublic_url = \"ftp://x\"\n", "server.public_url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, err := binary.Run(t, dir, "--config", write(c.toml), "serve")
			if err == nil || !strings.Contains(errOut, c.mention) {
				t.Errorf("err %v, stderr %q; want it to name %q", err, errOut, c.mention)
			}
		})
	}
	t.Run("MissingExplicitFile", func(t *testing.T) {
		if _, _, err := binary.Run(t, dir, "--config", filepath.Join(dir, "nope.toml"), "user", "list"); err == nil {
			t.Error("a missing --config file was ignored")
		}
	})
	t.Run("Version", func(t *testing.T) {
		if out := binary.Must(t, dir, "version"); !strings.HasPrefix(out, "certmaker ") {
			t.Errorf("version printed %q", out)
		}
	})
}

func opensslVerify(t *testing.T, dir, rootPEM, leafPEM string) {
	t.Helper()
	binarytest.OpenSSLVerify(t, dir, rootPEM, leafPEM)
}

func pemFingerprint(t *testing.T, s string) string {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("not PEM: %q", s)
	}
	sum := sha256.Sum256(b.Bytes)
	return hex.EncodeToString(sum[:])
}

// TestBinary_Revocation checks revocation with openssl as the independent
// judge: its OCSP client and its CRL check.
func TestBinary_Revocation(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	alice := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	issue := func(name string) (id, file string) {
		code, hdr, body := srv.Do(t, "POST", "/api/certificate/request", alice, `{"domains":["`+name+`"]}`)
		if code != 200 {
			t.Fatalf("request: %d %s", code, body)
		}
		_, _, pemText := srv.Do(t, "GET", strings.TrimPrefix(hdr.Get("X-Certificate-Location"), srv.URL), alice, "")
		file = filepath.Join(dir, name+".pem")
		os.WriteFile(file, []byte(pemText), 0o600)
		return strings.TrimSpace(body), file
	}
	_, good := issue("good.home.lan")
	badID, bad := issue("bad.home.lan")
	_, _, rootPEM := srv.Do(t, "GET", "/api/root-certificate/obtain", alice, "")
	root := filepath.Join(dir, "root.pem")
	os.WriteFile(root, []byte(rootPEM), 0o600)
	// The intermediate signs the leaves and their OCSP answers; the root
	// alone is trusted.
	_, _, interPEM := srv.Do(t, "GET", "/intermediate.pem", "", "")
	inter := filepath.Join(dir, "intermediate.pem")
	os.WriteFile(inter, []byte(interPEM), 0o600)

	openssl := func(args ...string) (string, error) {
		out, err := exec.Command("openssl", args...).CombinedOutput()
		return string(out), err
	}
	ocspCheck := func(leaf string) string {
		t.Helper()
		out, err := openssl("ocsp", "-issuer", inter, "-cert", leaf, "-url", srv.URL+"/api/ocsp", "-CAfile", root)
		if err != nil {
			t.Fatalf("openssl ocsp: %v\n%s", err, out)
		}
		if !strings.Contains(out, "Response verify OK") || strings.Contains(out, "WARNING") {
			t.Errorf("openssl ocsp output:\n%s", out)
		}
		return out
	}
	if out := ocspCheck(bad); !strings.Contains(out, bad+": good") {
		t.Errorf("before revocation:\n%s", out)
	}
	binary.Must(t, dir, "cert", "revoke", badID, "--reason", "keyCompromise")
	if out := ocspCheck(bad); !strings.Contains(out, bad+": revoked") || !strings.Contains(out, "Reason: keyCompromise") {
		t.Errorf("after revocation:\n%s", out)
	}
	if out := ocspCheck(good); !strings.Contains(out, good+": good") {
		t.Errorf("other certificate:\n%s", out)
	}
	if _, errOut, err := binary.Run(t, dir, "cert", "revoke", badID); err == nil || !strings.Contains(errOut, "revoked") {
		t.Errorf("second revoke: %v %q", err, errOut)
	}

	code, _, crlDER := srv.Do(t, "GET", "/api/crl", "", "")
	if code != 200 {
		t.Fatalf("crl: %d", code)
	}
	crlFile := filepath.Join(dir, "crl.der")
	os.WriteFile(crlFile, []byte(crlDER), 0o600)
	crlPEM := filepath.Join(dir, "crl.pem")
	if out, err := openssl("crl", "-inform", "DER", "-in", crlFile, "-out", crlPEM); err != nil {
		t.Fatalf("openssl crl: %v\n%s", err, out)
	}
	// The root's CRL (of intermediates) too, for a check of the whole chain.
	rootBlock, _ := pem.Decode([]byte(rootPEM))
	code, _, rootCRLDER := srv.Do(t, "GET", "/api/crl/"+ca.Fingerprint(rootBlock.Bytes), "", "")
	if code != 200 {
		t.Fatalf("root crl: %d", code)
	}
	rootCRLFile := filepath.Join(dir, "root-crl.der")
	os.WriteFile(rootCRLFile, []byte(rootCRLDER), 0o600)
	if out, err := openssl("crl", "-inform", "DER", "-in", rootCRLFile, "-out", crlPEM+".root"); err != nil {
		t.Fatalf("openssl crl: %v\n%s", err, out)
	}
	both, _ := os.ReadFile(crlPEM)
	rootCRLPEM, _ := os.ReadFile(crlPEM + ".root")
	os.WriteFile(crlPEM, append(both, rootCRLPEM...), 0o600)
	if out, err := openssl("verify", "-crl_check_all", "-CAfile", root, "-untrusted", inter, "-CRLfile", crlPEM, good); err != nil || !strings.Contains(out, ": OK") {
		t.Errorf("good certificate with CRL check: %v\n%s", err, out)
	}
	if out, err := openssl("verify", "-crl_check_all", "-CAfile", root, "-untrusted", inter, "-CRLfile", crlPEM, bad); err == nil || !strings.Contains(out, "certificate revoked") {
		t.Errorf("revoked certificate passed the CRL check: %v\n%s", err, out)
	}
	srv.Stop(t)
}

func TestBinary_Inventory(t *testing.T) {
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	alice := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	var ids []string
	for _, body := range []string{`{"domains":["short.home.lan"],"days":3}`, `{"domains":["long.home.lan"],"days":90}`} {
		code, _, id := srv.Do(t, "POST", "/api/certificate/request", alice, body)
		if code != 200 {
			t.Fatalf("request: %d %s", code, id)
		}
		ids = append(ids, strings.TrimSpace(id))
	}
	binary.Must(t, dir, "cert", "revoke", ids[1], "--reason", "superseded")

	list := binary.Must(t, dir, "cert", "list")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], ids[1]) || !strings.Contains(lines[1], "revoked") || !strings.Contains(lines[2], "short.home.lan") {
		t.Errorf("cert list (newest first):\n%s", list)
	}
	if out := binary.Must(t, dir, "cert", "list", "--expiring", "7d"); !strings.Contains(out, ids[0]) || strings.Contains(out, ids[1]) {
		t.Errorf("cert list --expiring 7d:\n%s", out)
	}
	if out := binary.Must(t, dir, "cert", "list", "--revoked", "--user", "alice"); !strings.Contains(out, ids[1]) || strings.Contains(out, ids[0]) {
		t.Errorf("cert list --revoked:\n%s", out)
	}
	if out := binary.Must(t, dir, "cert", "list", "--user", "nobody"); strings.Count(out, "\n") != 1 {
		t.Errorf("cert list for a user without certificates:\n%s", out)
	}
	var page struct {
		Certificates []struct{ ID, Status, Owner string }
	}
	if err := json.Unmarshal([]byte(binary.Must(t, dir, "cert", "list", "--json")), &page); err != nil || len(page.Certificates) != 2 || page.Certificates[0].Status != "revoked" {
		t.Errorf("cert list --json: %+v %v", page, err)
	}
	if out := binary.Must(t, dir, "cert", "list", "--name", ".home.lan"); strings.Count(out, "\n") != 3 {
		t.Errorf("cert list --name .home.lan:\n%s", out)
	}
	if out := binary.Must(t, dir, "cert", "list", "--name", "long.home.lan"); strings.Count(out, "\n") != 2 || !strings.Contains(out, ids[1]) {
		t.Errorf("cert list --name long.home.lan:\n%s", out)
	}
	// --limit stops at a certificate and says where to go on from; the
	// cursor lists the rest.
	var head struct {
		Certificates []struct{ ID string }
		NextCursor   string `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(binary.Must(t, dir, "cert", "list", "--json", "--limit", "1")), &head); err != nil || len(head.Certificates) != 1 || head.Certificates[0].ID != ids[1] || head.NextCursor == "" {
		t.Fatalf("cert list --json --limit 1: %+v %v", head, err)
	}
	if out := binary.Must(t, dir, "cert", "list", "--cursor", head.NextCursor); strings.Count(out, "\n") != 2 || !strings.Contains(out, ids[0]) {
		t.Errorf("cert list --cursor:\n%s", out)
	}
	show := binary.Must(t, dir, "cert", "show", ids[0])
	for _, want := range []string{"Owner:", "alice", "Status:", "valid", "short.home.lan", "BEGIN CERTIFICATE"} {
		if !strings.Contains(show, want) {
			t.Errorf("cert show lacks %q:\n%s", want, show)
		}
	}
	if _, errOut, err := binary.Run(t, dir, "cert", "show", "123"); err == nil || !strings.Contains(errOut, "not found") {
		t.Errorf("cert show unknown: %v %q", err, errOut)
	}

	first := binary.Must(t, dir, "root", "export")
	binary.Must(t, dir, "rotate-root")
	all := binary.Must(t, dir, "root", "export", "--all")
	if strings.Count(all, "BEGIN CERTIFICATE") != 2 || !strings.HasPrefix(all, first) {
		t.Errorf("root export --all: want the old root first, then the new:\n%s", all)
	}
	if active := binary.Must(t, dir, "root", "export"); active == first || strings.Count(active, "BEGIN") != 1 {
		t.Error("root export did not switch to the new root")
	}

	status := binary.Must(t, dir, "status")
	for _, want := range []string{"ACTIVE", "retired", "users: 2", "certificates: 2 issued, 1 expiring within 7 days, 1 within 30 days", "database:"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	srv.Stop(t)
	// The same commands work on the file with no server.
	if out := binary.Must(t, dir, "status"); !strings.Contains(out, "users: 2") {
		t.Errorf("offline status:\n%s", out)
	}
}

// TestBinary_Metrics scrapes a running server after real requests and
// parses the exposition as Prometheus would.
func TestBinary_Metrics(t *testing.T) {
	dir := t.TempDir()
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	conf := filepath.Join(dir, "certmaker.toml")
	os.WriteFile(conf, []byte("[metrics]\nlisten = \""+metricsAddr+"\"\n[ca]\nexpiry_warning_days = 4000\n"), 0o600)
	srv := binary.Start(t, dir)
	if !strings.Contains(srv.Stderr.String(), "expires soon") {
		t.Errorf("no root expiry warning at start with expiry_warning_days > the root's life:\n%s", srv.Stderr)
	}
	alice := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	var ids []string
	for _, body := range []string{`{"domains":["m1.home.lan"]}`, `{"domains":["m2.home.lan"],"days":60,"key_type":"ed25519"}`} {
		code, _, id := srv.Do(t, "POST", "/api/certificate/request", alice, body)
		if code != 200 {
			t.Fatalf("request: %d", code)
		}
		ids = append(ids, strings.TrimSpace(id))
	}
	srv.Do(t, "POST", "/api/certificate/"+ids[0]+"/revoke", alice, "")
	binary.Must(t, dir, "cert", "revoke", ids[1])
	srv.Do(t, "GET", "/api/root-certificate/obtain", "wrong-token", "")
	_, _, leafPEM := srv.Do(t, "GET", "/api/certificate/"+ids[0]+"/obtain", alice, "")
	srv.Do(t, "GET", "/api/root-certificate/obtain", alice, "")
	_, _, interPEM := srv.Do(t, "GET", "/intermediate.pem", "", "")
	ocspReq := ocspRequest(t, leafPEM, interPEM)
	for range 3 {
		if code, _, _ := srv.Do(t, "GET", "/api/ocsp/"+ocspReq, "", ""); code != 200 {
			t.Fatalf("ocsp: %d", code)
		}
	}

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics do not parse: %v", err)
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		f := families[name]
		if f == nil {
			t.Fatalf("metric %s missing", name)
		}
	next:
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
		t.Fatalf("metric %s%v missing", name, labels)
		return 0
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"certmaker_certificates_issued_total", map[string]string{"key_type": "ecdsa-p256"}, 1},
		{"certmaker_certificates_issued_total", map[string]string{"key_type": "ed25519"}, 1},
		{"certmaker_issuance_duration_seconds", map[string]string{"key_type": "ed25519"}, 1},
		{"certmaker_certificates_revoked_total", map[string]string{"key_type": "ecdsa-p256"}, 1},
		{"certmaker_certificates_revoked_total", map[string]string{"key_type": "ed25519"}, 1},
		{"certmaker_http_requests_total", map[string]string{"route": "/api/certificate/request", "method": "POST", "status": "200"}, 2},
		{"certmaker_http_requests_total", map[string]string{"route": "/api/root-certificate/obtain", "status": "404"}, 1},
		{"certmaker_ocsp_responses_total", map[string]string{"status": "revoked"}, 3},
		{"certmaker_ocsp_cache_hits_total", nil, 2},
		{"certmaker_certificates_expiring_7d", nil, 0},
		{"certmaker_certificates_expiring_30d", nil, 0},
	}
	for _, c := range checks {
		if got := value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if days := value("certmaker_root_expiry_days", nil); days < 3640 || days > 3651 {
		t.Errorf("root expiry days %v", days)
	}
	srv.Stop(t)
}

// ocspRequest builds a base64 OCSP request for the leaf, for GET.
func ocspRequest(t *testing.T, leafPEM, issuerPEM string) string {
	t.Helper()
	parse := func(s string) *x509.Certificate {
		b, _ := pem.Decode([]byte(s))
		if b == nil {
			t.Fatalf("not PEM: %q", s)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	req, err := ocsp.CreateRequest(parse(leafPEM), parse(issuerPEM), nil)
	if err != nil {
		t.Fatal(err)
	}
	return url.PathEscape(base64.StdEncoding.EncodeToString(req))
}

// TestBinary_ServeBusyPort: a first start on a busy port fails before it
// makes a database, a root or an admin token.
func TestBinary_ServeBusyPort(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, errOut, err := binary.Run(t, dir, "serve", "--listen", busy.Addr().String())
	if err == nil || !strings.Contains(errOut, "address already in use") {
		t.Fatalf("serve on a busy port: err %v, stderr %q", err, errOut)
	}
	if binarytest.TokenLine.MatchString(strings.TrimRight(errOut, "\n")) || strings.Contains(errOut, "token") {
		t.Errorf("serve on a busy port printed a token: %q", errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("serve on a busy port left files: %v", entries)
	}
}

type acked = binarytest.Acked

var checkAcked = binarytest.CheckAcked

type loggedServer = binarytest.LoggedServer
