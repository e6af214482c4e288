package etcd

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/acme"

	"certmaker/internal/binarytest"
)

// eabKey is an External Account Binding key made by `user acme-eab`.
type eabKey struct {
	kid string
	key []byte
}

func (f *fleet) eab(i int, user string) eabKey {
	f.t.Helper()
	var k eabKey
	for _, line := range strings.Split(f.cli(i, "user", "acme-eab", user), "\n") {
		name, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch name {
		case "EAB_KID":
			k.kid = v
		case "EAB_HMAC_KEY":
			b, err := base64.RawURLEncoding.DecodeString(v)
			if err != nil {
				f.t.Fatalf("EAB HMAC key %q: %v", v, err)
			}
			k.key = b
		}
	}
	if k.kid == "" || len(k.key) == 0 {
		f.t.Fatal("user acme-eab printed no key")
	}
	return k
}

// acmeClient registers a new account through the balancer: every request
// of it may land on another node.
func (f *fleet) acmeClient(ctx context.Context, k eabKey) (*acme.Client, error) {
	cl := &acme.Client{
		Key:          newECKey(),
		DirectoryURL: f.lb.URL + "/acme/directory",
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
		UserAgent:    "certmaker-cluster-test",
	}
	_, err := cl.Register(ctx, &acme.Account{ExternalAccountBinding: &acme.ExternalAccountBinding{KID: k.kid, Key: k.key}}, acme.AcceptTOS)
	if err != nil {
		return nil, fmt.Errorf("ACME account: %w", err)
	}
	return cl, nil
}

// readyOrder orders name and proves it with http-01: the order is ready.
func (f *fleet) readyOrder(ctx context.Context, cl *acme.Client, name string) (*acme.Order, error) {
	return binarytest.ReadyOrder(ctx, cl, f.solver, name)
}

// finalize sends the order's CSR and returns the certificate's DER.
func finalize(ctx context.Context, cl *acme.Client, o *acme.Order, name string) ([]byte, error) {
	chain, _, err := binarytest.Finalize(ctx, cl, o, name)
	if err != nil {
		return nil, err
	}
	return chain[0], nil
}

// acmeCert is a certificate an ACME order was answered valid with.
type acmeCert struct {
	name string
	der  []byte
}

// acmeOnce orders, proves and finalizes one certificate for name.
func (f *fleet) acmeOnce(ctx context.Context, cl *acme.Client, name string) (acmeCert, error) {
	o, err := f.readyOrder(ctx, cl, name)
	if err != nil {
		return acmeCert{}, err
	}
	der, err := finalize(ctx, cl, o, name)
	return acmeCert{name: name, der: der}, err
}
