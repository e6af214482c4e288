package ca_test

import (
	"bytes"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"certmaker/ca"
)

// TestEncryptKey: a key encrypted with a passphrase comes back with it,
// not with another, and the file is standard: openssl decrypts ours, and
// we decrypt openssl's.
func TestEncryptKey(t *testing.T) {
	for _, kt := range []ca.KeyType{ca.KeyECDSAP256, ca.KeyRSA2048, ca.KeyEd25519} {
		t.Run(string(kt), func(t *testing.T) {
			der, err := ca.MarshalKey(mustKey(t, kt))
			if err != nil {
				t.Fatal(err)
			}
			pass := []byte("correct horse battery staple")
			enc, err := ca.EncryptKeyPEM(der, pass)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := pem.Decode(enc); b == nil || b.Type != "ENCRYPTED PRIVATE KEY" {
				t.Fatalf("not an ENCRYPTED PRIVATE KEY PEM:\n%s", enc)
			}
			if bytes.Contains(enc, der[len(der)-16:]) {
				t.Fatal("the key is in the file in clear")
			}
			back, err := ca.DecryptKeyPEM(enc, pass)
			if err != nil || !bytes.Equal(back, der) {
				t.Fatalf("DecryptKeyPEM = %v (equal %v)", err, bytes.Equal(back, der))
			}
			if _, err := ca.DecryptKeyPEM(enc, []byte("wrong horse battery staple")); !errors.Is(err, ca.ErrPassphrase) {
				t.Errorf("a wrong passphrase: %v, want ErrPassphrase", err)
			}
			if _, err := ca.DecryptKeyPEM([]byte("not pem"), pass); err == nil || errors.Is(err, ca.ErrPassphrase) {
				t.Errorf("garbage: %v, want an error that is not about the passphrase", err)
			}

			openssl, err := exec.LookPath("openssl")
			if err != nil {
				t.Skip("openssl not installed")
			}
			dir := t.TempDir()
			encFile, passFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "pass")
			os.WriteFile(encFile, enc, 0o600)
			os.WriteFile(passFile, append(pass, '\n'), 0o600)
			out, err := exec.Command(openssl, "pkcs8", "-in", encFile, "-passin", "file:"+passFile).CombinedOutput()
			if err != nil {
				t.Fatalf("openssl pkcs8 cannot decrypt it: %v\n%s", err, out)
			}
			if b, _ := pem.Decode(out); b == nil || !bytes.Equal(b.Bytes, der) {
				t.Errorf("openssl decrypted another key:\n%s", out)
			}
			// The other way: openssl's PBES2 file, which a passphrase
			// made elsewhere may come in.
			plainFile := filepath.Join(dir, "plain.pem")
			os.WriteFile(plainFile, ca.KeyPEM(der), 0o600)
			out, err = exec.Command(openssl, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", plainFile, "-passout", "file:"+passFile).CombinedOutput()
			if err != nil {
				t.Fatalf("openssl pkcs8 -topk8: %v\n%s", err, out)
			}
			if back, err := ca.DecryptKeyPEM(out, pass); err != nil || !bytes.Equal(back, der) {
				t.Errorf("openssl's encrypted key: %v", err)
			}
			if !strings.Contains(string(out), "ENCRYPTED PRIVATE KEY") {
				t.Errorf("openssl wrote %q", out)
			}
		})
	}
}
