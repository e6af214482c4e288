package ca

import (
	"net/mail"
	"net/netip"
	"strconv"
	"strings"
)

// NormalizeDNSName lower-cases a DNS name, drops one trailing dot and checks
// its syntax: at most 253 octets, labels of 1 to 63 letters, digits and
// hyphens that neither start nor end with a hyphen, and optionally "*." as
// the whole leftmost label. Single-label names such as "nas" are allowed:
// they are common inside a homelab. A refusal says why in
// DNSNameProblem's words.
func NormalizeDNSName(s string) (string, error) {
	if p := DNSNameProblem(s); p != "" {
		return "", Invalidf("domain %.100q %s", s, p)
	}
	return strings.ToLower(strings.TrimSuffix(s, ".")), nil
}

// DNSNameProblem says why s is not a DNS name NormalizeDNSName accepts, in
// plain words that follow the name ("has an empty part: ..."), or "" when
// it is one. The one wording of the rule: the API's errors and the
// dashboard's list of bad names both say it.
func DNSNameProblem(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			// Checked before lower-casing: strings.ToLower folds some
			// non-ASCII letters into ASCII (U+212A KELVIN SIGN becomes "k"),
			// which would certify a name other than the one asked for.
			return "has letters outside a–z: write international names in punycode (xn--…)"
		}
	}
	name := strings.ToLower(strings.TrimSuffix(s, "."))
	switch {
	case name == "":
		return "is empty"
	case len(name) > 253:
		return "is longer than 253 characters"
	}
	rest := strings.TrimPrefix(name, "*.")
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.':
		case c == '*':
			return "may have * only as its whole first part, as in *.home.lan"
		default:
			return "has a character a name cannot hold: " + strconv.QuoteRune(rune(c)) + " (only letters, digits, hyphens and dots)"
		}
	}
	labels := strings.Split(rest, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return "has an empty part: two dots in a row, or a dot at the start"
		case len(l) > 63:
			return "has a part longer than 63 characters between dots"
		case l[0] == '-' || l[len(l)-1] == '-':
			return "has a part that starts or ends with a hyphen"
		}
	}
	if _, err := netip.ParseAddr(rest); err == nil {
		return "is an IP address, not a DNS name"
	}
	if isAllDigits(labels[len(labels)-1]) {
		return "ends in a number, so it is neither a DNS name nor an IP address"
	}
	return ""
}

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// IsWildcard reports whether a normalized DNS name is a wildcard.
func IsWildcard(name string) bool { return strings.HasPrefix(name, "*.") }

// NormalizeIP parses an IPv4 or IPv6 address in the syntax of Go's net
// package that a host can hold (checkHostIP). Zones ("fe80::1%eth0") have
// no place in a certificate.
func NormalizeIP(s string) (netip.Addr, error) {
	a, err := parseIP(s)
	if err != nil {
		return a, err
	}
	return a, checkHostIP("ip", a)
}

// parseIP is NormalizeIP's syntax alone.
func parseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || s == "" {
		return netip.Addr{}, Invalidf("ip %q is not an IP address", s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, Invalidf("ip %q has a zone", s)
	}
	return a.Unmap(), nil
}

// Blocks of addresses no host holds as its own: "this network" (RFC 1122
// 3.2.1.3: a source address only, 0.0.0.0 among them), the reserved
// 240.0.0.0/4 (RFC 1112 4, the limited broadcast address at its end), and
// the well-known NAT64 prefix (RFC 6052 2.1), whose addresses stand for
// the IPv4 address in their last 32 bits.
var (
	thisNetwork4 = netip.MustParsePrefix("0.0.0.0/8")
	reserved4    = netip.MustParsePrefix("240.0.0.0/4")
	broadcast4   = netip.AddrFrom4([4]byte{255, 255, 255, 255})
	nat64        = netip.MustParsePrefix("64:ff9b::/96")
)

// checkHostIP refuses an address that no host can hold as its own: the
// unspecified address (::) and the rest of "this network" (0.0.0.0/8),
// the reserved 240.0.0.0/4 with the limited broadcast address, multicast
// groups (224.0.0.0/4, ff00::/8), and a NAT64 address of any of them. No
// server answers TLS as them, so a certificate for one proves nothing and
// only confuses. what names the field in the error ("ip",
// "subject.common_name").
func checkHostIP(what string, a netip.Addr) error {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		if v4 := netip.AddrFrom4([4]byte(b[12:])); noHost(v4) != "" {
			return Invalidf("%s %s is the NAT64 address (RFC 6052) of %s, %s", what, a, v4, noHost(v4))
		}
	}
	if why := noHost(a); why != "" {
		return Invalidf("%s %s is %s", what, a, why)
	}
	return nil
}

// noHost says why no host holds a, or "" if one may.
func noHost(a netip.Addr) string {
	switch {
	case a == broadcast4:
		return "the broadcast address, which no host holds"
	case a.IsUnspecified():
		return "the unspecified address, which no host holds"
	case thisNetwork4.Contains(a):
		return `in 0.0.0.0/8, "this network" (RFC 1122), which no host holds`
	case reserved4.Contains(a):
		return "in the reserved 240.0.0.0/4, which no host holds"
	case a.IsMulticast():
		return "a multicast group, which no host holds"
	}
	return ""
}

// NormalizeEmail checks a bare address (no display name) whose domain is a
// valid DNS name, and lower-cases the domain.
func NormalizeEmail(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", Invalidf("email address %q is not a bare address like name@example.com", s)
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	d, err := NormalizeDNSName(domain)
	if err != nil || IsWildcard(d) {
		return "", Invalidf("email address %q has an invalid domain", s)
	}
	for i := 0; i < len(local); i++ {
		if local[i] >= 0x80 {
			// rfc822Name SANs are IA5String: ASCII only.
			return "", Invalidf("email address %q is not ASCII", s)
		}
	}
	return local + "@" + d, nil
}
