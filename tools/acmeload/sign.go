package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// csrsMain writes a pool of P-256 CSRs, one PEM after another, so that
// every CSR-signing target signs the very same requests.
func csrsMain(args []string) error {
	fs := flag.NewFlagSet("csrs", flag.ExitOnError)
	n := fs.Int("n", 256, "CSRs in the pool")
	name := fs.String("name", "app.example.com", "common name and DNS name of every CSR")
	ip := fs.String("ip", "", "an IP address as the only name instead (for ACME orders)")
	out := fs.String("out", "", "file to write")
	_ = fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	var buf bytes.Buffer
	for range *n {
		der, err := newCSR(*name, *ip)
		if err != nil {
			return err
		}
		buf.Write(pemBlock("CERTIFICATE REQUEST", der))
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	return nil
}

func newCSR(name, ip string) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make a CSR key: %w", err)
	}
	tmpl := &x509.CertificateRequest{}
	if ip != "" {
		a := net.ParseIP(ip)
		if a == nil {
			return nil, fmt.Errorf("-ip %q is not an IP address", ip)
		}
		tmpl.IPAddresses = []net.IP{a}
	} else {
		tmpl.Subject = pkix.Name{CommonName: name}
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("make a CSR: %w", err)
	}
	return der, nil
}

// readCSRs reads a pool written by csrsMain.
func readCSRs(path string) ([]*pem.Block, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the CSR pool: %w", err)
	}
	var out []*pem.Block
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		out = append(out, blk)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no CSR", path)
	}
	return out, nil
}

// signMain posts the pool's CSRs round-robin to one CA's CSR-signing route.
func signMain(args []string) error {
	fs := flag.NewFlagSet("sign", flag.ExitOnError)
	var l loadFlags
	l.register(fs)
	target := fs.String("target", "", "certmaker, cfssl or stepca")
	url := fs.String("url", "", "the signing URL (certmaker .../api/certificate/request-with-csr, cfssl .../api/v1/cfssl/sign, step-ca https://.../1.0/sign); "+
		"several, comma-separated, spread the workers over them (the nodes of a cluster)")
	pool := fs.String("csrs", "", "CSR pool from acmeload csrs")
	name := fs.String("name", "app.example.com", "the CSRs' name (step-ca's token subject)")
	stepDir := fs.String("stepca-dir", "", "stepca-init's directory (its jwk.json signs the one-time tokens)")
	tokenFile := fs.String("token-file", "", "file holding certmaker's API token (else $CERTMAKER_TOKEN)")
	_ = fs.Parse(args)
	if *url == "" || *pool == "" {
		return fmt.Errorf("-url and -csrs are required")
	}
	csrs, err := readCSRs(*pool)
	if err != nil {
		return err
	}
	pems := make([][]byte, len(csrs))
	for i, c := range csrs {
		pems[i] = pem.EncodeToMemory(c)
	}

	urls := strings.Split(*url, ",")
	var req func(w, i int) (*http.Request, error)
	want := http.StatusOK
	switch *target {
	case "certmaker":
		// The token comes by file or environment, never on a command
		// line, where every process could read it.
		token := os.Getenv("CERTMAKER_TOKEN")
		if *tokenFile != "" {
			b, err := os.ReadFile(*tokenFile)
			if err != nil {
				return fmt.Errorf("read -token-file: %w", err)
			}
			token = strings.TrimSpace(string(b))
		}
		if token == "" {
			return fmt.Errorf("give -token-file or set CERTMAKER_TOKEN")
		}
		req = func(w, i int) (*http.Request, error) {
			r, err := http.NewRequest(http.MethodPost, urls[w%len(urls)], bytes.NewReader(pems[i]))
			if err != nil {
				return nil, err
			}
			r.Header.Set("X-Auth-Token", token)
			r.Header.Set("Content-Type", "application/pkcs10")
			return r, nil
		}
	case "cfssl":
		req = func(w, i int) (*http.Request, error) {
			body, _ := json.Marshal(map[string]string{"certificate_request": string(pems[i])})
			r, err := http.NewRequest(http.MethodPost, urls[w%len(urls)], bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			r.Header.Set("Content-Type", "application/json")
			return r, nil
		}
	case "stepca":
		ott, err := newTokenSigner(*stepDir, *url, *name)
		if err != nil {
			return err
		}
		want = http.StatusCreated
		req = func(w, i int) (*http.Request, error) {
			tok, err := ott()
			if err != nil {
				return nil, err
			}
			body, _ := json.Marshal(map[string]string{"csr": string(pems[i]), "ott": tok})
			r, err := http.NewRequest(http.MethodPost, urls[w%len(urls)], bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			r.Header.Set("Content-Type", "application/json")
			return r, nil
		}
	default:
		return fmt.Errorf("-target %q: want certmaker, cfssl or stepca", *target)
	}

	clients := make([]*http.Client, l.conns)
	for i := range clients {
		if clients[i], err = l.httpClient(); err != nil {
			return err
		}
	}
	next := make([]int, l.conns)
	do := func(ctx context.Context, w int) error {
		// Each worker starts at its own place in the pool.
		i := (w*7 + next[w]) % len(pems)
		next[w]++
		r, err := req(w, i)
		if err != nil {
			return err
		}
		resp, err := clients[w].Do(r.WithContext(ctx))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != want {
			return fmt.Errorf("%s answered %d: %.200s", *target, resp.StatusCode, body)
		}
		if *target == "cfssl" && !bytes.Contains(body, []byte(`"success":true`)) {
			return fmt.Errorf("cfssl did not sign: %.200s", body)
		}
		return nil
	}
	// One request first, so that a wrong setup fails loudly instead of
	// timing errors.
	if err := do(context.Background(), 0); err != nil {
		return fmt.Errorf("first request: %w", err)
	}
	res, err := l.run(do)
	if err != nil {
		return err
	}
	fmt.Println(res)
	if res.firstErr != nil {
		fmt.Fprintf(os.Stderr, "acmeload sign: %d errors, the first: %v\n", res.errors, res.firstErr)
	}
	return nil
}

// newTokenSigner returns a maker of step-ca one-time tokens: a JWT signed
// by the JWK provisioner's key, with a fresh jti each (step-ca stores every
// jti it has seen and refuses a second use), aud the signing URL, sub and
// sans the CSR's name.
func newTokenSigner(dir, aud, name string) (func() (string, error), error) {
	if dir == "" {
		return nil, fmt.Errorf("-stepca-dir is required for -target stepca")
	}
	b, err := os.ReadFile(filepath.Join(dir, "jwk.json"))
	if err != nil {
		return nil, fmt.Errorf("read the provisioner key: %w", err)
	}
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("parse the provisioner key: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("provisioner signer: %w", err)
	}
	return func() (string, error) {
		var id [16]byte
		_, _ = rand.Read(id[:])
		now := time.Now()
		std := jwt.Claims{
			Issuer:    jwkProvisioner,
			Subject:   name,
			Audience:  jwt.Audience{aud},
			ID:        hex.EncodeToString(id[:]),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			Expiry:    jwt.NewNumericDate(now.Add(5 * time.Minute)),
		}
		return jwt.Signed(signer).Claims(std).Claims(map[string]any{"sans": []string{name}}).Serialize()
	}, nil
}
