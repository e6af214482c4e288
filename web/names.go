package web

import (
	"net/netip"
	"strconv"
	"strings"

	"certmaker/ca"
	"certmaker/core"
)

// badName is a name from the form that cannot be used, and why.
type badName struct {
	Name    string
	Problem string // a phrase that follows the name: "has a space in it: ..."
}

// formError is what parseRequest finds wrong: a sentence, the field it
// is about, and every bad name.
type formError struct {
	msg   string
	field string
	names []badName
}

// splitNames splits the names field at new lines, commas and semicolons.
// Not at spaces: "my server" is a mistake to point out, not two names.
func splitNames(s string) []string {
	var out []string
	for _, n := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' }) {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// parseRequest reads the form: names (IP addresses and email addresses
// are told apart from DNS names by their syntax), days (empty is the
// default) and the key type. It checks every name, so that one answer
// names all the bad ones, and returns a normalized request or what is
// wrong.
func parseRequest(names, days, kt string) (*ca.Request, ca.KeyType, *formError) {
	sr := core.SimpleRequest{KeyType: kt}
	var bad []badName
	for _, n := range splitNames(names) {
		if p := nameProblem(n); p != "" {
			bad = append(bad, badName{n, p})
			continue
		}
		ip := strings.TrimSuffix(strings.TrimPrefix(n, "["), "]")
		if _, err := netip.ParseAddr(ip); err == nil {
			sr.IPs = append(sr.IPs, ip)
		} else if strings.Contains(n, "@") {
			sr.EmailAddresses = append(sr.EmailAddresses, n)
		} else {
			sr.Domains = append(sr.Domains, n)
		}
	}
	switch {
	case len(bad) == 1:
		return nil, "", &formError{msg: "This name cannot be used:", field: "names", names: bad}
	case len(bad) > 1:
		return nil, "", &formError{msg: "These " + strconv.Itoa(len(bad)) + " names cannot be used:", field: "names", names: bad}
	case len(sr.Domains)+len(sr.IPs)+len(sr.EmailAddresses) == 0:
		return nil, "", &formError{msg: "Enter at least one name: a DNS name, an IP address or an email address.", field: "names"}
	}
	if days != "" {
		n, err := strconv.Atoi(days)
		if err != nil {
			return nil, "", &formError{msg: "Days must be a whole number.", field: "days"}
		}
		sr.Days = n
	}
	// The form's own check of the key type, only to point at the field;
	// the request is the core's simple request, validated by its rules.
	if _, err := ca.ParseKeyType(kt); err != nil {
		return nil, "", &formError{msg: plain(err), field: "key_type"}
	}
	req, keyType, err := sr.Request()
	if err != nil {
		return nil, "", &formError{msg: plain(err), field: "names"}
	}
	return req, keyType, nil
}

// nameProblem says why one name cannot be used, or "". Whether it can is
// ca's rule (NormalizeDNSName, NormalizeIP, NormalizeEmail), and for DNS
// names ca's words too (DNSNameProblem).
func nameProblem(n string) string {
	if strings.ContainsFunc(n, func(r rune) bool { return r == ' ' || r == '\t' }) {
		return "has a space in it: put each name on its own line, or separate names with commas"
	}
	if strings.Contains(n, "@") {
		if _, err := ca.NormalizeEmail(n); err != nil {
			return "is not an email address like name@example.com"
		}
		return ""
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(n, "["), "]")); err == nil {
		if a.Zone() != "" {
			return "has a zone (%" + a.Zone() + "); a certificate holds the address without it"
		}
		return ""
	}
	return ca.DNSNameProblem(n)
}
