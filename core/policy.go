package core

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/storage"
)

// A user's issuance policy (storage.Policy) says what that user may ask
// for, on top of what the CA allows anyone (its name constraints, its
// validity bounds, its key types); every door's request meets it here
// (policycheck.go), before any challenge or key is made.
//
// One syntax serves allow and deny rules (docs/policies.md):
//
//	nas.home.lan     that name alone
//	.home.lan        every name below home.lan, at any depth (not home.lan)
//	*.home.lan       every name one label below home.lan, and the
//	                 wildcard *.home.lan itself
//	192.168.0.0/16   every address in the range; 192.168.1.20 is one
//	@home.lan        every email address at home.lan
//	@.home.lan       every email address at a domain below home.lan
//	ops@home.lan     that address alone, its local part in any case
//
// A NAT64 address (64:ff9b::10.0.0.5) is denied by the rules that deny
// the IPv4 address it reaches, and allowed only by a rule for itself.
// A wildcard request (*.lab.home.lan) stands for every name one label
// below lab.home.lan: it is allowed by a rule that allows all of them
// (*.lab.home.lan, .lab.home.lan, .home.lan; not *.home.lan, which allows
// one label below home.lan only), and denied by a rule that denies any of
// them (vault.lab.home.lan denies it). A deny rule beats every allow rule.
// Without allow rules, everything the CA allows is allowed; with any, only
// what they allow, of every kind of name: a policy that allows
// nas.home.lan allows no IP address and no email address.

// The challenge settings of a policy: the CA's ([challenge] required),
// or the user's own either way.
const (
	ChallengeDefault  = ""
	ChallengeRequired = "required"
	ChallengeOptional = "optional"
)

// maxRules bounds each list of a policy: it is read on every request.
const maxRules = 100

type ruleKind int

const (
	ruleName        ruleKind = iota // nas.home.lan
	ruleBelow                       // .home.lan
	ruleOneBelow                    // *.home.lan
	ruleRange                       // 192.168.0.0/16, 192.168.1.20
	ruleEmail                       // ops@home.lan
	ruleEmailDomain                 // @home.lan
	ruleEmailBelow                  // @.home.lan
)

// rule is one parsed allow or deny rule.
type rule struct {
	kind ruleKind
	text string // canonical
	// name is the DNS name of a DNS rule without its "." or "*." (home.lan),
	// an email rule's address or domain.
	name   string
	prefix netip.Prefix
}

// parseRule reads one rule in the syntax above and returns it with its
// canonical text (lower case, a range with its host bits clear).
func parseRule(s string) (rule, error) {
	bad := func(format string, args ...any) (rule, error) {
		return rule{}, invalidf("policy rule %.100q: "+format, append([]any{s}, args...)...)
	}
	switch {
	case s == "":
		return bad("empty")
	case strings.Contains(s, "@"):
		return parseEmailRule(s)
	case strings.Contains(s, "/"):
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Zone() != "" {
			return bad("not an IP range such as 192.168.0.0/16")
		}
		if p.Addr().Is4In6() && p.Bits() < 96 {
			return bad("not an IP range such as 192.168.0.0/16")
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr()))
		if p.Masked() != p {
			return bad("has bits set after the prefix: did you mean %s?", p.Masked())
		}
		return rule{kind: ruleRange, text: p.String(), prefix: p}, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return bad("an address with a zone names no certificate's address")
		}
		a = a.Unmap()
		return rule{kind: ruleRange, text: a.String(), prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	kind, prefix := ruleName, ""
	switch {
	case strings.HasPrefix(s, "."):
		kind, prefix = ruleBelow, "."
	case strings.HasPrefix(s, "*."):
		kind, prefix = ruleOneBelow, "*."
	}
	rest := s[len(prefix):]
	if p := ca.DNSNameProblem(rest); p != "" || strings.Contains(rest, "*") {
		if p == "" {
			p = "may have * only as its whole first part"
		}
		return bad("%s", p)
	}
	n := strings.ToLower(strings.TrimSuffix(rest, "."))
	return rule{kind: kind, text: prefix + n, name: n}, nil
}

// unmapBits is how many bits of a range's length an IPv4-mapped address
// adds (::ffff:10.0.0.0/104 is 10.0.0.0/8).
func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

func parseEmailRule(s string) (rule, error) {
	if domain, ok := strings.CutPrefix(s, "@"); ok {
		kind := ruleEmailDomain
		if d, below := strings.CutPrefix(domain, "."); below {
			kind, domain = ruleEmailBelow, d
		}
		n, err := ca.NormalizeDNSName(domain)
		if err != nil || ca.IsWildcard(n) {
			return rule{}, invalidf("policy rule %.100q: %q is not a domain such as home.lan", s, domain)
		}
		text := "@" + n
		if kind == ruleEmailBelow {
			text = "@." + n
		}
		return rule{kind: kind, text: text, name: n}, nil
	}
	n, err := ca.NormalizeEmail(s)
	if err != nil {
		return rule{}, invalidf("policy rule %.100q: not an email address, nor @domain for every address at a domain", s)
	}
	return rule{kind: ruleEmail, text: n, name: n}, nil
}

// identifier is one name a request asks for: a DNS name (perhaps a
// wildcard), an IP address or an email address, normalized.
type identifier struct {
	text string
	ip   netip.Addr // valid for an IP address
	mail bool
}

// covers reports whether r allows every name id stands for.
func (r rule) covers(id identifier) bool {
	switch {
	case id.ip.IsValid():
		return r.kind == ruleRange && r.prefix.Contains(id.ip)
	case id.mail:
		return r.matchesEmail(id.text)
	}
	parent, wildcard := strings.CutPrefix(id.text, "*.")
	if wildcard {
		switch r.kind {
		case ruleBelow:
			return parent == r.name || below(parent, r.name)
		case ruleOneBelow:
			return parent == r.name
		}
		return false
	}
	return r.matchesName(id.text)
}

// touches reports whether r matches any name id stands for: a wildcard is
// denied if any name it stands for is.
func (r rule) touches(id identifier) bool {
	if parent, wildcard := strings.CutPrefix(id.text, "*."); wildcard && r.kind == ruleName {
		return oneBelow(r.name, parent)
	}
	return r.covers(id)
}

// matchesName is a DNS rule applied to a name that is not a wildcard.
func (r rule) matchesName(n string) bool {
	switch r.kind {
	case ruleName:
		return n == r.name
	case ruleBelow:
		return below(n, r.name)
	case ruleOneBelow:
		return oneBelow(n, r.name)
	}
	return false
}

// matchesEmail is an email rule applied to a normalized address (its
// domain in lower case). A local part is compared in any case: mail
// servers deliver Ops@ and ops@ to one mailbox, so a deny of one must
// refuse the other.
func (r rule) matchesEmail(addr string) bool {
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	switch r.kind {
	case ruleEmail:
		return strings.EqualFold(addr, r.name)
	case ruleEmailDomain:
		return domain == r.name
	case ruleEmailBelow:
		return below(domain, r.name)
	}
	return false
}

// below reports whether n is a name under parent, at any depth.
func below(n, parent string) bool { return strings.HasSuffix(n, "."+parent) }

// oneBelow reports whether n is exactly one label under parent.
func oneBelow(n, parent string) bool {
	return below(n, parent) && !strings.Contains(n[:len(n)-len(parent)-1], ".")
}

// policy is a storage.Policy parsed, as a request is checked against it.
type policy struct {
	stored      storage.Policy
	allow, deny []rule
	keyTypes    []ca.KeyType
}

// compilePolicy parses a stored (or proposed) policy; an error names the
// first rule or value it cannot use.
func compilePolicy(p storage.Policy) (*policy, error) {
	c := &policy{stored: p}
	for _, list := range []struct {
		what  string
		texts []string
		into  *[]rule
	}{{"allow", p.Allow, &c.allow}, {"deny", p.Deny, &c.deny}} {
		if len(list.texts) > maxRules {
			return nil, invalidf("%d %s rules, at most %d", len(list.texts), list.what, maxRules)
		}
		for _, t := range list.texts {
			r, err := parseRule(t)
			if err != nil {
				return nil, err
			}
			*list.into = append(*list.into, r)
		}
	}
	for _, t := range p.KeyTypes {
		if t == "" {
			return nil, invalidf("an empty key type")
		}
		kt, err := ca.ParseKeyType(t)
		if err != nil {
			return nil, invalidf("key type %.40q: want one of %s", t, joinKeyTypes(ca.KeyTypes()))
		}
		c.keyTypes = append(c.keyTypes, kt)
	}
	switch p.Challenge {
	case ChallengeDefault, ChallengeRequired, ChallengeOptional:
	default:
		return nil, invalidf("challenge %.40q: want required, optional or default", p.Challenge)
	}
	if p.MaxDays < 0 {
		return nil, invalidf("max days %d: want a number of days, or 0 for the CA's maximum", p.MaxDays)
	}
	return c, nil
}

// NormalizePolicy checks p and returns it in canonical form: each rule
// as the syntax above writes it, each list without repeats, in the
// order given.
func NormalizePolicy(p storage.Policy) (storage.Policy, error) {
	c, err := compilePolicy(p)
	if err != nil {
		return storage.Policy{}, err
	}
	out := storage.Policy{MaxDays: p.MaxDays, Challenge: p.Challenge}
	for _, r := range c.allow {
		out.Allow = appendNew(out.Allow, r.text)
	}
	for _, r := range c.deny {
		out.Deny = appendNew(out.Deny, r.text)
	}
	for _, kt := range c.keyTypes {
		out.KeyTypes = appendNew(out.KeyTypes, string(kt))
	}
	return out, nil
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// refusal is one name a policy refuses, and the rule that denies it (""
// when no allow rule allows it).
type refusal struct {
	name   string
	denyBy string
}

// refuses lists every name of req that p refuses, in the request's order.
// A NAT64 address (64:ff9b::/96) also meets the deny rules as the IPv4
// address it reaches (challenge.NAT64IPv4), as the challenge checker
// judges where it may connect; only a rule for the IPv6 address itself,
// the certificate's, allows it.
func (p *policy) refuses(req *ca.Request) []refusal {
	var out []refusal
	check := func(id identifier) {
		denied := []identifier{id}
		if v4, ok := challenge.NAT64IPv4(id.ip); ok {
			denied = append(denied, identifier{text: v4.String(), ip: v4})
		}
		for _, r := range p.deny {
			for _, d := range denied {
				if r.touches(d) {
					out = append(out, refusal{name: id.text, denyBy: r.text})
					return
				}
			}
		}
		if len(p.allow) == 0 {
			return
		}
		for _, r := range p.allow {
			if r.covers(id) {
				return
			}
		}
		out = append(out, refusal{name: id.text})
	}
	for _, d := range req.DNSNames {
		check(identifier{text: d})
	}
	for _, ip := range req.IPs {
		check(identifier{text: ip.String(), ip: ip.Unmap()})
	}
	for _, e := range req.Emails {
		check(identifier{text: e, mail: true})
	}
	return out
}

// allowsKey reports whether the policy allows keys of type kt.
func (p *policy) allowsKey(kt ca.KeyType) bool {
	return len(p.keyTypes) == 0 || slices.Contains(p.keyTypes, kt)
}

// PolicyError is a request a user's policy refuses: the names it refuses
// (each with the rule that denies it, if one does), or the key type, and
// what the policy allows. Its kind is PolicyDenied.
type PolicyError struct {
	User string
	// Refused lists the refused names in the request's order; Denied
	// holds, for each, the deny rule that refuses it ("" when it is
	// refused because no allow rule allows it).
	Refused []string
	Denied  []string
	// KeyType is a refused key type ("" if the key type is allowed).
	KeyType string
	// Other says what else the policy refuses, in words.
	Other  string
	Policy storage.Policy
	// Hidden: the refusal goes to someone who may not learn whose policy
	// it is or what it allows (an ACME account without a binding, which
	// anyone may make): its message names only what is refused.
	Hidden bool
}

// ErrorKind implements kinded.
func (e *PolicyError) ErrorKind() Kind { return PolicyDenied }

func (e *PolicyError) Error() string {
	var b strings.Builder
	if e.Hidden {
		b.WriteString("this CA's policy refuses ")
	} else {
		fmt.Fprintf(&b, "the policy of user %s refuses ", e.User)
	}
	var parts []string
	for i, n := range e.Refused {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Refused)-i))
			break
		}
		if e.Denied[i] != "" && !e.Hidden {
			parts = append(parts, n+" (denied by "+e.Denied[i]+")")
		} else {
			parts = append(parts, n)
		}
	}
	if e.KeyType != "" {
		parts = append(parts, "key type "+e.KeyType)
	}
	switch {
	case e.Other != "" && e.Hidden:
		parts = append(parts, "any validity")
	case e.Other != "":
		parts = append(parts, e.Other)
	}
	b.WriteString(strings.Join(parts, ", "))
	if !e.Hidden {
		b.WriteString(": ")
		b.WriteString(PolicyAllows(e.Policy))
	}
	return b.String()
}

// PolicyAllows says in one line what a policy lets its user ask for: the
// words of every refusal, the dashboard's request page and `user policy`.
func PolicyAllows(p storage.Policy) string {
	var parts []string
	switch {
	case len(p.Allow) > 0:
		parts = append(parts, "it allows only "+listed(p.Allow))
	default:
		parts = append(parts, "it allows every name the CA does")
	}
	if len(p.Deny) > 0 {
		parts = append(parts, "except "+listed(p.Deny))
	}
	s := strings.Join(parts, " ")
	if len(p.KeyTypes) > 0 {
		s += "; key types " + strings.Join(p.KeyTypes, ", ")
	}
	if p.MaxDays > 0 {
		s += "; at most " + plural(p.MaxDays, "day")
	}
	return s
}

// PolicySummary is a policy in one short line, for lists: "CA limits"
// for the zero policy.
func PolicySummary(p storage.Policy) string {
	if p.IsZero() {
		return "CA limits"
	}
	var parts []string
	if len(p.Allow) > 0 {
		parts = append(parts, "allow "+strings.Join(p.Allow, " "))
	}
	if len(p.Deny) > 0 {
		parts = append(parts, "deny "+strings.Join(p.Deny, " "))
	}
	if p.MaxDays > 0 {
		parts = append(parts, "max "+plural(p.MaxDays, "day"))
	}
	if len(p.KeyTypes) > 0 {
		parts = append(parts, "keys "+strings.Join(p.KeyTypes, ","))
	}
	if p.Challenge != "" {
		parts = append(parts, "challenge "+p.Challenge)
	}
	return strings.Join(parts, "; ")
}

// listed joins at most maxListed rules, so that a message stays a line.
func listed(rules []string) string {
	if len(rules) > maxListed {
		return strings.Join(rules[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(rules)-maxListed)
	}
	return strings.Join(rules, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func joinKeyTypes(kts []ca.KeyType) string {
	s := make([]string, len(kts))
	for i, kt := range kts {
		s[i] = string(kt)
	}
	return strings.Join(s, ", ")
}
