package challenge

import (
	"net/netip"
	"strings"
)

var loopback4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// Exempt reports whether an identifier is never validated: "localhost",
// "127.0.0.1" and "::1", in any equivalent spelling ("LOCALHOST",
// "localhost.", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"). Other loopback
// addresses such as 127.0.0.2 are checked like any other.
func Exempt(identifier string) bool {
	if normalizeName(identifier) == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(identifier)
	if err != nil || a.Zone() != "" {
		return false
	}
	a = a.Unmap()
	return a == loopback4 || a == netip.IPv6Loopback()
}

// normalizeName makes names comparable: DNS is case-insensitive and a
// trailing dot only marks the name as fully qualified.
func normalizeName(s string) string {
	return strings.ToLower(strings.TrimSuffix(s, "."))
}
