package ca

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"strings"
)

// MaxCSRSize bounds the PEM a client may send; real CSRs are a few KiB.
const MaxCSRSize = 64 << 10

// ParseCSR decodes a PEM CSR, checks its signature and key, and turns it into
// a Request. Names come from its SANs; with none, from its CN if that is a
// DNS name. The subject keeps the CSR's common name and organization fields.
func ParseCSR(data []byte) (*x509.CertificateRequest, *Request, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, nil, fmt.Errorf("%w: body is not a PEM CSR", ErrInvalid)
	}
	if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
		return nil, nil, fmt.Errorf("%w: PEM block is %q, want \"CERTIFICATE REQUEST\"", ErrInvalid, block.Type)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: CSR does not parse: %v", ErrInvalid, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, nil, fmt.Errorf("%w: CSR signature does not verify: %v", ErrInvalid, err)
	}
	if _, err := KeyTypeOf(csr.PublicKey); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(csr.URIs) > 0 {
		return nil, nil, fmt.Errorf("%w: URI names are not supported", ErrInvalid)
	}
	req := &Request{
		DNSNames: csr.DNSNames,
		Emails:   csr.EmailAddresses,
	}
	for _, ip := range csr.IPAddresses {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			return nil, nil, fmt.Errorf("%w: CSR IP address %v is malformed", ErrInvalid, ip)
		}
		req.IPs = append(req.IPs, a.Unmap())
	}
	cn := csr.Subject.CommonName
	_, dnsErr := NormalizeDNSName(cn)
	_, ipErr := netip.ParseAddr(cn)
	if len(req.DNSNames)+len(req.IPs)+len(req.Emails) == 0 && dnsErr != nil {
		return nil, nil, fmt.Errorf("%w: CSR has no subject alternative names and its common name %q is not a DNS name", ErrInvalid, cn)
	}
	if dnsErr != nil && ipErr != nil {
		// A CN such as "My Laptop" is common in CSRs made by hand; the
		// certificate's CN must be one of its names, so use the first.
		cn = ""
	}
	req.Subject = Subject{
		CommonName:   cn,
		Organization: strings.Join(csr.Subject.Organization, ", "),
		Country:      strings.Join(csr.Subject.Country, ""),
		Province:     strings.Join(csr.Subject.Province, ", "),
		Locality:     strings.Join(csr.Subject.Locality, ", "),
	}
	return csr, req, nil
}
