package core

import (
	"certmaker/ca"
)

// SimpleRequest is a request with a key the server makes: names, subject,
// days and key type. It is the canonical JSON of the API's simple request
// and what a pending challenge stores (as validated, so that solving
// decodes exactly what was checked), so old stored challenges keep these
// field names.
type SimpleRequest struct {
	Domains        []string      `json:"domains"`
	IPs            []string      `json:"ips"`
	EmailAddresses []string      `json:"email_addresses"`
	Subject        SimpleSubject `json:"subject"`
	Days           int           `json:"days"`
	KeyType        string        `json:"key_type"`
	// MustStaple asks for the TLS Feature status_request (RFC 7633); a
	// CSR asks for it with the extension itself.
	MustStaple bool `json:"must_staple,omitempty"`
}

// SimpleSubject is the subject of a SimpleRequest.
type SimpleSubject struct {
	CommonName    string `json:"common_name"`
	Organization  string `json:"organization"`
	Country       string `json:"country"`
	Province      string `json:"province"`
	Locality      string `json:"locality"`
	StreetAddress string `json:"street_address"`
	PostalCode    string `json:"postal_code"`
}

// Request validates sr and returns the normalized request the authority
// signs and the key type to generate.
func (sr SimpleRequest) Request() (*ca.Request, ca.KeyType, error) {
	kt, err := ca.ParseKeyType(sr.KeyType)
	if err != nil {
		return nil, "", err
	}
	if n := len(sr.Domains) + len(sr.IPs) + len(sr.EmailAddresses); n > ca.MaxRawNames {
		return nil, "", ca.Invalidf("%d names, at most %d per certificate", n, ca.MaxNames)
	}
	req := &ca.Request{
		DNSNames:   sr.Domains,
		Emails:     sr.EmailAddresses,
		Days:       sr.Days,
		Subject:    ca.Subject(sr.Subject),
		MustStaple: sr.MustStaple,
	}
	for _, s := range sr.IPs {
		a, err := ca.NormalizeIP(s)
		if err != nil {
			return nil, "", err
		}
		req.IPs = append(req.IPs, a)
	}
	if err := req.Normalize(); err != nil {
		return nil, "", err
	}
	return req, kt, nil
}

// SimpleFrom is the simple request that gives back the normalized req.
func SimpleFrom(req *ca.Request, kt ca.KeyType) SimpleRequest {
	sr := SimpleRequest{
		Domains:        req.DNSNames,
		EmailAddresses: req.Emails,
		Days:           req.Days,
		KeyType:        string(kt),
		Subject:        SimpleSubject(req.Subject),
		MustStaple:     req.MustStaple,
	}
	for _, ip := range req.IPs {
		sr.IPs = append(sr.IPs, ip.String())
	}
	return sr
}
