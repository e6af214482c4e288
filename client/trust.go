package client

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Trust says which roots an https server's certificate may chain to,
// beyond the system's: the roots in CACertFile, and the server's own root
// whose SHA-256 fingerprint is Fingerprint (what `certmaker root
// fingerprint` prints), fetched from the server and checked against it
// before it is trusted, as `step ca bootstrap --fingerprint` does.
type Trust struct {
	CACertFile  string
	Fingerprint string
}

// HTTPClient is an http.Client for server that trusts what t says; with
// neither set, the system's roots.
func (t Trust) HTTPClient(ctx context.Context, server string) (*http.Client, error) {
	if t.CACertFile == "" && t.Fingerprint == "" {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if t.CACertFile != "" {
		b, err := os.ReadFile(t.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("reading --cacert: %w", err)
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--cacert %s holds no PEM certificate", t.CACertFile)
		}
	}
	if t.Fingerprint != "" {
		root, err := bootstrapRoot(ctx, server, t.Fingerprint)
		if err != nil {
			return nil, err
		}
		pool.AddCert(root)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: time.Minute}, nil
}

// normalizeFingerprint accepts hex with or without colons, any case.
func normalizeFingerprint(s string) (string, error) {
	fp := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	if b, err := hex.DecodeString(fp); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("--fingerprint %q is not a SHA-256 fingerprint (64 hex digits, as certmaker root fingerprint prints)", s)
	}
	return fp, nil
}

// bootstrapRoot fetches the server's roots without trusting the connection
// and returns the one whose SHA-256 is fingerprint: what comes over the
// wire is checked against what the operator read off the server, so a
// connection an attacker holds can only fail, never be trusted.
func bootstrapRoot(ctx context.Context, server, fingerprint string) (*x509.Certificate, error) {
	want, err := normalizeFingerprint(fingerprint)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Checked by fingerprint below, not by a chain.
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(server, "/")+"/roots.pem", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the server's roots: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("fetching the server's roots: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the server's roots: %s", resp.Status)
	}
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		sum := sha256.Sum256(blk.Bytes)
		if hex.EncodeToString(sum[:]) == want {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
	return nil, errors.New("the server offers no root with that fingerprint: check it with `certmaker root fingerprint` on the CA's host (someone may be in between)")
}

// TrustAdvice adds to err, when the server's certificate did not verify,
// what to pass so that it does; any other error is returned as it is. A
// server given as http:// got there by a redirect: HTTPS was turned on
// after the command was written, and it must change.
func TrustAdvice(server string, err error) error {
	var unverified *tls.CertificateVerificationError
	if !errors.As(err, &unverified) {
		return err
	}
	advice := "pass --cacert FILE (the CA's root, from its /roots.pem) or --fingerprint FP (what `certmaker root fingerprint` prints on the CA), or install the root in this machine's trust store"
	if strings.HasPrefix(strings.ToLower(server), "http://") {
		advice = "the server moved to HTTPS: use its https:// URL in --server and " + advice
	}
	return fmt.Errorf("%w; %s", err, advice)
}
