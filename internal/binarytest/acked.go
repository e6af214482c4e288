package binarytest

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
)

// Acked is a certificate the server answered 200 for: from then on it must
// survive anything short of losing the disk.
type Acked struct {
	ID   string
	Name string
	Key  crypto.Signer // the client's own key for a CSR request; nil when the server made it
}

// CheckAcked checks that a certificate the server acknowledged is there
// with its key, as the API serves them.
func CheckAcked(base, token string, a Acked) error {
	get := func(path string) ([]byte, error) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("X-Auth-Token", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return b, nil
	}
	certPEM, err := get("/api/certificate/" + a.ID + "/obtain")
	if err != nil {
		return err
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return fmt.Errorf("certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	if len(cert.DNSNames) != 1 || cert.DNSNames[0] != a.Name {
		return fmt.Errorf("certificate names %v, want %s", cert.DNSNames, a.Name)
	}
	key := a.Key
	if key == nil {
		keyPEM, err := get("/api/privatekey/" + a.ID + "/obtain")
		if err != nil {
			return err
		}
		kb, _ := pem.Decode(keyPEM)
		if kb == nil {
			return fmt.Errorf("private key is not PEM")
		}
		k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
		if err != nil {
			return err
		}
		key = k.(crypto.Signer)
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return fmt.Errorf("the key does not match the certificate")
	}
	return nil
}
