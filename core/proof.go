package core

import (
	"fmt"
	"slices"
	"strings"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/storage"
)

// Proof is how a request of the API or the dashboard proves its names
// when challenges are required: the token served over HTTP from each name
// (the seed's challenge, the default), or published as the TXT record at
// _acme-challenge.<name> (the only way to prove a wildcard). ACME orders
// offer their own challenge types per identifier.
type Proof string

// The proofs a request may ask for.
const (
	ProofHTTP Proof = "http"
	ProofDNS  Proof = "dns"

	// proofAny is an ACME order's: each identifier is offered every
	// challenge type that can prove it (acmeauthz.go).
	proofAny Proof = "any"
)

// ParseProof reads a request's choice of proof: "" is HTTP.
func ParseProof(s string) (Proof, error) {
	switch p := Proof(strings.ToLower(strings.TrimSpace(s))); p {
	case "", ProofHTTP:
		return ProofHTTP, nil
	case ProofDNS:
		return p, nil
	}
	return "", invalidf("challenge %.20q: want \"http\" or \"dns\"", s)
}

// check refuses a proof a door did not parse; "" is HTTP.
func (p Proof) check() error {
	switch p {
	case "", ProofHTTP, ProofDNS:
		return nil
	}
	return invalidf("unknown proof %.20q", p)
}

// proofOf is the proof a stored challenge asks for.
func proofOf(ch storage.Challenge) Proof {
	if ch.Proof == string(ProofDNS) {
		return ProofDNS
	}
	return ProofHTTP
}

// DNSRecord is a TXT record that proves a name: Value published at Name.
type DNSRecord struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// DNSRecords are the TXT records that prove req's DNS names with a DNS
// proof whose token is token: the token itself at _acme-challenge.<name>
// of each name (a wildcard's base name), once per record name, in the
// request's order; names never checked (localhost) need none.
func DNSRecords(req *ca.Request, token string) []DNSRecord {
	var out []DNSRecord
	for _, n := range req.DNSNames {
		if challenge.Exempt(n) {
			continue
		}
		r := DNSRecord{Name: challenge.DNSName(n), Value: token}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// provable refuses a request whose names proof cannot prove: a wildcard
// over HTTP (only DNS proves a wildcard's base name), an IP address with
// DNS, or an email address whose domain is not one of the request's own
// DNS names proven in the same challenge (an exempt name such as localhost
// is never fetched, so it proves no address under it; a parent of a
// proven name is not proven by it, and neither is a wildcard's base name).
// A check with nothing to check must never pass, so a request made only
// of email addresses is refused too.
func provable(req *ca.Request, proof Proof) error {
	for _, d := range req.DNSNames {
		if ca.IsWildcard(d) && proof == ProofHTTP {
			return fmt.Errorf("%w: domain %q: a wildcard name can only be proven with a DNS challenge", ca.ErrInvalid, d)
		}
	}
	if proof == ProofDNS {
		for _, ip := range req.IPs {
			return fmt.Errorf("%w: ip %q: an IP address cannot be proven with a DNS challenge; ask for it with an HTTP challenge", ca.ErrInvalid, ip)
		}
	}
	for _, e := range req.Emails {
		domain := e[strings.LastIndexByte(e, '@')+1:]
		if challenge.Exempt(domain) {
			return fmt.Errorf("%w: email address %q: with challenges required, an email address is granted only with its domain proven, and %q is never checked", ca.ErrInvalid, e, domain)
		}
		if !slices.Contains(req.DNSNames, domain) {
			return fmt.Errorf("%w: email address %q: with challenges required, an email address is granted only with its domain %q among the request's domains, proven in the same challenge", ca.ErrInvalid, e, domain)
		}
	}
	if len(req.DNSNames)+len(req.IPs) == 0 {
		return fmt.Errorf("%w: with challenges required, a request needs at least one domain or IP address to prove", ca.ErrInvalid)
	}
	return nil
}
