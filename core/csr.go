package core

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"

	"certmaker/ca"
)

// CSRRequest reads one PEM CSR (ca.ParseCSR: signature and key checked)
// and the request it makes for days (0 is the default), normalized: what
// IssueCSR and OpenChallengeCSR take. Anything after the PEM block is
// refused: only the first block would be signed, which is not what the
// sender thinks.
func CSRRequest(body []byte, days int) (*x509.CertificateRequest, *ca.Request, error) {
	if block, rest := pem.Decode(body); block != nil && len(bytes.TrimSpace(rest)) > 0 {
		return nil, nil, ca.Invalidf("%d bytes after the PEM block; send one CSR and nothing else", len(bytes.TrimSpace(rest)))
	}
	csr, req, err := ca.ParseCSR(body)
	if err != nil {
		return nil, nil, err
	}
	req.Days = days
	if err := req.Normalize(); err != nil {
		return nil, nil, err
	}
	return csr, req, nil
}
