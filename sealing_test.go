package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBinary_SecretsSealedAtRest: no private key, token or EAB key is in
// the database file in clear, also after `certmaker rekey` on a running
// server (which keeps serving the keys it holds); and a copy of the file
// without its key file opens nowhere, with one clear line.
func TestBinary_SecretsSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	alice := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	eab := binary.Must(t, dir, "user", "acme-eab", "alice")
	m := regexp.MustCompile(`EAB_HMAC_KEY=(\S+)`).FindStringSubmatch(eab)
	if m == nil {
		t.Fatalf("acme-eab printed %q", eab)
	}
	hmacKey, err := base64.RawURLEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	code, hdr, body := srv.Do(t, "POST", "/api/certificate/request", alice, `{"domains":["sealed.home.lan"]}`)
	if code != 200 {
		t.Fatalf("request: %d %s", code, body)
	}
	keyPath := strings.TrimPrefix(hdr.Get("X-Privatekey-Location"), srv.URL)
	_, _, keyPEM := srv.Do(t, "GET", keyPath, alice, "")
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		t.Fatalf("no key: %q", keyPEM)
	}
	// The private scalar: the rest of the PKCS#8 (the public point) is in
	// the certificate anyway.
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	scalar, err := parsed.(*ecdsa.PrivateKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "certmaker.db.key")
	before, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("no key file beside the database: %v", err)
	}
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}

	binary.Must(t, dir, "rekey")
	after, _ := os.ReadFile(keyFile)
	if bytes.Equal(before, after) {
		t.Fatal("rekey left the key file as it was")
	}
	if _, _, again := srv.Do(t, "GET", keyPath, alice, ""); again != keyPEM {
		t.Error("after rekey the server no longer gives the same private key")
	}
	srv.Stop(t)

	raw, err := os.ReadFile(filepath.Join(dir, "certmaker.db"))
	if err != nil {
		t.Fatal(err)
	}
	for what, secret := range map[string][]byte{
		"the leaf's private key": scalar,
		"the EAB HMAC key":       hmacKey,
		"alice's token":          []byte(alice),
		"the admin token":        []byte(srv.Token),
	} {
		if bytes.Contains(raw, secret) {
			t.Errorf("%s is in the database file in clear", what)
		}
	}

	// The file alone, as a thief or a backup has it.
	stolen := t.TempDir()
	copyFile(t, filepath.Join(dir, "certmaker.db"), filepath.Join(stolen, "certmaker.db"))
	_, errOut, err := binary.Run(t, stolen, "status")
	if err == nil || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "key file is missing") {
		t.Errorf("status on a copy without its key file: %v\n%q; want one line saying the key file is missing", err, errOut)
	}
	// The old key file, from before the rekey, opens nothing either.
	os.WriteFile(filepath.Join(stolen, "certmaker.db.key"), before, 0o600)
	if _, errOut, err := binary.Run(t, stolen, "status"); err == nil || !strings.Contains(errOut, "does not open") {
		t.Errorf("status with the key file from before the rekey: %v %q", err, errOut)
	}
	// With the current one, it does.
	os.WriteFile(filepath.Join(stolen, "certmaker.db.key"), after, 0o600)
	if out := binary.Must(t, stolen, "status"); !strings.Contains(out, "users: 2") {
		t.Errorf("status with the key file:\n%s", out)
	}
}
