package ca

import (
	"crypto/x509"
	"encoding/asn1"
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
	if req.MustStaple, err = requestsMustStaple(csr); err != nil {
		return nil, nil, err
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

// OIDTLSFeature is the TLS Feature extension (RFC 7633), through which a
// CSR asks for must-staple (certbot --must-staple, uacme -m).
var OIDTLSFeature = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}

// tlsFeatureStatusRequest is the one TLS feature certmaker honours:
// status_request (RFC 6066), a stapled OCSP answer, which its own OCSP
// responder gives.
const tlsFeatureStatusRequest = 5

// requestsMustStaple reports whether the CSR asks for the TLS Feature
// status_request. A feature asked for is never dropped: any other, or a
// malformed extension, refuses the CSR.
func requestsMustStaple(csr *x509.CertificateRequest) (bool, error) {
	found := false
	for _, e := range csr.Extensions {
		if !e.Id.Equal(OIDTLSFeature) {
			continue
		}
		if found {
			return false, Invalidf("the CSR asks for the TLS Feature extension twice")
		}
		found = true
		var features []int
		if rest, err := asn1.Unmarshal(e.Value, &features); err != nil || len(rest) > 0 || len(features) == 0 {
			return false, Invalidf("the CSR's TLS Feature extension is malformed")
		}
		for _, f := range features {
			if f != tlsFeatureStatusRequest {
				return false, Invalidf("the CSR asks for TLS feature %d; only status_request (5, must-staple) is supported", f)
			}
		}
	}
	return found, nil
}
