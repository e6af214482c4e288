package ca

import (
	"crypto/x509"
	"encoding/pem"
	"net/netip"
	"slices"
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
		return nil, nil, Invalidf("body is not a PEM CSR")
	}
	if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
		return nil, nil, Invalidf("PEM block is %q, want \"CERTIFICATE REQUEST\"", block.Type)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, nil, Invalidf("CSR does not parse: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, nil, Invalidf("CSR signature does not verify: %v", err)
	}
	if _, err := KeyTypeOf(csr.PublicKey); err != nil {
		return nil, nil, Invalidf("%v", err)
	}
	if len(csr.URIs) > 0 {
		return nil, nil, Invalidf("URI names are not supported")
	}
	req := &Request{
		DNSNames: csr.DNSNames,
		Emails:   csr.EmailAddresses,
	}
	for _, ip := range csr.IPAddresses {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			return nil, nil, Invalidf("CSR IP address %v is malformed", ip)
		}
		req.IPs = append(req.IPs, a.Unmap())
	}
	cn := csr.Subject.CommonName
	if len(req.DNSNames)+len(req.IPs)+len(req.Emails) == 0 {
		if _, err := NormalizeDNSName(cn); err != nil {
			return nil, nil, Invalidf("CSR has no subject alternative names and its common name %q is not a DNS name", cn)
		}
		req.DNSNames = []string{cn}
	} else if !commonNameInSANs(cn, req) {
		// With SANs, the names are the SANs. A CN outside them, such as
		// "My Laptop" or a person's name, is dropped rather than added
		// as a name; Normalize then uses the first SAN.
		cn = ""
	}
	if len(cn) > maxCommonName {
		// Too long for a CN (RFC 5280 ub-common-name); it stays a SAN.
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

// commonNameInSANs reports whether cn, normalized, is one of req's DNS
// names or IP addresses.
func commonNameInSANs(cn string, req *Request) bool {
	if a, err := parseIP(cn); err == nil {
		return slices.Contains(req.IPs, a)
	}
	n, err := NormalizeDNSName(cn)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(req.DNSNames, func(d string) bool {
		m, err := NormalizeDNSName(d)
		return err == nil && m == n
	})
}
