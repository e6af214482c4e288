package ocsp

import (
	"crypto"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// TestOpenSSL has the openssl binary, an independent client, ask and verify.
// It runs on the real clock: openssl checks thisUpdate and nextUpdate.
func TestOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH")
	}
	f := newFixture(t, Config{Now: time.Now})
	dir := t.TempDir()
	rootPEM := writePEM(t, dir, "root.pem", f.a.cert)
	good := f.good(t, f.a, randomSerial(t))
	revoked := f.a.issue(t, randomSerial(t))
	f.source.set(revoked.SerialNumber, Status{Issued: true, IssuerFingerprint: f.a.fp, Revoked: true, RevokedAt: time.Now().Add(-time.Hour), Reason: xocsp.KeyCompromise})
	rootBPEM := writePEM(t, dir, "rootB.pem", f.b.cert)
	fromB := f.good(t, f.b, randomSerial(t))

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"Good", []string{"-issuer", rootPEM, "-cert", writePEM(t, dir, "good.pem", good), "-CAfile", rootPEM},
			[]string{"Response verify OK", "good.pem: good"}},
		{"GoodSHA256", []string{"-issuer", rootPEM, "-sha256", "-cert", writePEM(t, dir, "good256.pem", good), "-CAfile", rootPEM},
			[]string{"Response verify OK", "good256.pem: good"}},
		{"Revoked", []string{"-issuer", rootPEM, "-cert", writePEM(t, dir, "revoked.pem", revoked), "-CAfile", rootPEM},
			[]string{"Response verify OK", "revoked.pem: revoked", "Reason: keyCompromise"}},
		{"OtherRoot", []string{"-issuer", rootBPEM, "-cert", writePEM(t, dir, "fromB.pem", fromB), "-CAfile", rootBPEM},
			[]string{"Response verify OK", "fromB.pem: good"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := openssl(t, append([]string{"ocsp", "-url", f.srv.URL + "/ocsp"}, tt.args...)...)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			// openssl sends a nonce and warns when it is not echoed.
			if strings.Contains(out, "WARNING") {
				t.Errorf("openssl warns:\n%s", out)
			}
		})
	}

	t.Run("GETResponseVerifies", func(t *testing.T) {
		_, body := get(t, f.srv.URL+"/ocsp/"+escapeAll(base64.StdEncoding.EncodeToString(requestFor(t, good, f.a.cert, crypto.SHA1))))
		respPath := filepath.Join(dir, "resp.der")
		if err := os.WriteFile(respPath, body, 0o600); err != nil {
			t.Fatal(err)
		}
		out := openssl(t, "ocsp", "-respin", respPath, "-issuer", rootPEM, "-cert", filepath.Join(dir, "good.pem"), "-CAfile", rootPEM, "-no_nonce")
		if !strings.Contains(out, "Response verify OK") || !strings.Contains(out, "good.pem: good") {
			t.Errorf("openssl does not accept the GET response:\n%s", out)
		}
	})
}

// With every signer busy, a nonce request about an issued certificate gets
// the cached answer without the nonce; openssl warns and accepts it.
func TestOpenSSL_BusyNonceLeftOut(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH")
	}
	f := newFixture(t, Config{Now: time.Now, MaxSigning: 1})
	gate := newGateSigner(t, f.a.signer)
	f.setIssuers(Issuer{Cert: f.a.cert, Signer: gate})
	dir := t.TempDir()
	rootPEM := writePEM(t, dir, "root.pem", f.a.cert)
	good := f.good(t, f.a, randomSerial(t))
	if _, _, err := f.r.Respond(requestFor(t, good, f.a.cert, crypto.SHA1)); err != nil {
		t.Fatal(err)
	}
	held := gate.hold(t, f.r, buildRequest(t, crypto.SHA1, f.a.cert, nil, randomSerial(t)))

	out := openssl(t, "ocsp", "-url", f.srv.URL+"/ocsp", "-issuer", rootPEM, "-cert", writePEM(t, dir, "good.pem", good), "-CAfile", rootPEM)
	for _, w := range []string{"WARNING: no nonce in response", "Response verify OK", "good.pem: good"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	gate.release()
	<-held
}

func openssl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("openssl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
