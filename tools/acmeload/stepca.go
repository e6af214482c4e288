package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// The provisioner names in ca.json; the sign client and the ACME directory
// URL (/acme/<name>/directory) use them.
const (
	jwkProvisioner  = "load"
	acmeProvisioner = "acme"
)

// stepcaInit writes what `step ca init` would: a root and an intermediate
// (P-256, keys unencrypted so step-ca needs no password), a JWK provisioner
// key, and ca.json with a JWK and an ACME provisioner. The JWK provisioner
// carries no encryptedKey: step-ca verifies tokens with the public key
// alone, and encryptedKey only serves the step CLI to fetch the private key.
func stepcaInit(args []string) error {
	fs := flag.NewFlagSet("stepca-init", flag.ExitOnError)
	dir := fs.String("dir", "", "directory for the keys, certificates and ca.json")
	addr := fs.String("addr", "127.0.0.1:18900", "step-ca's HTTPS address")
	dbType := fs.String("db", "bbolt", "step-ca store: bbolt or badgerv2")
	_ = fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", *addr, err)
	}
	dataSource := filepath.Join(*dir, "db")
	switch *dbType {
	case "bbolt":
		dataSource = filepath.Join(*dir, "ca.db")
	case "badgerv2":
	default:
		return fmt.Errorf("-db %q: want bbolt or badgerv2", *dbType)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return fmt.Errorf("make %s: %w", *dir, err)
	}

	rootKey, root, err := makeCA("load step-ca root", nil, nil)
	if err != nil {
		return err
	}
	intKey, intCert, err := makeCA("load step-ca intermediate", root, rootKey)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"root.crt": pemBlock("CERTIFICATE", root.Raw),
		"int.crt":  pemBlock("CERTIFICATE", intCert.Raw),
	}
	der, err := x509.MarshalECPrivateKey(intKey)
	if err != nil {
		return fmt.Errorf("encode the intermediate key: %w", err)
	}
	files["int.key"] = pemBlock("EC PRIVATE KEY", der)

	jwkKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("make the provisioner key: %w", err)
	}
	priv := jose.JSONWebKey{Key: jwkKey, Algorithm: string(jose.ES256), Use: "sig"}
	tp, err := priv.Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("provisioner key thumbprint: %w", err)
	}
	// step's kid is the key's SHA-256 thumbprint, base64url.
	priv.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	pub := priv.Public()
	if files["jwk.json"], err = json.Marshal(priv); err != nil {
		return fmt.Errorf("encode the provisioner key: %w", err)
	}

	caJSON := map[string]any{
		"root":            filepath.Join(*dir, "root.crt"),
		"federatedRoots":  nil,
		"crt":             filepath.Join(*dir, "int.crt"),
		"key":             filepath.Join(*dir, "int.key"),
		"address":         *addr,
		"insecureAddress": "",
		"dnsNames":        []string{host},
		"logger":          map[string]string{"format": "text"},
		"db":              map[string]string{"type": *dbType, "dataSource": dataSource},
		"authority": map[string]any{
			"provisioners": []any{
				map[string]any{"type": "JWK", "name": jwkProvisioner, "key": pub},
				map[string]any{"type": "ACME", "name": acmeProvisioner},
			},
		},
		"tls": map[string]any{"minVersion": 1.2, "maxVersion": 1.3, "renegotiation": false},
	}
	if files["ca.json"], err = json.MarshalIndent(caJSON, "", "  "); err != nil {
		return fmt.Errorf("encode ca.json: %w", err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(*dir, name), b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// makeCA makes a P-256 CA certificate, self-signed when parent is nil.
func makeCA(cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("make the key of %s: %w", cn, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("serial for %s: %w", cn, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"load"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	signer := key
	if parent == nil {
		parent = tmpl
		tmpl.MaxPathLen = 1
	} else {
		signer = parentKey
		tmpl.MaxPathLen = 0
		tmpl.MaxPathLenZero = true
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return nil, nil, fmt.Errorf("sign %s: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", cn, err)
	}
	return key, cert, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
