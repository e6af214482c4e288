package ca

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"certmaker/internal/detailed"
)

// ErrInvalid marks a request that certmaker refuses for what it asks; the
// message says which value and why.
var ErrInvalid = errors.New("invalid request")

// Invalidf is an ErrInvalid whose message says, formatted as fmt.Sprintf,
// what is wrong: for the callers of ca that refuse requests by its rules.
func Invalidf(format string, args ...any) error {
	return detailed.Errorf(ErrInvalid, format, args...)
}

// ErrUnknownRoot is returned for a root fingerprint certmaker never had.
var ErrUnknownRoot = errors.New("unknown root")

// ErrWrongKey is a key given for a root that is not that root's.
var ErrWrongKey = errors.New("wrong key")

// ErrRootOffline is an operation that needs a root's key while it is kept
// off the server.
var ErrRootOffline = errors.New("the root key is offline")

// MaxNames bounds the names in one certificate, as public CAs do; a
// certificate with thousands of SANs helps nobody and costs everybody.
const MaxNames = 100

// MaxRawNames bounds the names a request may list before duplicates are
// dropped, so that the work done on a request stays small however large
// its body.
const MaxRawNames = 10 * MaxNames

// Subject holds the subject fields a request may set. Empty fields are left out.
type Subject struct {
	CommonName    string
	Organization  string
	Country       string
	Province      string
	Locality      string
	StreetAddress string
	PostalCode    string
}

// Request is what a certificate should say. Build it from user input and
// call Normalize before signing.
type Request struct {
	DNSNames []string
	IPs      []netip.Addr
	Emails   []string
	Subject  Subject
	// Days of validity; 0 means the authority's default, anything else is
	// clamped to its bounds.
	Days int
	// MustStaple asks for the TLS Feature extension with status_request
	// (RFC 7633): clients then insist on a stapled OCSP answer.
	MustStaple bool
}

// Names lists every DNS name and IP address, the identifiers a challenge
// must prove.
func (r *Request) Names() []string {
	out := slices.Clone(r.DNSNames)
	for _, ip := range r.IPs {
		out = append(out, ip.String())
	}
	return out
}

// Normalize validates and canonicalizes the request in place: names are
// lower-cased and de-duplicated, the common name defaults to the first name
// and must be one of the names, and subject fields must fit X.509.
func (r *Request) Normalize() error {
	// Counted before any work: de-duplication and syntax checks are cheap
	// per name, but a body or CSR may carry thousands.
	if n := len(r.DNSNames) + len(r.IPs) + len(r.Emails); n > MaxRawNames {
		return Invalidf("%d names, at most %d per certificate", n, MaxNames)
	}
	seen := make(map[string]struct{}, len(r.DNSNames)+len(r.IPs)+len(r.Emails))
	first := func(key string) bool {
		if _, dup := seen[key]; dup {
			return false
		}
		seen[key] = struct{}{}
		return true
	}
	var dns []string
	for _, d := range r.DNSNames {
		n, err := NormalizeDNSName(d)
		if err != nil {
			return err
		}
		if first("d:" + n) {
			dns = append(dns, n)
		}
	}
	var ips []netip.Addr
	for _, a := range r.IPs {
		if !a.IsValid() || a.Zone() != "" {
			return Invalidf("ip %q is not an IP address", a.String())
		}
		a = a.Unmap()
		if err := checkHostIP("ip", a); err != nil {
			return err
		}
		if first("i:" + a.String()) {
			ips = append(ips, a)
		}
	}
	var emails []string
	for _, e := range r.Emails {
		n, err := NormalizeEmail(e)
		if err != nil {
			return err
		}
		if first("e:" + n) {
			emails = append(emails, n)
		}
	}
	if err := r.Subject.check(); err != nil {
		return err
	}
	if cn := r.Subject.CommonName; cn != "" {
		// parseIP, not netip.ParseAddr: a zone ("fe80::1%eth0") would
		// slip past the checks on IPs above.
		if a, err := parseIP(cn); err == nil {
			if err := checkHostIP("subject.common_name", a); err != nil {
				return err
			}
			if !slices.Contains(ips, a) {
				ips = append(ips, a)
			}
			r.Subject.CommonName = a.String()
		} else if n, err := NormalizeDNSName(cn); err == nil {
			if !slices.Contains(dns, n) {
				dns = append(dns, n)
			}
			r.Subject.CommonName = n
		} else {
			return Invalidf("subject.common_name %q must be a DNS name or IP address (it is added to the names)", cn)
		}
	}
	if len(dns)+len(ips)+len(emails) == 0 {
		return Invalidf("at least one domain, IP address or email address is required")
	}
	if n := len(dns) + len(ips) + len(emails); n > MaxNames {
		return Invalidf("%d names, at most %d per certificate", n, MaxNames)
	}
	if r.Subject.CommonName == "" {
		r.Subject.CommonName = defaultCommonName(dns, ips)
	}
	r.DNSNames, r.IPs, r.Emails = dns, ips, emails
	return nil
}

// maxCommonName is ub-common-name (RFC 5280 appendix A).
const maxCommonName = 64

// defaultCommonName is the first DNS name that fits in a common name, else
// the first IP address, else empty: a DNS name may be 253 characters long,
// and such a name stays a SAN without becoming the CN.
func defaultCommonName(dns []string, ips []netip.Addr) string {
	for _, n := range dns {
		if len(n) <= maxCommonName {
			return n
		}
	}
	if len(ips) > 0 {
		return ips[0].String()
	}
	return ""
}

// check enforces the X.509 upper bounds (RFC 5280 appendix A) and a
// two-letter country, and refuses characters that would make a subject
// unreadable or misleading: control, format, line-breaking,
// default-ignorable and private-use ones.
func (s *Subject) check() error {
	fields := []struct {
		name, value string
		max         int
	}{
		{"common_name", s.CommonName, maxCommonName},
		{"organization", s.Organization, 64},
		{"country", s.Country, 2},
		{"province", s.Province, 128},
		{"locality", s.Locality, 128},
		{"street_address", s.StreetAddress, 128},
		{"postal_code", s.PostalCode, 40},
	}
	for _, f := range fields {
		if !utf8.ValidString(f.value) {
			return Invalidf("subject.%s is not valid UTF-8", f.name)
		}
		if utf8.RuneCountInString(f.value) > f.max {
			return Invalidf("subject.%s is longer than %d characters", f.name, f.max)
		}
		if strings.TrimSpace(f.value) != f.value {
			return Invalidf("subject.%s has leading or trailing white space", f.name)
		}
		for _, c := range f.value {
			if unicode.IsControl(c) {
				return Invalidf("subject.%s contains a control character", f.name)
			}
			if what := unreadable(c); what != "" {
				return Invalidf("subject.%s contains %s (%U)", f.name, what, c)
			}
		}
	}
	if s.Country != "" {
		c := strings.ToUpper(s.Country)
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			return Invalidf("subject.country %q must be a two-letter ISO 3166 code such as \"DE\"", s.Country)
		}
		s.Country = c
	}
	return nil
}

// unreadable says why c would make a subject read differently from what
// it holds, or "" when c may stand in one.
func unreadable(c rune) string {
	switch {
	case unicode.Is(unicode.Cf, c):
		// U+202E RIGHT-TO-LEFT OVERRIDE, zero-width joiners, U+FEFF.
		return "an invisible format character"
	case unicode.In(c, unicode.Zl, unicode.Zp):
		return "a line or paragraph separator"
	case defaultIgnorable(c):
		// U+034F, the Hangul fillers (U+3164...), variation selectors.
		return "a default-ignorable character, which is shown as nothing"
	case unicode.Is(unicode.Co, c):
		return "a private-use character, which shows whatever a font puts there"
	}
	return ""
}

// defaultIgnorable is Unicode's Default_Ignorable_Code_Point, which Go's
// unicode package has no table for. It is derived as the standard derives
// it (DerivedCoreProperties.txt, Unicode 15):
//
//	Other_Default_Ignorable_Code_Point + Cf + Variation_Selector
//	- White_Space - FFF9..FFFB (interlinear annotation format characters)
//	- 13430..1343F (Egyptian hieroglyph format controls)
//	- Prepended_Concatenation_Mark
//
// from the property tables the unicode package does have. The Cf members
// it leaves out are refused as Cf anyway.
func defaultIgnorable(c rune) bool {
	if !unicode.In(c, unicode.Other_Default_Ignorable_Code_Point, unicode.Cf, unicode.Variation_Selector) {
		return false
	}
	switch {
	case unicode.In(c, unicode.White_Space, unicode.Prepended_Concatenation_Mark),
		c >= 0xFFF9 && c <= 0xFFFB,
		c >= 0x13430 && c <= 0x1343F:
		return false
	}
	return true
}

func (s Subject) name() pkix.Name {
	var n pkix.Name
	n.CommonName = s.CommonName
	add := func(dst *[]string, v string) {
		if v != "" {
			*dst = []string{v}
		}
	}
	add(&n.Organization, s.Organization)
	add(&n.Country, s.Country)
	add(&n.Province, s.Province)
	add(&n.Locality, s.Locality)
	add(&n.StreetAddress, s.StreetAddress)
	add(&n.PostalCode, s.PostalCode)
	return n
}

// encode is the subject as a DER Name, as x509.CreateCertificate encodes a
// template's; an empty SEQUENCE when it has no fields.
func (s Subject) encode() ([]byte, error) {
	if s == (Subject{}) {
		return []byte{0x30, 0x00}, nil
	}
	return asn1.Marshal(s.name().ToRDNSequence())
}
