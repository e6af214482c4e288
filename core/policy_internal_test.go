package core

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"certmaker/ca"
	"certmaker/storage"
)

// TestPolicy_Rules is the rule syntax of docs/policies.md, name by name:
// which names each kind of rule allows, how a wildcard request is judged
// (allowed only by a rule that allows every name it stands for, denied by
// a rule that denies any), that a deny rule beats every allow rule, and
// that allow rules of one kind of name refuse every other kind.
func TestPolicy_Rules(t *testing.T) {
	for _, c := range []struct {
		name        string
		allow, deny []string
		ok, refused []string // names; an @ makes an email address, an IP parses
	}{
		{
			name:    "exact",
			allow:   []string{"nas.home.lan"},
			ok:      []string{"nas.home.lan", "NAS.home.lan."},
			refused: []string{"home.lan", "x.nas.home.lan", "vault.home.lan", "*.home.lan", "*.nas.home.lan", "192.168.1.20", "ops@nas.home.lan"},
		},
		{
			name:    "below",
			allow:   []string{".home.lan"},
			ok:      []string{"nas.home.lan", "a.b.c.home.lan", "*.home.lan", "*.lab.home.lan", "*.a.b.home.lan"},
			refused: []string{"home.lan", "xhome.lan", "nas.home.lan.evil", "*.lan", "10.0.0.1"},
		},
		{
			name:    "one label below",
			allow:   []string{"*.home.lan"},
			ok:      []string{"nas.home.lan", "*.home.lan"},
			refused: []string{"home.lan", "a.lab.home.lan", "*.lab.home.lan", "*.lan"},
		},
		{
			name:    "the exact wildcard allows its own names",
			allow:   []string{"*.lab.home.lan"},
			ok:      []string{"*.lab.home.lan", "x.lab.home.lan"},
			refused: []string{"lab.home.lan", "*.home.lan", "a.x.lab.home.lan"},
		},
		{
			name:    "a denied name beats an allowed suffix",
			allow:   []string{".home.lan"},
			deny:    []string{"vault.home.lan", ".secret.home.lan"},
			ok:      []string{"nas.home.lan", "secret.home.lan", "*.lab.home.lan"},
			refused: []string{"vault.home.lan", "x.secret.home.lan", "*.secret.home.lan", "*.x.secret.home.lan"},
		},
		{
			name:    "a wildcard is denied when any name it stands for is",
			allow:   []string{".home.lan"},
			deny:    []string{"vault.lab.home.lan", "*.dmz.home.lan"},
			ok:      []string{"lab.home.lan", "*.x.lab.home.lan", "a.b.dmz.home.lan", "dmz.home.lan"},
			refused: []string{"*.lab.home.lan", "vault.lab.home.lan", "*.dmz.home.lan", "web.dmz.home.lan"},
		},
		{
			name:    "deny alone: everything else the CA allows",
			deny:    []string{".secret.home.lan", "10.0.0.0/8", "@evil.lan"},
			ok:      []string{"nas.home.lan", "*.home.lan", "192.168.1.1", "ops@home.lan"},
			refused: []string{"a.secret.home.lan", "10.1.2.3", "ops@evil.lan"},
		},
		{
			name:    "IP ranges and single addresses",
			allow:   []string{"192.168.0.0/16", "10.0.0.5", "fd00::/8"},
			deny:    []string{"192.168.66.0/24"},
			ok:      []string{"192.168.1.20", "192.168.255.255", "10.0.0.5", "fd00::20"},
			refused: []string{"192.169.0.1", "10.0.0.6", "192.168.66.1", "fe80::1", "nas.home.lan"},
		},
		{
			name:    "email domains",
			allow:   []string{"@home.lan", "@.corp.lan", "boss@other.lan"},
			ok:      []string{"ops@home.lan", "a@x.corp.lan", "boss@other.lan"},
			refused: []string{"ops@x.home.lan", "a@corp.lan", "clerk@other.lan", "home.lan"},
		},
		{
			// A mailbox's local part is matched in any case: mail servers
			// deliver Ops@ and ops@ to one mailbox.
			name:    "an address in any case",
			allow:   []string{"@home.lan", "Boss@other.lan"},
			deny:    []string{"ops@home.lan"},
			ok:      []string{"dev@home.lan", "boss@other.lan", "BOSS@Other.Lan"},
			refused: []string{"ops@home.lan", "Ops@home.lan", "OPS@HOME.LAN", "clerk@other.lan"},
		},
		{
			// A NAT64 address (64:ff9b::/96) reaches the IPv4 address in
			// its last 32 bits: a deny of that refuses it, as the
			// challenge checker refuses to connect to it.
			name:    "NAT64 addresses meet the IPv4 deny rules",
			deny:    []string{"10.0.0.0/8", "192.168.1.7"},
			ok:      []string{"64:ff9b::192.168.1.1", "2001:db8::10.0.0.5", "192.168.1.8"},
			refused: []string{"64:ff9b::10.0.0.5", "64:ff9b::a00:5", "64:ff9b::192.168.1.7", "10.1.1.1"},
		},
		{
			// The certificate names the IPv6 address: only a rule for it
			// allows it, never a rule for the IPv4 address inside.
			name:    "NAT64 addresses are allowed as IPv6 addresses",
			allow:   []string{"10.0.0.0/8", "64:ff9b::c0a8:0/112"},
			deny:    []string{"192.168.0.66"},
			ok:      []string{"10.0.0.5", "64:ff9b::192.168.0.1"},
			refused: []string{"64:ff9b::10.0.0.5", "64:ff9b::192.168.0.66", "64:ff9b::172.16.0.1"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := compilePolicy(storage.Policy{Allow: c.allow, Deny: c.deny})
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range c.ok {
				if r := p.refuses(request1(t, n)); len(r) != 0 {
					t.Errorf("%s refused (%+v), want allowed", n, r)
				}
			}
			for _, n := range c.refused {
				if r := p.refuses(request1(t, n)); len(r) != 1 {
					t.Errorf("%s allowed, want refused", n)
				}
			}
		})
	}
}

// request1 is a normalized request for one name.
func request1(t *testing.T, n string) *ca.Request {
	t.Helper()
	req := &ca.Request{}
	switch a, err := netip.ParseAddr(n); {
	case err == nil:
		req.IPs = []netip.Addr{a}
	case strings.Contains(n, "@"):
		req.Emails = []string{n}
	default:
		req.DNSNames = []string{n}
	}
	if err := req.Normalize(); err != nil {
		t.Fatalf("%s: %v", n, err)
	}
	return req
}

func TestNormalizePolicy(t *testing.T) {
	got, err := NormalizePolicy(storage.Policy{
		Allow:    []string{"NAS.Home.Lan.", ".Home.LAN", "*.Lab.home.lan", "192.168.1.20", "::ffff:10.0.0.0/104", "@Home.Lan", "@.Corp.lan", "Ops@Home.Lan", "nas.home.lan"},
		Deny:     []string{"fd00::/8"},
		KeyTypes: []string{"ed25519", "ecdsa-p256", "ed25519"},
		MaxDays:  30, Challenge: ChallengeRequired,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantAllow := []string{"nas.home.lan", ".home.lan", "*.lab.home.lan", "192.168.1.20", "10.0.0.0/8", "@home.lan", "@.corp.lan", "Ops@home.lan"}
	if !slices.Equal(got.Allow, wantAllow) || !slices.Equal(got.Deny, []string{"fd00::/8"}) ||
		!slices.Equal(got.KeyTypes, []string{"ed25519", "ecdsa-p256"}) || got.MaxDays != 30 || got.Challenge != ChallengeRequired {
		t.Errorf("NormalizePolicy = %+v", got)
	}

	for _, bad := range []storage.Policy{
		{Allow: []string{""}},
		{Allow: []string{"nas home.lan"}},
		{Allow: []string{"*.*.home.lan"}},
		{Allow: []string{"a.*.home.lan"}},
		{Allow: []string{"..home.lan"}},
		{Deny: []string{"192.168.1.5/16"}},
		{Deny: []string{"192.168.0.0/33"}},
		{Deny: []string{"fe80::1%eth0"}},
		{Allow: []string{"@*.home.lan"}},
		{Allow: []string{"not an address@"}},
		{KeyTypes: []string{"dsa-1024"}},
		{KeyTypes: []string{""}},
		{MaxDays: -1},
		{Challenge: "sometimes"},
		{Allow: slices.Repeat([]string{"a.home.lan"}, maxRules+1)},
	} {
		if _, err := NormalizePolicy(bad); KindOf(err) != Invalid {
			t.Errorf("NormalizePolicy(%+v) = %v, want Invalid", bad, err)
		}
	}
}
