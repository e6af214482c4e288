package binarytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Issue asks for one certificate through the API, with a CSR made here
// or with a key the server makes. Only a complete 200 answer with a
// certificate id counts as acknowledged.
func Issue(hc *http.Client, base, token, name string, withCSR bool) (Acked, error) {
	a := Acked{Name: name}
	path, body := "/api/certificate/request", `{"domains":["`+name+`"]}`
	if withCSR {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return a, err
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, key)
		if err != nil {
			return a, err
		}
		a.Key = key
		path, body = "/api/certificate/request-with-csr", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	}
	req, err := http.NewRequest("POST", base+path, strings.NewReader(body))
	if err != nil {
		return a, err
	}
	req.Header.Set("X-Auth-Token", token)
	resp, err := hc.Do(req)
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return a, err
	}
	if resp.StatusCode != 200 {
		return a, &StatusError{Name: name, Code: resp.StatusCode, Body: string(b)}
	}
	a.ID = strings.TrimSpace(string(b))
	if _, ok := new(big.Int).SetString(a.ID, 10); !ok {
		return a, fmt.Errorf("%s: 200 with body %q, not an id", name, b)
	}
	return a, nil
}

// VerifyAcked fetches every acknowledged certificate (and the key the
// server made) from base and checks that they belong together; it returns
// how many are missing or wrong, reporting the first few.
func VerifyAcked(t *testing.T, base, token string, all []Acked) int {
	t.Helper()
	var lost atomic.Int64
	work := make(chan Acked)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for a := range work {
				if err := CheckAcked(base, token, a); err != nil {
					if lost.Add(1) <= 10 {
						t.Errorf("acknowledged certificate %s (%s): %v", a.ID, a.Name, err)
					}
				}
			}
		})
	}
	for _, a := range all {
		work <- a
	}
	close(work)
	wg.Wait()
	return int(lost.Load())
}

// StatusError is an answer other than 200 to Issue.
type StatusError struct {
	Name string
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: %d %s %q", e.Name, e.Code, http.StatusText(e.Code), e.Body)
}
