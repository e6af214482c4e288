package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/ocsp"

	"certmaker/store"
)

// TestBinary_SecretsStayOutOfLogs exercises every route that handles a
// token, a key or a body (successes and failures, in both log formats) and
// then searches the server's whole stderr for them.
//
// The JSON run logs at debug level, so the lines quiet at info (successful
// OCSP, CRL and health answers) are searched too, and both runs check that
// log_level decides whether those lines appear.
func TestBinary_SecretsStayOutOfLogs(t *testing.T) {
	for _, tc := range []struct{ format, level string }{{"text", "info"}, {"json", "debug"}} {
		t.Run(tc.format, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "certmaker.toml")
			body := "[server]\nlog_format = \"" + tc.format + "\"\nlog_level = \"" + tc.level + "\"\n"
			if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			srv := binary.StartLogged(t, dir, "--config", cfg)
			secrets := exerciseSecrets(t, dir, srv.URL, cfg)
			log := srv.Stop(t)

			if !strings.Contains(log, "request") {
				t.Fatalf("no request was logged; the search below would prove nothing:\n%s", log)
			}
			// StartLogged polled /healthz until it answered 200.
			healthLogged := strings.Contains(log, "/healthz")
			if want := tc.level == "debug"; healthLogged != want {
				t.Errorf("log_level %s: a successful /healthz logged = %v, want %v", tc.level, healthLogged, want)
			}
			admin := regexp.MustCompile(`(?m)^\s{4}(\S{43})$`).FindStringSubmatch(log)
			if admin == nil {
				t.Fatalf("first start printed no admin token:\n%s", log)
			}
			// The bootstrap token is shown once, by design, and never again.
			if n := strings.Count(log, admin[1]); n != 1 {
				t.Errorf("the admin token appears %d times on stderr, want exactly once", n)
			}
			for what, secret := range secrets {
				if strings.Contains(log, secret) {
					t.Errorf("%s reached the log", what)
				}
			}
			for _, marker := range []string{"PRIVATE KEY", "CERTIFICATE REQUEST", "BEGIN"} {
				if strings.Contains(log, marker) {
					t.Errorf("%q reached the log", marker)
				}
			}
		})
	}
}

// exerciseSecrets runs the routes that see secrets and returns them by name.
func exerciseSecrets(t *testing.T, dir, url, cfg string) map[string]string {
	t.Helper()
	alice := strings.TrimSpace(binary.Must(t, dir, "--config", cfg, "user", "add", "alice"))
	bob := strings.TrimSpace(binary.Must(t, dir, "--config", cfg, "user", "add", "bob"))
	wrong := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, 32))
	const bodyMarker = "body-marker-6f1c2d"
	secrets := map[string]string{"alice's token": alice, "bob's token": bob, "a wrong token": wrong, "a request body": bodyMarker}

	call := func(method, path, token, body string, wantCode int, hdr ...string) (http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(method, url+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("X-Auth-Token", token)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Add(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		if resp.StatusCode != wantCode {
			t.Fatalf("%s %s: %d %q, want %d", method, path, resp.StatusCode, b.String(), wantCode)
		}
		return resp.Header, b.String()
	}

	// Issue with a server-made key and fetch the key.
	_, idBody := call("POST", "/api/certificate/request", alice, `{"domains":["secret.home.lan"],"note":"`+bodyMarker+`"}`, 200)
	id := strings.TrimSpace(idBody)
	_, keyPEM := call("GET", "/api/privatekey/"+id+"/obtain", alice, "", 200)
	if !strings.Contains(keyPEM, "PRIVATE KEY") {
		t.Fatalf("key route gave %q", keyPEM)
	}
	secrets["the private key"] = strings.Split(keyPEM, "\n")[1]
	_, certPEM := call("GET", "/api/certificate/"+id+"/obtain", alice, "", 200)

	// Issue from a CSR.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"csr.home.lan"}}, key)
	csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	secrets["the CSR"] = strings.Split(csrPEM, "\n")[1]
	call("POST", "/api/certificate/request-with-csr", alice, csrPEM, 200)

	// Failures: wrong token, another user's key, two tokens, a bad body
	// that names the marker, a body too large.
	call("GET", "/api/root-certificate/obtain", wrong, "", 404)
	call("GET", "/api/privatekey/"+id+"/obtain", bob, "", 404)
	call("GET", "/api/root-certificate/obtain", "", "", 400, "X-Auth-Token", alice, "X-Auth-Token", wrong)
	call("POST", "/api/certificate/request", alice, `{"domains":["`+bodyMarker+`_x"]}`, 400)
	call("POST", "/api/certificate/request", alice, `{"domains":"`+bodyMarker+`"}`, 400)
	call("POST", "/api/certificate/request", alice, strings.Repeat(bodyMarker, 8000), 413)
	call("POST", "/api/certificate/request-with-csr", alice, csrPEM+bodyMarker, 400)

	// Revoke, with a body, then ask OCSP and the CRL.
	call("POST", "/api/certificate/"+id+"/revoke", alice, `{"reason":"keyCompromise","note":"`+bodyMarker+`"}`, 200)
	call("POST", "/api/certificate/"+id+"/revoke", alice, `{"reason":"`+bodyMarker+`"}`, 400)
	call("GET", "/api/root-certificate/obtain", alice, "", 200)
	_, interPEM := call("GET", "/intermediate.pem", "", "", 200)
	leaf, issuer := pemCert(t, certPEM), pemCert(t, interPEM)
	ocspReq, err := ocsp.CreateRequest(leaf, issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	call("POST", "/api/ocsp", "", string(ocspReq), 200)
	call("GET", "/api/ocsp/"+base64.StdEncoding.EncodeToString(ocspReq), "", "", 200)
	call("GET", "/api/crl", "", "", 200)

	// Admin commands over the socket: a new token for alice.
	newAlice := strings.TrimSpace(binary.Must(t, dir, "--config", cfg, "user", "token", "alice"))
	secrets["alice's new token"] = newAlice
	call("GET", "/api/root-certificate/obtain", newAlice, "", 200)

	// Modes: the socket is the operator boundary, the file holds the keys.
	for _, p := range []string{"certmaker.db", "certmaker.db.sock"} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	return secrets
}

func pemCert(t *testing.T, s string) *x509.Certificate {
	t.Helper()
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

// TestBinary_TokensNotInDatabase scans the raw bytes of the database file
// and of a backup for the tokens that user add and user token printed, as
// printed and as the 32 bytes they encode: neither may be there, only
// their SHA-256. The scan must find what is meant to be there (the user
// names and the token hashes), or its silence would prove nothing.
func TestBinary_TokensNotInDatabase(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "certmaker.db")
	const offline, online = "tokenscan-offline-7c1e", "tokenscan-online-5d2a"
	// Tokens made by serve's first start, over the socket and offline.
	srv := binary.Start(t, dir)
	tokens := map[string]string{"admin": srv.Token}
	tokens[online] = strings.TrimSpace(binary.Must(t, dir, "user", "add", online))
	srv.Stop(t)
	tokens[offline] = strings.TrimSpace(binary.Must(t, dir, "user", "add", offline))
	srv = binary.Start(t, dir)
	tokens[offline+" (reset)"] = strings.TrimSpace(binary.Must(t, dir, "user", "token", offline))
	backup := filepath.Join(dir, "backup.db")
	binary.Must(t, dir, "backup", backup)
	srv.Stop(t)

	for _, file := range []string{db, backup} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{offline, online} {
			if !bytes.Contains(raw, []byte(name)) {
				t.Fatalf("%s: user name %q not found: the scan sees nothing", filepath.Base(file), name)
			}
		}
		for who, tok := range tokens {
			if len(tok) != 43 {
				t.Fatalf("%s's token %q is not what the CLI prints", who, tok)
			}
			decoded, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte(tok)) || bytes.Contains(raw, decoded) {
				t.Errorf("%s holds %s's token in clear", filepath.Base(file), who)
			}
		}
		// The current tokens' hashes are there: that is how they are kept.
		for _, who := range []string{online, "admin", offline + " (reset)"} {
			if !bytes.Contains(raw, store.HashToken(tokens[who])) {
				t.Errorf("%s: %s's token hash not found: the scan misses records", filepath.Base(file), who)
			}
		}
	}
}
