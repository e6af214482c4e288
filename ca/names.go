package ca

import (
	"fmt"
	"net/mail"
	"net/netip"
	"strings"
)

// NormalizeDNSName lower-cases a DNS name, drops one trailing dot and checks
// its syntax: at most 253 octets, labels of 1 to 63 letters, digits and
// hyphens that neither start nor end with a hyphen, and optionally "*." as
// the whole leftmost label. Single-label names such as "nas" are allowed:
// they are common inside a homelab.
func NormalizeDNSName(s string) (string, error) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			// Checked before lower-casing: strings.ToLower folds some
			// non-ASCII letters into ASCII (U+212A KELVIN SIGN becomes "k"),
			// which would certify a name other than the one asked for.
			return "", fmt.Errorf("%w: domain %q is not ASCII (use punycode for international names)", ErrInvalid, s)
		}
	}
	name := strings.ToLower(strings.TrimSuffix(s, "."))
	if name == "" {
		return "", fmt.Errorf("%w: domain %q is empty", ErrInvalid, s)
	}
	if len(name) > 253 {
		return "", fmt.Errorf("%w: domain %.40q... is longer than 253 characters", ErrInvalid, s)
	}
	rest := name
	if strings.HasPrefix(rest, "*.") {
		rest = rest[2:]
	}
	labels := strings.Split(rest, ".")
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return "", fmt.Errorf("%w: domain %q: %s", ErrInvalid, s, err)
		}
	}
	if _, err := netip.ParseAddr(rest); err == nil {
		return "", fmt.Errorf("%w: domain %q is an IP address (put it in \"ips\")", ErrInvalid, s)
	}
	if isAllDigits(labels[len(labels)-1]) {
		return "", fmt.Errorf("%w: domain %q has an all-numeric top-level label", ErrInvalid, s)
	}
	return name, nil
}

func checkLabel(l string) error {
	if l == "" {
		return fmt.Errorf("empty label")
	}
	if len(l) > 63 {
		return fmt.Errorf("label longer than 63 characters")
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Errorf("label %q starts or ends with a hyphen", l)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("character %q not allowed (letters, digits and hyphens; use punycode for international names)", c)
		}
	}
	return nil
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
	return a, checkHostIP(a)
}

// parseIP is NormalizeIP's syntax alone.
func parseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || s == "" {
		return netip.Addr{}, fmt.Errorf("%w: ip %q is not an IP address", ErrInvalid, s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%w: ip %q has a zone", ErrInvalid, s)
	}
	return a.Unmap(), nil
}

// broadcast4 is the limited broadcast address.
var broadcast4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// checkHostIP refuses an address that no host can hold as its own: the
// unspecified address (0.0.0.0, ::), the limited broadcast address and
// multicast groups (224.0.0.0/4, ff00::/8). No server answers TLS as
// them, so a certificate for one proves nothing and only confuses.
func checkHostIP(a netip.Addr) error {
	a = a.Unmap()
	switch {
	case a.IsUnspecified():
		return fmt.Errorf("%w: ip %s is the unspecified address, which no host holds", ErrInvalid, a)
	case a == broadcast4:
		return fmt.Errorf("%w: ip %s is the broadcast address, which no host holds", ErrInvalid, a)
	case a.IsMulticast():
		return fmt.Errorf("%w: ip %s is a multicast group, which no host holds", ErrInvalid, a)
	}
	return nil
}

// NormalizeEmail checks a bare address (no display name) whose domain is a
// valid DNS name, and lower-cases the domain.
func NormalizeEmail(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("%w: email address %q is not a bare address like name@example.com", ErrInvalid, s)
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	d, err := NormalizeDNSName(domain)
	if err != nil || IsWildcard(d) {
		return "", fmt.Errorf("%w: email address %q has an invalid domain", ErrInvalid, s)
	}
	for i := 0; i < len(local); i++ {
		if local[i] >= 0x80 {
			// rfc822Name SANs are IA5String: ASCII only.
			return "", fmt.Errorf("%w: email address %q is not ASCII", ErrInvalid, s)
		}
	}
	return local + "@" + d, nil
}
