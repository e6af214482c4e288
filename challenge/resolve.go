package challenge

import (
	"context"
	"fmt"
	"net/netip"
)

// lookup returns the addresses of a normalized name: from Hosts if listed
// there (even with no addresses), else from the resolver.
func (c *Checker) lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	if addrs, ok := c.hosts[name]; ok {
		return addrs, nil
	}
	addrs, err := c.resolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return nil, err
	}
	// An IPv4 address in IPv6 form must meet the IPv4 denied networks.
	// Copied: the resolver may hand out a slice it keeps.
	out := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		out[i] = a.Unmap()
	}
	return out, nil
}

// refuse says why the checker must not connect to a, or "" if it may.
func (c *Checker) refuse(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid address"
	}
	// Prefix.Contains never matches a zoned address; the zone must not
	// let an address slip past a denied network.
	check := []netip.Addr{a.WithZone("")}
	if v4, ok := NAT64IPv4(a); ok {
		// A NAT64 gateway carries the connection on to v4, so v4 must
		// meet the IPv4 denied networks too.
		check = append(check, v4)
	}
	for _, b := range check {
		switch {
		case b.IsUnspecified():
			return fmt.Sprintf("address %s is unspecified", a)
		case b.IsMulticast():
			return fmt.Sprintf("address %s is multicast", a)
		}
		for _, p := range c.denied {
			if p.Contains(b) {
				return fmt.Sprintf("address %s is in a denied network", a)
			}
		}
	}
	return ""
}

// nat64Prefix is the well-known NAT64 prefix (RFC 6052), which embeds an
// IPv4 address in its last 32 bits.
var nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")

// NAT64IPv4 returns the IPv4 address a NAT64 address (64:ff9b::/96)
// stands for: where a NAT64 gateway carries a connection to it.
func NAT64IPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() || !nat64Prefix.Contains(a.WithZone("")) {
		return netip.Addr{}, false
	}
	b := a.As16()
	return netip.AddrFrom4([4]byte(b[12:])), true
}

// normalizeHosts copies a Config.Hosts map with normalized names and
// unmapped addresses.
func normalizeHosts(in map[string][]netip.Addr) (map[string][]netip.Addr, error) {
	out := make(map[string][]netip.Addr, len(in))
	for name, addrs := range in {
		key := normalizeName(name)
		if key == "" {
			return nil, fmt.Errorf("hosts: empty name")
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("hosts: %q is listed twice", key)
		}
		clean := make([]netip.Addr, len(addrs))
		for i, a := range addrs {
			if !a.IsValid() {
				return nil, fmt.Errorf("hosts: %q has an invalid address", name)
			}
			clean[i] = a.Unmap()
		}
		out[key] = clean
	}
	return out, nil
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix into the IPv4 prefix it
// means, because addresses are unmapped before they are compared.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}
