package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"certmaker/ca"
)

// trustFiles writes the active root and intermediate the server publishes
// (token-free) into dir and returns their paths.
func trustFiles(t *testing.T, srv *server, dir string) (root, inter string) {
	t.Helper()
	root, inter = filepath.Join(dir, "roots.pem"), filepath.Join(dir, "intermediate.pem")
	for path, file := range map[string]string{"/roots.pem": root, "/intermediate.pem": inter} {
		code, _, body := srv.Do(t, "GET", path, "", "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root, inter
}

// issueTo requests a certificate for name and writes its chain to dir.
func issueTo(t *testing.T, srv *server, token, dir, name string) (id, file string) {
	t.Helper()
	code, hdr, body := srv.Do(t, "POST", "/api/certificate/request", token, `{"domains":["`+name+`"]}`)
	if code != 200 {
		t.Fatalf("request: %d %s", code, body)
	}
	_, _, chain := srv.Do(t, "GET", strings.TrimPrefix(hdr.Get("X-Certificate-Location"), srv.URL), token, "")
	file = filepath.Join(dir, name+".pem")
	if err := os.WriteFile(file, []byte(chain), 0o600); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(body), file
}

// TestBinary_IntermediateRotate: `certmaker intermediate rotate` on a
// running server makes a new intermediate under the same root (the
// fingerprint devices checked stays), new certificates chain through it
// with openssl, and the old intermediate still signs OCSP answers for its
// certificates.
func TestBinary_IntermediateRotate(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	alice := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	fp := strings.TrimSpace(binary.Must(t, dir, "root", "fingerprint"))
	if len(fp) != 95 || !strings.Contains(srv.Stderr.String(), fp) {
		t.Fatalf("root fingerprint %q, and serve did not print it:\n%s", fp, srv.Stderr)
	}
	oldRoot, oldInter := trustFiles(t, srv, filepath.Join(t.TempDir()))
	_, oldLeaf := issueTo(t, srv, alice, dir, "old.home.lan")

	newFP := strings.TrimSpace(binary.Must(t, dir, "intermediate", "rotate"))
	if len(newFP) != 64 {
		t.Fatalf("intermediate rotate printed %q, want the new intermediate's fingerprint", newFP)
	}
	if again := strings.TrimSpace(binary.Must(t, dir, "root", "fingerprint")); again != fp {
		t.Errorf("the root changed: %s, was %s", again, fp)
	}
	root, inter := trustFiles(t, srv, t.TempDir())
	b, _ := os.ReadFile(inter)
	if ca.Fingerprint(pemBytes(t, b)) != newFP {
		t.Error("/intermediate.pem is not the new intermediate")
	}
	_, newLeaf := issueTo(t, srv, alice, dir, "new.home.lan")
	// The device keeps its root file; the chain comes with the leaf.
	for _, leaf := range []string{newLeaf, oldLeaf} {
		out, err := exec.Command("openssl", "verify", "-CAfile", oldRoot, "-untrusted", leaf, leaf).CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": OK") {
			t.Errorf("openssl verify %s with the root devices already hold: %v\n%s", filepath.Base(leaf), err, out)
		}
	}
	out, err := exec.Command("openssl", "ocsp", "-issuer", oldInter, "-cert", oldLeaf, "-url", srv.URL+"/api/ocsp", "-CAfile", root).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Response verify OK") || !strings.Contains(string(out), ": good") {
		t.Errorf("openssl ocsp for the old intermediate's leaf: %v\n%s", err, out)
	}
	out, err = exec.Command("openssl", "ocsp", "-issuer", inter, "-cert", newLeaf, "-url", srv.URL+"/api/ocsp", "-CAfile", root).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Response verify OK") || !strings.Contains(string(out), ": good") {
		t.Errorf("openssl ocsp for the new intermediate's leaf: %v\n%s", err, out)
	}
	srv.Stop(t)
	// On the file, with no server, too.
	if third := strings.TrimSpace(binary.Must(t, dir, "intermediate", "rotate")); len(third) != 64 || third == newFP {
		t.Errorf("intermediate rotate on the file printed %q", third)
	}
}

// pemBytes is the DER of the first PEM block of b.
func pemBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	c := pemCert(t, string(b))
	return c.Raw
}

// TestBinary_RootOffline: `certmaker root offline` writes the root key to
// a passphrase-encrypted PKCS#8 file that openssl opens, and drops it from
// the database; the CA keeps issuing, answering OCSP and serving both
// CRLs; rotating the intermediate and re-signing the root's CRL need the
// file and its passphrase, and a wrong passphrase is one clear line.
func TestBinary_RootOffline(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	alice := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	rootFP := strings.TrimSpace(binary.Must(t, dir, "root", "fingerprint", "--hex"))
	pass, wrong := filepath.Join(dir, "pass"), filepath.Join(dir, "wrong")
	os.WriteFile(pass, []byte("a long offline passphrase\n"), 0o600)
	os.WriteFile(wrong, []byte("not the passphrase\n"), 0o600)
	keyFile := filepath.Join(dir, "root-key.pem")

	out := binary.Must(t, dir, "root", "offline", "--out", keyFile, "--passphrase-file", pass)
	if !strings.Contains(out, ca.Colons(rootFP)) {
		t.Errorf("root offline said %q, want the root's fingerprint", out)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("root key file: %v, want mode 0600", err)
	}
	// openssl opens it with the passphrase, and it is the root's key.
	keyPub, err := exec.Command("openssl", "pkey", "-in", keyFile, "-passin", "file:"+pass, "-pubout").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkey cannot open the root key file: %v\n%s", err, keyPub)
	}
	root, inter := trustFiles(t, srv, t.TempDir())
	certPub, err := exec.Command("openssl", "x509", "-in", root, "-noout", "-pubkey").CombinedOutput()
	if err != nil || string(certPub) != string(keyPub) {
		t.Fatalf("the key file is not the root's key: %v\n%s\n%s", err, certPub, keyPub)
	}
	if out, err := exec.Command("openssl", "pkcs8", "-in", keyFile, "-passin", "file:"+pass).CombinedOutput(); err != nil || !strings.Contains(string(out), "BEGIN PRIVATE KEY") {
		t.Errorf("openssl pkcs8 -in FILE -passin: %v\n%s", err, out)
	}
	if st := binary.Must(t, dir, "status"); !strings.Contains(st, "root key OFFLINE") || !strings.Contains(st, "root CRL: valid until") {
		t.Errorf("status does not say the root key is offline, or when its CRL ends:\n%s", st)
	}
	if _, errOut, err := binary.Run(t, dir, "root", "offline", "--out", filepath.Join(dir, "again.pem"), "--passphrase-file", pass); err == nil || !strings.Contains(errOut, "offline") {
		t.Errorf("taking an offline root offline again: %v %q", err, errOut)
	}

	// Everything that does not sign an intermediate goes on.
	_, leaf := issueTo(t, srv, alice, dir, "offline.home.lan")
	out2, err := exec.Command("openssl", "ocsp", "-issuer", inter, "-cert", leaf, "-url", srv.URL+"/api/ocsp", "-CAfile", root).CombinedOutput()
	if err != nil || !strings.Contains(string(out2), "Response verify OK") || !strings.Contains(string(out2), ": good") {
		t.Errorf("openssl ocsp with the root offline: %v\n%s", err, out2)
	}
	crls := filepath.Join(dir, "crls.pem")
	var all []byte
	for _, path := range []string{"/api/crl", "/api/crl/" + rootFP} {
		code, _, der := srv.Do(t, "GET", path, "", "")
		if code != 200 {
			t.Fatalf("GET %s with the root offline: %d %s", path, code, der)
		}
		all = append(all, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte(der)})...)
	}
	os.WriteFile(crls, all, 0o600)
	if out, err := exec.Command("openssl", "verify", "-crl_check_all", "-CRLfile", crls, "-CAfile", root, "-untrusted", inter, leaf).CombinedOutput(); err != nil || !strings.Contains(string(out), ": OK") {
		t.Errorf("openssl verify -crl_check_all with the root offline: %v\n%s", err, out)
	}

	// What needs the root needs its file.
	if _, errOut, err := binary.Run(t, dir, "intermediate", "rotate"); err == nil || !strings.Contains(errOut, "--root-key") {
		t.Errorf("intermediate rotate without the key file: %v %q", err, errOut)
	}
	_, errOut, err := binary.Run(t, dir, "intermediate", "rotate", "--root-key", keyFile, "--passphrase-file", wrong)
	if err == nil || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "passphrase") {
		t.Errorf("a wrong passphrase: %v %q; want one line about the passphrase", err, errOut)
	}
	newFP := strings.TrimSpace(binary.Must(t, dir, "intermediate", "rotate", "--root-key", keyFile, "--passphrase-file", pass))
	_, inter2 := trustFiles(t, srv, t.TempDir())
	if b, _ := os.ReadFile(inter2); len(newFP) != 64 || ca.Fingerprint(pemBytes(t, b)) != newFP {
		t.Fatalf("intermediate rotate with the key file printed %q, and did not make it active", newFP)
	}
	_, leaf2 := issueTo(t, srv, alice, dir, "after.home.lan")
	if out, err := exec.Command("openssl", "verify", "-CAfile", root, "-untrusted", leaf2, leaf2).CombinedOutput(); err != nil {
		t.Errorf("a leaf of the new intermediate: %v\n%s", err, out)
	}
	if st := binary.Must(t, dir, "status"); !strings.Contains(st, "root key OFFLINE") {
		t.Errorf("the root key came back online after being used for a rotation:\n%s", st)
	}
	if out := binary.Must(t, dir, "root", "crl", "--root-key", keyFile, "--passphrase-file", pass); !strings.Contains(out, "valid until") {
		t.Errorf("root crl said %q", out)
	}
	srv.Stop(t)

	// No root key left in the database file, sealed or not: its page was
	// freed, and the key file that sealed it replaced.
	der, err := ca.DecryptKeyPEM(mustRead(t, keyFile), []byte("a long offline passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ca.ParseKey(der)
	if err != nil {
		t.Fatal(err)
	}
	scalar, err := key.(*ecdsa.PrivateKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if raw := mustRead(t, filepath.Join(dir, "certmaker.db")); bytes.Contains(raw, scalar) {
		t.Error("the root key is in the database file in clear")
	}
}

// colons writes hex as openssl and the trust page show fingerprints.
func colons(hex string) string {
	var pairs []string
	for i := 0; i+1 < len(hex); i += 2 {
		pairs = append(pairs, strings.ToUpper(hex[i:i+2]))
	}
	return strings.Join(pairs, ":")
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBinary_IntermediateRevoke: an intermediate whose key leaked is
// revoked with `certmaker intermediate revoke`; the root's CRL lists it at
// once, so that `openssl verify -crl_check_all` refuses what it signed,
// while the new intermediate's certificates verify. The one that signs
// cannot be revoked before a rotation; status and the trust page say
// which is revoked. With the root offline it takes the key file.
func TestBinary_IntermediateRevoke(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	alice := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	rootFP := strings.TrimSpace(binary.Must(t, dir, "root", "fingerprint", "--hex"))
	root, oldInter := trustFiles(t, srv, t.TempDir())
	oldFP := ca.Fingerprint(pemBytes(t, mustRead(t, oldInter)))
	_, oldLeaf := issueTo(t, srv, alice, dir, "old.home.lan")

	// The signing intermediate: rotate first, says one line.
	_, errOut, err := binary.Run(t, dir, "intermediate", "revoke", oldFP, "--reason", "keyCompromise")
	if err == nil || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "rotate it first") {
		t.Errorf("revoking the active intermediate: %v %q, want one line saying to rotate first", err, errOut)
	}
	newFP := strings.TrimSpace(binary.Must(t, dir, "intermediate", "rotate"))
	_, newInter := trustFiles(t, srv, t.TempDir())
	_, newLeaf := issueTo(t, srv, alice, dir, "new.home.lan")
	if got := opensslOCSP(t, srv, root, oldInter, oldLeaf); !strings.Contains(got, ": good") {
		t.Errorf("OCSP for the retired intermediate's leaf before its revocation:\n%s", got)
	}

	out := binary.Must(t, dir, "intermediate", "revoke", colons(oldFP[:16]), "--reason", "keyCompromise")
	if !strings.Contains(out, oldFP) {
		t.Errorf("intermediate revoke said %q, want the fingerprint revoked", out)
	}
	// The responder the revoked intermediate answers for says its leaves
	// are revoked too (cACompromise, at the intermediate's revocation):
	// a client that checks only the leaf's OCSP learns it as well.
	if got := opensslOCSP(t, srv, root, oldInter, oldLeaf); !strings.Contains(got, ": revoked") || !strings.Contains(got, "cACompromise") {
		t.Errorf("OCSP for the revoked intermediate's leaf:\n%s", got)
	}
	if got := opensslOCSP(t, srv, root, newInter, newLeaf); !strings.Contains(got, ": good") {
		t.Errorf("OCSP for the new intermediate's leaf:\n%s", got)
	}
	crls := func(fps ...string) string {
		t.Helper()
		var all []byte
		for _, fp := range fps {
			code, _, der := srv.Do(t, "GET", "/api/crl/"+fp, "", "")
			if code != 200 {
				t.Fatalf("GET /api/crl/%s: %d %s", fp, code, der)
			}
			all = append(all, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte(der)})...)
		}
		f := filepath.Join(t.TempDir(), "crls.pem")
		os.WriteFile(f, all, 0o600)
		return f
	}
	verify := func(inter, leaf, crlFile string) (string, error) {
		out, err := exec.Command("openssl", "verify", "-crl_check_all", "-CRLfile", crlFile, "-CAfile", root, "-untrusted", inter, leaf).CombinedOutput()
		return string(out), err
	}
	if out, err := verify(oldInter, oldLeaf, crls(rootFP, oldFP)); err == nil || !strings.Contains(out, "certificate revoked") {
		t.Errorf("openssl verify -crl_check_all of the revoked intermediate's leaf: %v\n%s", err, out)
	}
	if out, err := verify(newInter, newLeaf, crls(rootFP, newFP)); err != nil || !strings.Contains(out, ": OK") {
		t.Errorf("openssl verify -crl_check_all of the new intermediate's leaf: %v\n%s", err, out)
	}
	if st := binary.Must(t, dir, "status"); !strings.Contains(st, "intermediate "+oldFP[:16]+"  REVOKED") || !strings.Contains(st, "keyCompromise") {
		t.Errorf("status does not say the intermediate is revoked:\n%s", st)
	}
	if code, _, page := srv.Do(t, "GET", "/trust", "", ""); code != 200 || !strings.Contains(page, oldFP) || !strings.Contains(page, "Revoked") {
		t.Errorf("the trust page (%d) does not show the revoked intermediate", code)
	}
	if _, errOut, err := binary.Run(t, dir, "intermediate", "revoke", oldFP); err == nil || !strings.Contains(errOut, "revoked") {
		t.Errorf("revoking it again: %v %q", err, errOut)
	}
	for _, fp := range []string{strings.Repeat("0", 64), rootFP, "abc"} {
		if _, errOut, err := binary.Run(t, dir, "intermediate", "revoke", fp); err == nil || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("revoking %s: %v %q, want one line and an error", fp, err, errOut)
		}
	}
	srv.Stop(t)

	// On the file, with the root offline: the key file signs the CRL.
	pass := filepath.Join(dir, "pass")
	os.WriteFile(pass, []byte("a long offline passphrase\n"), 0o600)
	keyFile := filepath.Join(dir, "root-key.pem")
	binary.Must(t, dir, "root", "offline", "--out", keyFile, "--passphrase-file", pass)
	binary.Must(t, dir, "intermediate", "rotate", "--root-key", keyFile, "--passphrase-file", pass)
	if _, errOut, err := binary.Run(t, dir, "intermediate", "revoke", newFP); err == nil || !strings.Contains(errOut, "--root-key") {
		t.Errorf("revoking with the root offline and no key file: %v %q", err, errOut)
	}
	binary.Must(t, dir, "intermediate", "revoke", newFP, "--reason", "superseded", "--root-key", keyFile, "--passphrase-file", pass)
	srv = binary.Start(t, dir)
	// Read back from the store at start: both revoked, each with its reason.
	if got := opensslOCSP(t, srv, root, oldInter, oldLeaf); !strings.Contains(got, ": revoked") || !strings.Contains(got, "cACompromise") {
		t.Errorf("OCSP for the revoked intermediate's leaf after a restart:\n%s", got)
	}
	if got := opensslOCSP(t, srv, root, newInter, newLeaf); !strings.Contains(got, ": revoked") || !strings.Contains(got, "superseded") {
		t.Errorf("OCSP for the leaf of the intermediate revoked on the file:\n%s", got)
	}
	code, _, der := srv.Do(t, "GET", "/api/crl/"+rootFP, "", "")
	if code != 200 {
		t.Fatalf("the root's CRL: %d", code)
	}
	crl, err := x509.ParseRevocationList([]byte(der))
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, e := range crl.RevokedCertificateEntries {
		for fp, file := range map[string]string{oldFP: oldInter, newFP: newInter} {
			if e.SerialNumber.Cmp(pemCert(t, string(mustRead(t, file))).SerialNumber) == 0 {
				reasons[fp] = e.ReasonCode
			}
		}
	}
	if len(crl.RevokedCertificateEntries) != 2 || reasons[oldFP] != 1 || reasons[newFP] != 4 {
		t.Errorf("the root's CRL lists %d entries, reasons %v; want both intermediates, keyCompromise and superseded", len(crl.RevokedCertificateEntries), reasons)
	}
}

// opensslOCSP asks the server's OCSP responder about the first certificate
// in leafFile with openssl, which checks the answer's signature against
// issuerFile and rootFile, and returns what openssl printed.
func opensslOCSP(t *testing.T, srv *server, rootFile, issuerFile, leafFile string) string {
	t.Helper()
	out, err := exec.Command("openssl", "ocsp", "-issuer", issuerFile, "-cert", leafFile, "-url", srv.URL+"/api/ocsp",
		"-CAfile", rootFile, "-verify_other", issuerFile, "-resp_text").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl ocsp: %v\n%s", err, out)
	}
	return string(out)
}
