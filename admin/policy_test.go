package admin_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	"certmaker/admin"
	"certmaker/ca"
	"certmaker/core"
)

func strs(s ...string) *[]string { return &s }

// TestOperator_Policy: policies are set, shown and enforced the same on
// the file and over the socket, and an operator issuing for a user
// (`cert issue`) is held to that user's policy; the refusal keeps its
// kind across the socket.
func TestOperator_Policy(t *testing.T) {
	for name, mk := range operators(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			op, ops := mk(t)
			if _, err := op.RotateRoot(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := op.AddUserWithPolicy(ctx, "nas", false, admin.PolicyChange{Allow: strs("nas.home.lan", "192.168.1.20"), KeyTypes: strs("ecdsa-p256")}); err != nil {
				t.Fatal(err)
			}
			info, err := op.UserPolicy(ctx, "nas")
			if err != nil || !slices.Equal(info.Policy.Allow, []string{"nas.home.lan", "192.168.1.20"}) || info.MaxDays != 182 {
				t.Fatalf("UserPolicy = %+v, %v", info, err)
			}
			days := 30
			info, err = op.SetPolicy(ctx, "nas", admin.PolicyChange{MaxDays: &days})
			if err != nil || info.Policy.MaxDays != 30 || info.MaxDays != 30 || len(info.Policy.Allow) != 2 {
				t.Fatalf("SetPolicy(max days) = %+v, %v; want the rest kept", info, err)
			}
			if _, err := op.SetPolicy(ctx, "nas", admin.PolicyChange{Deny: strs("10.0.0.0/33")}); core.KindOf(err) != core.Invalid || !strings.Contains(err.Error(), "10.0.0.0/33") {
				t.Errorf("a bad rule: %v, want Invalid naming it", err)
			}
			if _, err := op.UserPolicy(ctx, "nobody"); core.KindOf(err) != core.NotFound {
				t.Errorf("the policy of nobody: %v", err)
			}
			users, err := op.Users(ctx)
			if err != nil || len(users) != 1 || users[0].Policy.MaxDays != 30 {
				t.Errorf("Users shows no policy: %+v, %v", users, err)
			}

			_, err = op.IssueCertificate(ctx, admin.IssueRequest{User: "nas", Domains: []string{"nas.home.lan", "vault.home.lan"}})
			if core.KindOf(err) != core.PolicyDenied || !strings.Contains(err.Error(), "vault.home.lan") || !strings.Contains(err.Error(), "allows only nas.home.lan, 192.168.1.20") {
				t.Errorf("issuing outside the policy: %v, want PolicyDenied naming the name and the policy", err)
			}
			if _, err := op.IssueCertificate(ctx, admin.IssueRequest{User: "nas", Domains: []string{"nas.home.lan"}, KeyType: "rsa-2048"}); core.KindOf(err) != core.PolicyDenied {
				t.Errorf("issuing with a key type outside the policy: %v", err)
			}
			got, err := op.IssueCertificate(ctx, admin.IssueRequest{User: "nas", Domains: []string{"nas.home.lan"}, IPs: []string{"192.168.1.20"}, Days: 90})
			if err != nil {
				t.Fatalf("issuing inside the policy: %v", err)
			}
			leaf := firstCert(t, got.CertPEM)
			if !slices.Equal(leaf.DNSNames, []string{"nas.home.lan"}) || len(leaf.IPAddresses) != 1 {
				t.Errorf("issued for %v %v", leaf.DNSNames, leaf.IPAddresses)
			}
			if d := leaf.NotAfter.Sub(leaf.NotBefore).Hours() / 24; d != 30 {
				t.Errorf("90 days asked, the policy's maximum is 30: valid for %v days", d)
			}
			if b, _ := pem.Decode(got.KeyPEM); b == nil || b.Type != "PRIVATE KEY" {
				t.Errorf("no key in the answer")
			}
			if c, err := ops.DB.Certificate(leaf.SerialNumber); err != nil || c.Owner != "nas" || c.Serial.String() != got.ID {
				t.Errorf("stored %+v, %v; want nas's certificate %s", c, err, got.ID)
			}

			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"nas.home.lan", "extra.home.lan"}}, key)
			if _, err := op.IssueCertificate(ctx, admin.IssueRequest{User: "nas", CSR: ca.CSRPEM(der)}); core.KindOf(err) != core.PolicyDenied {
				t.Errorf("a CSR with a name outside the policy: %v", err)
			}
			der, _ = x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"nas.home.lan"}}, key)
			got, err = op.IssueCertificate(ctx, admin.IssueRequest{User: "nas", CSR: ca.CSRPEM(der)})
			if err != nil || got.KeyPEM != nil || !firstCert(t, got.CertPEM).PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
				t.Errorf("a CSR inside the policy: %+v, %v", got, err)
			}
			for _, bad := range []admin.IssueRequest{
				{Domains: []string{"nas.home.lan"}},
				{User: "nobody", Domains: []string{"nas.home.lan"}},
				{User: "nas", Domains: []string{"bad name"}},
				{User: "nas", CSR: ca.CSRPEM(der), Domains: []string{"nas.home.lan"}},
			} {
				if _, err := op.IssueCertificate(ctx, bad); err == nil {
					t.Errorf("IssueCertificate(%+v) succeeded", bad)
				}
			}
		})
	}
}

func firstCert(t *testing.T, chain []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(chain)
	if b == nil {
		t.Fatalf("no certificate in %q", chain)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
