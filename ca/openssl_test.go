package ca_test

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certmaker/ca"
)

// TestOpenSSLVerify has openssl, an independent implementation, judge roots,
// intermediates and leaves: the chain (root trusted, intermediate
// untrusted, as a TLS server sends it), the purpose, host names and IP
// addresses.
func TestOpenSSLVerify(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	tests := []struct {
		root, leaf ca.KeyType
	}{
		{ca.KeyECDSAP256, ca.KeyECDSAP256},
		{ca.KeyECDSAP256, ca.KeyRSA2048},
		{ca.KeyECDSAP256, ca.KeyEd25519},
		{ca.KeyRSA2048, ca.KeyRSA2048},
		{ca.KeyEd25519, ca.KeyEd25519},
	}
	for _, tt := range tests {
		t.Run("Root="+string(tt.root)+"/Leaf="+string(tt.leaf), func(t *testing.T) {
			t.Parallel()
			// openssl checks validity against the real clock.
			now := time.Now()
			iss := mustIssuer(t, tt.root, now.Add(-time.Minute))
			root := iss.Parent
			a := mustAuthority(t, now, iss)
			leaf := mustSign(t, a, &ca.Request{
				DNSNames: []string{"app.example.com", "www.example.com"},
				IPs:      []netip.Addr{netip.MustParseAddr("192.168.1.20")},
			}, mustKey(t, tt.leaf).Public())

			dir := t.TempDir()
			rootPEM := filepath.Join(dir, "root.pem")
			leafPEM := filepath.Join(dir, "leaf.pem")
			intPEM := filepath.Join(dir, "intermediate.pem")
			if err := os.WriteFile(rootPEM, ca.CertPEM(root.Cert.Raw), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(intPEM, ca.CertPEM(iss.Cert.Raw), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(leafPEM, ca.CertPEM(leaf.Raw), 0o600); err != nil {
				t.Fatal(err)
			}
			verify := func(t *testing.T, wantOK bool, args ...string) {
				t.Helper()
				args = append([]string{"verify", "-x509_strict", "-CAfile", rootPEM, "-untrusted", intPEM}, args...)
				out, err := exec.Command(openssl, args...).CombinedOutput()
				ok := err == nil && strings.Contains(string(out), ": OK")
				if ok != wantOK {
					t.Errorf("openssl %s: ok=%v, want %v\n%s", strings.Join(args, " "), ok, wantOK, out)
				}
			}
			verify(t, true, rootPEM)
			verify(t, true, intPEM)
			verify(t, true, leafPEM)
			verify(t, true, "-purpose", "sslserver", leafPEM)
			verify(t, true, "-purpose", "sslclient", leafPEM)
			verify(t, true, "-verify_hostname", "www.example.com", leafPEM)
			verify(t, true, "-verify_ip", "192.168.1.20", leafPEM)
			// A judge that says OK to everything would be no judge.
			verify(t, false, "-verify_hostname", "evil.example.com", leafPEM)
			verify(t, false, "-verify_ip", "192.168.1.21", leafPEM)
			// The root alone does not make a chain: the intermediate is needed.
			out, err := exec.Command(openssl, "verify", "-x509_strict", "-CAfile", rootPEM, leafPEM).CombinedOutput()
			if err == nil {
				t.Errorf("the leaf verified against the root without its intermediate:\n%s", out)
			}
		})
	}
}
