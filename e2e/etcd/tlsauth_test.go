package etcd

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// pki is a test CA and the certificates it signed, as PEM files in dir.
type pki struct {
	dir    string
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "etcd test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	p.caCert, _ = x509.ParseCertificate(der)
	p.caKey = key
	p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	must(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
}

// issue makes a certificate and key for cn: a server's for 127.0.0.1, or
// a client's; it returns the files' paths.
func (p *pki) issue(t *testing.T, cn string, server bool) (cert, key string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &k.PublicKey, p.caKey)
	must(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	must(t, err)
	return p.write(t, cn+".pem", "CERTIFICATE", der), p.write(t, cn+"-key.pem", "PRIVATE KEY", kder)
}

// A node reaches an etcd that demands client certificates and passwords,
// as docs/cluster.md says to run it: TLS with ca_file, cert_file and
// key_file, user and password, the user's role limited to its prefix. A
// wrong password, no client certificate and a plain endpoint at the TLS
// etcd are each refused in one line.
func TestServe_TLSAndAuthentication(t *testing.T) {
	p := newPKI(t)
	srvCert, srvKey := p.issue(t, "etcd-server", true)
	cliCert, cliKey := p.issue(t, "certmaker-node", false)
	e, err := startEmbedded(t.TempDir(), func(c *embed.Config) {
		u, _ := url.Parse("https://127.0.0.1:0")
		c.ListenClientUrls, c.AdvertiseClientUrls = []url.URL{*u}, []url.URL{*u}
		c.ClientTLSInfo = transport.TLSInfo{CertFile: srvCert, KeyFile: srvKey, TrustedCAFile: filepath.Join(p.dir, "ca.pem"), ClientCertAuth: true}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	endpoint := "https://" + e.Clients[0].Addr().String()
	prefix := "/tls-auth/"

	// The operator's setup: root, and a certmaker user whose role reads
	// and writes the prefix only.
	tlsConf, err := (transport.TLSInfo{CertFile: cliCert, KeyFile: cliKey, TrustedCAFile: filepath.Join(p.dir, "ca.pem")}).ClientConfig()
	must(t, err)
	admin, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, TLS: tlsConf, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	must(t, err)
	ctx := context.Background()
	for _, step := range []func() error{
		func() error { _, err := admin.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.RoleAdd(ctx, "certmaker"); return err },
		func() error {
			_, err := admin.RoleGrantPermission(ctx, "certmaker", prefix, clientv3.GetPrefixRangeEnd(prefix), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := admin.UserAdd(ctx, "certmaker", "s3cret"); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "certmaker", "certmaker"); return err },
		func() error { _, err := admin.AuthEnable(ctx); return err },
	} {
		must(t, step())
	}
	admin.Close()

	tlsKeys := fmt.Sprintf("ca_file = %q\ncert_file = %q\nkey_file = %q\n", filepath.Join(p.dir, "ca.pem"), cliCert, cliKey)
	node := func(endpoint, keys string) (string, int) {
		dir, port := nodeDir(t, sharedKey(t), prefix, []string{endpoint})
		editConf(t, dir, `dial_timeout = "3s"`, `dial_timeout = "3s"`+"\n"+keys)
		return dir, port
	}

	dir, port := node(endpoint, tlsKeys+"username = \"certmaker\"\npassword = \"s3cret\"\n")
	n := startNode(t, dir, port)
	token := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	if code, _, body := n.Do(t, "POST", "/api/certificate/request", token, `{"domains":["tls.home.lan"]}`); code != 200 {
		t.Fatalf("issue over TLS with a password: %d %s", code, body)
	}
	n.Stop(t)

	for _, c := range []struct {
		name, endpoint, keys string
		want                 []string
	}{
		{"a wrong password", endpoint, tlsKeys + "username = \"certmaker\"\npassword = \"wrong\"\n", []string{"certmaker", "password"}},
		{"no client certificate", endpoint, fmt.Sprintf("ca_file = %q\nusername = \"certmaker\"\npassword = \"s3cret\"\n", filepath.Join(p.dir, "ca.pem")), []string{"certificate"}},
		{"a plain endpoint at a TLS etcd", strings.Replace(endpoint, "https://", "http://", 1), "username = \"certmaker\"\npassword = \"s3cret\"\n", []string{"TLS"}},
	} {
		dir, _ := node(c.endpoint, c.keys)
		_, stderr, err := binary.Run(t, dir, "serve")
		oneLine(t, c.name, stderr, err, c.want...)
		t.Logf("%s: %s", c.name, stderr)
	}
}
