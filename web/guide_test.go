package web_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"certmaker/config"
)

// postMultipart sends a multipart form as a browser does for a file input.
func (b *browser) postMultipart(path string, fields map[string]string, fileField, fileName string, file []byte) answer {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile(fileField, fileName)
	fw.Write(file)
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func newCSR(t *testing.T, names ...string) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: names[0]}, DNSNames: names}, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// TestRequest_CSR: a CSR pasted or uploaded is issued for its own key and
// names, as the API's request-with-csr does; mistakes come back in words.
func TestRequest_CSR(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	b.get("/certificates/new")
	issued := func(a answer, key *ecdsa.PrivateKey, name string) {
		t.Helper()
		loc := a.header.Get("Location")
		m := regexp.MustCompile(`^/certificates/(\d+)$`).FindStringSubmatch(loc)
		if a.status != http.StatusSeeOther || m == nil {
			t.Fatalf("CSR request: %d %s\n%s", a.status, loc, a.body)
		}
		serial, _ := new(big.Int).SetString(m[1], 10)
		c, err := e.db.Certificate(serial)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(c.DER)
		if err != nil {
			t.Fatal(err)
		}
		if !key.PublicKey.Equal(leaf.PublicKey) || leaf.DNSNames[0] != name || c.Owner != "alice" || len(c.KeyPKCS8) != 0 {
			t.Errorf("certificate for %v owned by %s: not the CSR's key and names", leaf.DNSNames, c.Owner)
		}
		if got := leaf.NotAfter.Sub(leaf.NotBefore).Round(time.Hour); got != 30*24*time.Hour {
			t.Errorf("valid for %v, want the 30 days asked", got)
		}
	}
	key, csr := newCSR(t, "upload.home.lan")
	issued(b.postMultipart("/certificates/new", map[string]string{"csrf": b.csrf, "mode": "csr", "days": "30"}, "csr_file", "req.csr", csr), key, "upload.home.lan")
	key, csr = newCSR(t, "pasted.home.lan")
	issued(b.postMultipart("/certificates/new", map[string]string{"csrf": b.csrf, "mode": "csr", "days": "30", "csr": string(csr)}, "csr_file", "", nil), key, "pasted.home.lan")

	for _, tc := range []struct {
		name, pasted string
		file         []byte
		want         string
	}{
		{"Neither", "", nil, "Paste a CSR or choose its file."},
		{"Both", string(csr), csr, "not both"},
		{"NotPEM", "hello", nil, "Body is not a PEM CSR."},
		{"Trailing", string(csr) + "junk", nil, "bytes after the PEM block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := b.postMultipart("/certificates/new", map[string]string{"csrf": b.csrf, "mode": "csr", "csr": tc.pasted}, "csr_file", "x.csr", tc.file)
			if a.status != http.StatusBadRequest || !strings.Contains(a.body, tc.want) || strings.Contains(a.body, "invalid request") {
				t.Fatalf("%d, want 400 saying %q\n%s", a.status, tc.want, a.body)
			}
			if !strings.Contains(a.body, "<title>Error: ") || !regexp.MustCompile(`id="csr"[^>]*autofocus`).MatchString(a.body) {
				t.Error("the error is not in the title, or the CSR field does not get the focus")
			}
		})
	}
	// An upload past the form bound is refused whole, before any parsing.
	big := b.postMultipart("/certificates/new", map[string]string{"csrf": b.csrf, "mode": "csr"}, "csr_file", "big.csr", bytes.Repeat([]byte("A"), 80<<10))
	if big.status != http.StatusRequestEntityTooLarge {
		t.Errorf("an 80 KiB upload: %d, want 413", big.status)
	}
	e.noTokens()
}

// TestRequest_EveryBadNameShown: the form names each bad name, says so in
// the title and puts the focus on the field.
func TestRequest_EveryBadNameShown(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	a := b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"ok.home.lan\nname!\nbad name\n-x.lan"}})
	if a.status != http.StatusBadRequest {
		t.Fatalf("three bad names: %d", a.status)
	}
	for _, want := range []string{"These 3 names cannot be used", "<code>name!</code>", "<code>bad name</code>", "<code>-x.<wbr>lan</code>", "<title>Error: Request a certificate"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the answer lacks %q", want)
		}
	}
	if !regexp.MustCompile(`id="names"[^>]*aria-invalid="true" autofocus`).MatchString(a.body) {
		t.Error("the names field is not marked invalid with the focus")
	}
}

// TestChallenge_ResultsAndPending: every name gets its result, in the
// request's order; a pending request is listed and can be opened again.
func TestChallenge_ResultsAndPending(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	var token string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, token) })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	e := newEnvWith(t, func(c *config.Config) {
		c.Challenge.Required = true
		c.Challenge.AllowedPorts = []int{80, port}
		c.Challenge.Hosts = map[string][]string{"up.test": {"127.0.0.2"}, "down.test": {"127.0.0.3"}}
	})
	b := e.browser()
	b.signIn("alice")
	a := b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"down.test, up.test, localhost"}})
	loc := a.header.Get("Location")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/challenges/") {
		t.Fatalf("request: %d %s", a.status, loc)
	}
	page := b.get(loc)
	token = regexp.MustCompile(`id="token">([^<]+)<`).FindStringSubmatch(page.body)[1]

	list := b.get("/certificates")
	if !strings.Contains(list.body, `href="`+loc+`"`) || !strings.Contains(list.body, "Waiting for proof") || strings.Contains(list.body, "First steps") {
		t.Fatalf("the list does not offer the pending request again\n%s", list.body)
	}

	// A port the checker may not fetch from is refused in the checker's
	// words, before any fetch.
	for _, p := range []string{"70000", "8081"} {
		a = b.post(loc+"/check", url.Values{"csrf": {b.csrf}, "port": {p}})
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, "Invalid port "+p) || strings.Contains(a.body, "<tr class=") {
			t.Errorf("port %s: %d\n%s", p, a.status, a.body)
		}
	}

	// Nothing listens on 127.0.0.3: down.test is refused, up.test answers.
	a = b.post(loc+"/check", url.Values{"csrf": {b.csrf}, "port": {fmt.Sprint(port)}})
	rows := regexp.MustCompile(`(?s)<tr class="(ok|failed|exempt)">\s*<td data-label="Name" class="name-cell">([^<]+(?:<wbr>[^<]+)*)</td>`).FindAllStringSubmatch(a.body, -1)
	var got []string
	for _, r := range rows {
		got = append(got, strings.ReplaceAll(r[2], "<wbr>", "")+" "+r[1])
	}
	if a.status != http.StatusUnprocessableEntity || fmt.Sprint(got) != "[down.test failed up.test ok localhost exempt]" {
		t.Fatalf("check: %d, rows %v\n%s", a.status, got, a.body)
	}
	if !strings.Contains(a.body, "connection refused") || !strings.Contains(a.body, "Nothing listens on port") ||
		!strings.Contains(a.body, "The check failed for 1 name of 3") || !strings.Contains(a.body, "<title>Error: ") {
		t.Errorf("the failure is not explained\n%s", a.body)
	}
}

func TestUsers_DisableConfirmed(t *testing.T) {
	e := newEnv(t)
	adm := e.browser()
	adm.signIn("root")
	users := adm.get("/admin/users")
	if strings.Contains(users.body, `action="/admin/users/alice/disable"`) || !strings.Contains(users.body, `href="/admin/users/alice/disable"`) {
		t.Fatal("the users page disables in one click")
	}
	if !strings.Contains(users.body, `aria-label="0 certificates of alice"`) {
		t.Error("certificate count label")
	}
	a := adm.get("/admin/users/alice/disable")
	if a.status != 200 || !strings.Contains(a.body, "Disable alice?") || !strings.Contains(a.body, `action="/admin/users/alice/disable"`) {
		t.Fatalf("confirmation: %d\n%s", a.status, a.body)
	}
	if u, _ := e.db.User("alice"); u.Disabled {
		t.Fatal("showing the confirmation disabled alice")
	}
	if a := adm.get("/admin/users/nobody/disable"); a.status != http.StatusNotFound {
		t.Errorf("an unknown user: %d", a.status)
	}
	adm.post("/admin/users/alice/disable", url.Values{"csrf": {adm.csrf}})
	if u, _ := e.db.User("alice"); !u.Disabled {
		t.Fatal("alice is not disabled after confirming")
	}
	// The core refuses an admin who disables themself (the operator may).
	if a := adm.post("/admin/users/root/disable", url.Values{"csrf": {adm.csrf}}); a.status != http.StatusSeeOther {
		t.Errorf("disabling oneself: %d", a.status)
	}
	if u, _ := e.db.User("root"); u.Disabled {
		t.Fatal("an admin disabled themself")
	}
	if users := adm.get("/admin/users"); !strings.Contains(users.body, "You cannot disable yourself") {
		t.Errorf("disabling oneself is not explained\n%s", users.body)
	}
}

// TestList_FirstRun: an empty list shows first steps, not filters.
func TestList_FirstRun(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	a := b.get("/certificates")
	for _, want := range []string{"First steps", `href="/trust"`, "/api/certificate/request", "/acme/directory"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("first run lacks %q", want)
		}
	}
	if strings.Contains(a.body, `class="filters"`) {
		t.Error("first run shows filters over nothing")
	}
	if a := b.get("/certificates?q=x"); strings.Contains(a.body, "First steps") {
		t.Error("a search with no match shows the first steps")
	}
}
