package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"certmaker/storage/seal"
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

// sealedID is a record a sealed value may belong to.
type sealedID struct{ kind, identity string }

var (
	base64Run = regexp.MustCompile(`[A-Za-z0-9+/]{40,}={0,2}`)
	hexRun    = regexp.MustCompile(`[0-9a-f]{64}`)
)

// openWith lists the sealed values in raw that key opens as one of ids
// (or as a CA key of any fingerprint in raw), for plaintexts of one of the
// lengths: at every offset of raw, and inside every base64 string of it,
// which is how JSON records hold their sealed keys.
func openWith(t *testing.T, raw, key []byte, ids []sealedID, lengths []int) []string {
	t.Helper()
	k, err := seal.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, fp := range hexRun.FindAll(raw, -1) {
		ids = append(ids, sealedID{seal.CAKey, string(fp)})
	}
	regions := [][]byte{raw}
	for _, s := range base64Run.FindAll(raw, -1) {
		if b, err := base64.StdEncoding.DecodeString(string(s)); err == nil {
			regions = append(regions, b)
		}
	}
	found := map[string]bool{}
	for _, r := range regions {
		for i := range r {
			if r[i] != 1 {
				continue
			}
			for _, n := range lengths {
				end := i + n + seal.Overhead
				if end > len(r) {
					continue
				}
				for _, id := range ids {
					if _, err := k.Open(id.kind, id.identity, r[i:end]); err == nil {
						found[id.kind+" "+id.identity] = true
					}
				}
			}
		}
	}
	var out []string
	for f := range found {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// TestBinary_RetiredKeyOpensNothing is the review's reproduction: keep a
// copy of the key file, rekey a serving server through its socket, take a
// backup, and try the old key on every sealed value in the backup and in
// the live file. Then the same for the key that `root offline` retires.
// Before, the freed pages kept every secret sealed under the old key until
// the next start, and backups copied them.
func TestBinary_RetiredKeyOpensNothing(t *testing.T) {
	dir := t.TempDir()
	db, keyFile := filepath.Join(dir, "certmaker.db"), filepath.Join(dir, "certmaker.db.key")
	srv := binary.Start(t, dir)
	alice := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	eab := binary.Must(t, dir, "user", "acme-eab", "alice")
	kid := regexp.MustCompile(`EAB_KID=(\S+)`).FindStringSubmatch(eab)
	if kid == nil {
		t.Fatalf("acme-eab printed %q", eab)
	}
	ids := []sealedID{{seal.EABKey, kid[1]}, {seal.NonceKey, ""}}
	lengths := []int{32, 138}
	for i := range 3 {
		code, hdr, body := srv.Do(t, "POST", "/api/certificate/request", alice, fmt.Sprintf(`{"domains":["retired%d.home.lan"]}`, i))
		if code != 200 {
			t.Fatalf("request: %d %s", code, body)
		}
		_, _, certPEM := srv.Do(t, "GET", "/api/certificate/"+strings.TrimSpace(body)+"/obtain", alice, "")
		cert := pemCert(t, certPEM)
		ids = append(ids, sealedID{seal.CertificateKey, seal.CertificateIdentity(cert.SerialNumber)})
		_, _, keyPEM := srv.Do(t, "GET", strings.TrimPrefix(hdr.Get("X-Privatekey-Location"), srv.URL), alice, "")
		if block, _ := pem.Decode([]byte(keyPEM)); block != nil {
			lengths = append(lengths, len(block.Bytes))
		}
	}
	scan := func(path string, key []byte) []string {
		t.Helper()
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return openWith(t, raw, key, ids, lengths)
	}
	first, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	firstKey, err := seal.ReadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	// The scan finds what it looks for: every kind, with the key in use.
	live := scan(db, firstKey)
	for _, want := range []string{seal.CAKey, seal.CertificateKey, seal.EABKey, seal.NonceKey} {
		if !slices.ContainsFunc(live, func(s string) bool { return strings.HasPrefix(s, want+" ") }) {
			t.Fatalf("the scan with the key in use finds no %s in the live file (it found %v): it proves nothing", want, live)
		}
	}

	binary.Must(t, dir, "rekey")
	if now, _ := os.ReadFile(keyFile); bytes.Equal(now, first) {
		t.Fatal("rekey left the key file as it was")
	}
	bk := filepath.Join(dir, "after-rekey.db")
	binary.Must(t, dir, "backup", bk)
	for _, path := range []string{bk, db} {
		if got := scan(path, firstKey); len(got) > 0 {
			t.Errorf("after rekey, the key file from before opens %d sealed values in %s: %v", len(got), filepath.Base(path), got)
		}
	}
	secondKey, err := seal.ReadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := scan(bk, secondKey); len(got) < 5 {
		t.Errorf("the backup's sealed values open with the new key: %v; want every secret", got)
	}

	// root offline drops the root's key and retires the key file too.
	pass := filepath.Join(dir, "pass")
	os.WriteFile(pass, []byte("a long enough passphrase\n"), 0o600)
	binary.Must(t, dir, "root", "offline", "--out", filepath.Join(dir, "root-key.pem"), "--passphrase-file", pass)
	bk2 := filepath.Join(dir, "after-offline.db")
	binary.Must(t, dir, "backup", bk2)
	for _, path := range []string{bk2, db} {
		if got := scan(path, secondKey); len(got) > 0 {
			t.Errorf("after root offline, the key file from before opens %d sealed values in %s: %v", len(got), filepath.Base(path), got)
		}
	}
	// The server still serves what it sealed.
	if code, _, _ := srv.Do(t, "POST", "/api/certificate/request", alice, `{"domains":["after.home.lan"]}`); code != 200 {
		t.Errorf("request after root offline: %d", code)
	}
	srv.Stop(t)
	if out := binary.Must(t, dir, "--db", bk2, "--key-file", keyFile, "check"); !strings.Contains(out, ": ok") {
		t.Errorf("check of the backup: %s", out)
	}
}
