package ca

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// NameConstraints limit what a root may certify (RFC 5280 4.2.1.10). A root
// carrying them is safe to trust in a browser: even a stolen root key can
// only sign for the homelab's own names, never for a bank's.
type NameConstraints struct {
	PermittedDNSDomains []string
	ExcludedDNSDomains  []string
	PermittedIPRanges   []netip.Prefix
	ExcludedIPRanges    []netip.Prefix
}

// Empty reports whether there is nothing to constrain.
func (nc NameConstraints) Empty() bool {
	return len(nc.PermittedDNSDomains)+len(nc.ExcludedDNSDomains)+len(nc.PermittedIPRanges)+len(nc.ExcludedIPRanges) == 0
}

// NormalizeConstraintDomain checks a DNS name constraint: a domain such as
// "home.lan" (the domain and everything below it) or ".home.lan" (only
// below it), as Go and RFC 5280 read them.
func NormalizeConstraintDomain(s string) (string, error) {
	sub := strings.HasPrefix(s, ".")
	n, err := NormalizeDNSName(strings.TrimPrefix(s, "."))
	if err != nil || IsWildcard(n) {
		return "", Invalidf("name constraint %q is not a domain such as \"home.lan\"", s)
	}
	if sub {
		return "." + n, nil
	}
	return n, nil
}

// apply writes the constraints into a root template, critical as the
// CA/Browser Forum requires. Email domains follow the DNS constraints so
// that an email SAN cannot escape them either.
func (nc NameConstraints) apply(c *certTemplate) {
	if nc.Empty() {
		return
	}
	c.PermittedDNSDomainsCritical = true
	c.PermittedDNSDomains = nc.PermittedDNSDomains
	c.ExcludedDNSDomains = nc.ExcludedDNSDomains
	c.PermittedEmailAddresses = emailConstraints(nc.PermittedDNSDomains)
	c.ExcludedEmailAddresses = emailConstraints(nc.ExcludedDNSDomains)
	c.PermittedIPRanges = ipNets(nc.PermittedIPRanges)
	c.ExcludedIPRanges = ipNets(nc.ExcludedIPRanges)
}

// emailConstraints turns "home.lan" into the RFC 5280 email forms for the
// host itself and every host below it.
func emailConstraints(domains []string) []string {
	var out []string
	for _, d := range domains {
		if strings.HasPrefix(d, ".") {
			out = append(out, d)
			continue
		}
		out = append(out, d, "."+d)
	}
	return out
}

func ipNets(ps []netip.Prefix) []*net.IPNet {
	out := make([]*net.IPNet, len(ps))
	for i, p := range ps {
		p = p.Masked()
		out[i] = &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
	}
	return out
}

// permits checks a normalized request against the root's own Name
// Constraints extension, so a refused name is a 400 before anything is
// signed rather than a certificate every verifier would reject.
func (r *Issuer) permits(req *Request) error {
	c := r.Cert
	for _, name := range req.DNSNames {
		if err := checkDomain(name, "domain", c.PermittedDNSDomains, c.ExcludedDNSDomains); err != nil {
			return err
		}
	}
	for _, e := range req.Emails {
		host := e[strings.LastIndexByte(e, '@')+1:]
		if err := checkDomain(host, "email address "+e+": domain", c.PermittedDNSDomains, c.ExcludedDNSDomains); err != nil {
			return err
		}
	}
	for _, ip := range req.IPs {
		if len(c.PermittedIPRanges) > 0 && !inRanges(ip, c.PermittedIPRanges) {
			return Invalidf("ip %s is outside the root's permitted ranges %s", ip, rangesString(c.PermittedIPRanges))
		}
		if inRanges(ip, c.ExcludedIPRanges) {
			return Invalidf("ip %s is in a range the root excludes", ip)
		}
	}
	return nil
}

func checkDomain(name, what string, permitted, excluded []string) error {
	// "*.home.lan" stands for names one label below home.lan.
	probe := strings.TrimPrefix(name, "*.")
	if IsWildcard(name) {
		probe = "x." + probe
	}
	if len(permitted) > 0 && !matchesAny(probe, permitted) {
		return Invalidf("%s %q is outside the root's permitted domains %s", what, name, strings.Join(permitted, ", "))
	}
	if matchesAny(probe, excluded) || (IsWildcard(name) && wildcardCovers(name[2:], excluded)) {
		return Invalidf("%s %q is in a domain the root excludes", what, name)
	}
	return nil
}

// wildcardCovers reports whether "*.parent" could stand for an excluded
// name, as verifiers judge it: an exclusion one label below parent.
func wildcardCovers(parent string, excluded []string) bool {
	for _, e := range excluded {
		if strings.HasPrefix(e, ".") {
			continue
		}
		if i := strings.IndexByte(e, '.'); i > 0 && strings.ToLower(e[i+1:]) == parent {
			return true
		}
	}
	return false
}

func matchesAny(name string, constraints []string) bool {
	for _, c := range constraints {
		c = strings.ToLower(c)
		if strings.HasPrefix(c, ".") {
			if strings.HasSuffix(name, c) {
				return true
			}
			continue
		}
		if name == c || strings.HasSuffix(name, "."+c) {
			return true
		}
	}
	return false
}

func inRanges(a netip.Addr, ranges []*net.IPNet) bool {
	for _, r := range ranges {
		if r.Contains(net.IP(a.AsSlice())) {
			return true
		}
	}
	return false
}

func rangesString(ranges []*net.IPNet) string {
	s := make([]string, len(ranges))
	for i, r := range ranges {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// Permits checks a normalized request against the active root's name
// constraints; callers that defer signing (challenges) use it to refuse at
// once what could never be issued.
func (a *Authority) Permits(req *Request) error {
	r := a.Active()
	if r == nil {
		return fmt.Errorf("no active root")
	}
	return r.permits(req)
}
