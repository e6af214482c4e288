package web

import (
	"net/netip"
	"strconv"
	"strings"

	"certmaker/ca"
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
	req := &ca.Request{}
	var bad []badName
	for _, n := range splitNames(names) {
		if p := nameProblem(n); p != "" {
			bad = append(bad, badName{n, p})
			continue
		}
		switch {
		case strings.Contains(n, "@"):
			req.Emails = append(req.Emails, n)
		default:
			if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(n, "["), "]")); err == nil {
				req.IPs = append(req.IPs, a)
			} else {
				req.DNSNames = append(req.DNSNames, n)
			}
		}
	}
	switch {
	case len(bad) == 1:
		return nil, "", &formError{msg: "This name cannot be used:", field: "names", names: bad}
	case len(bad) > 1:
		return nil, "", &formError{msg: "These " + strconv.Itoa(len(bad)) + " names cannot be used:", field: "names", names: bad}
	case len(req.DNSNames)+len(req.IPs)+len(req.Emails) == 0:
		return nil, "", &formError{msg: "Enter at least one name: a DNS name, an IP address or an email address.", field: "names"}
	}
	if days != "" {
		n, err := strconv.Atoi(days)
		if err != nil {
			return nil, "", &formError{msg: "Days must be a whole number.", field: "days"}
		}
		req.Days = n
	}
	keyType, err := ca.ParseKeyType(kt)
	if err != nil {
		return nil, "", &formError{msg: plain(err), field: "key_type"}
	}
	if err := req.Normalize(); err != nil {
		return nil, "", &formError{msg: plain(err), field: "names"}
	}
	return req, keyType, nil
}

// nameProblem says why one name cannot be used, or "". Whether it can is
// ca's rule (NormalizeDNSName, NormalizeIP, NormalizeEmail); this only puts
// the reason in plain words.
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
	if _, err := ca.NormalizeDNSName(n); err == nil {
		return ""
	} else {
		return dnsProblem(n, err)
	}
}

// dnsProblem words why NormalizeDNSName refused n (err).
func dnsProblem(n string, err error) string {
	name := strings.ToLower(strings.TrimSuffix(n, "."))
	for _, r := range n {
		if r >= 0x80 {
			return "has letters outside a–z: write international names in punycode (xn--…)"
		}
	}
	if len(name) > 253 {
		return "is longer than 253 characters"
	}
	rest := strings.TrimPrefix(name, "*.")
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			if c == '*' {
				return "may have * only as its whole first part, as in *.home.lan"
			}
			return "has a character a name cannot hold: " + strconv.QuoteRune(c) + " (only letters, digits, hyphens and dots)"
		}
	}
	for _, l := range strings.Split(rest, ".") {
		switch {
		case l == "":
			return "has an empty part: two dots in a row, or a dot at the start"
		case len(l) > 63:
			return "has a part longer than 63 characters between dots"
		case l[0] == '-' || l[len(l)-1] == '-':
			return "has a part that starts or ends with a hyphen"
		}
	}
	if _, e := netip.ParseAddr(rest); e == nil {
		return "is an IP address, which cannot be a wildcard"
	}
	if _, e := strconv.Atoi(rest[strings.LastIndexByte(rest, '.')+1:]); e == nil {
		return "ends in a number, so it is neither a DNS name nor an IP address"
	}
	return strings.TrimPrefix(plain(err), "Domain ")
}
