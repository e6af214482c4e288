package ca_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"certmaker/ca"
)

// dnsNameOfLen builds a valid DNS name of exactly n characters (n >= 3) out
// of 63-character labels.
func dnsNameOfLen(t testing.TB, n int) string {
	t.Helper()
	var labels []string
	for n > 0 {
		l := min(63, n)
		if n-l == 1 {
			l-- // never leave a remainder that only fits the dot
		}
		labels = append(labels, strings.Repeat("a", l))
		n -= l + 1
	}
	name := strings.Join(labels, ".")
	return name
}

func TestNormalizeDNSName(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	name253 := dnsNameOfLen(t, 253)
	name254 := dnsNameOfLen(t, 254)
	if len(name253) != 253 || len(name254) != 254 {
		t.Fatalf("test names have %d and %d characters", len(name253), len(name254))
	}
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "Plain", in: "nas.home.lan", want: "nas.home.lan"},
		{name: "UpperCase", in: "NAS.Home.LAN", want: "nas.home.lan"},
		{name: "TrailingDot", in: "example.com.", want: "example.com"},
		{name: "TwoTrailingDots", in: "example.com..", wantErr: true},
		{name: "OnlyDot", in: ".", wantErr: true},
		{name: "Empty", in: "", wantErr: true},
		{name: "LeadingDot", in: ".example.com", wantErr: true},
		{name: "Wildcard", in: "*.example.com", want: "*.example.com"},
		{name: "WildcardUpperCase", in: "*.EXAMPLE.com.", want: "*.example.com"},
		{name: "WildcardNotLeftmost", in: "www.*.example.com", wantErr: true},
		{name: "WildcardPartialLabel", in: "w*.example.com", wantErr: true},
		{name: "WildcardTwice", in: "*.*.example.com", wantErr: true},
		{name: "WildcardAlone", in: "*", wantErr: true},
		{name: "WildcardDot", in: "*.", wantErr: true},
		{name: "EmptyLabel", in: "a..b", wantErr: true},
		{name: "LeadingHyphen", in: "-nas.example.com", wantErr: true},
		{name: "TrailingHyphen", in: "nas-.example.com", wantErr: true},
		{name: "HyphenInside", in: "my-nas.example.com", want: "my-nas.example.com"},
		{name: "Punycode", in: "xn--bcher-kva.example", want: "xn--bcher-kva.example"},
		{name: "Label63", in: label63 + ".example.com", want: label63 + ".example.com"},
		{name: "Label64", in: label63 + "a.example.com", wantErr: true},
		{name: "Name253", in: name253, want: name253},
		{name: "Name253TrailingDot", in: name253 + ".", want: name253},
		{name: "Name254", in: name254, wantErr: true},
		{name: "Underscore", in: "_acme-challenge.example.com", wantErr: true},
		{name: "Space", in: "my nas.example.com", wantErr: true},
		{name: "TrailingSpace", in: "example.com ", wantErr: true},
		{name: "NUL", in: "example.com\x00.evil.com", wantErr: true},
		{name: "Slash", in: "example.com/path", wantErr: true},
		{name: "Colon", in: "example.com:443", wantErr: true},
		{name: "Unicode", in: "bücher.example", wantErr: true},
		{name: "UnicodeUpperCase", in: "BÜCHER.example", wantErr: true},
		// strings.ToLower maps these to ASCII; they must not become "keep"/"info".
		{name: "KelvinSign", in: "\u212Aeep.example.com", wantErr: true},
		{name: "DottedCapitalI", in: "\u0130nfo.example.com", wantErr: true},
		{name: "IPv4", in: "192.168.1.20", wantErr: true},
		{name: "IPv4TrailingDot", in: "192.168.1.20.", wantErr: true},
		{name: "IPv4Wildcard", in: "*.10.0.0.1", wantErr: true},
		{name: "IPv4Short", in: "10.1", wantErr: true},
		{name: "IPv4OutOfRange", in: "1.2.3.256", wantErr: true},
		{name: "IPv6", in: "::1", wantErr: true},
		{name: "IPv6Bracketed", in: "[2001:db8::1]", wantErr: true},
		{name: "NumericTopLabel", in: "host.123", wantErr: true},
		{name: "NumericFirstLabel", in: "123.example.com", want: "123.example.com"},
		{name: "SingleLabel", in: "nas", want: "nas"},
		{name: "SingleLabelUpper", in: "NAS", want: "nas"},
		{name: "Localhost", in: "localhost", want: "localhost"},
		{name: "AllDigitsSingleLabel", in: "1234", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ca.NormalizeDNSName(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ca.ErrInvalid) {
					t.Fatalf("NormalizeDNSName(%q) = %q, %v; want an ErrInvalid", tt.in, got, err)
				}
				if got != "" {
					t.Errorf("NormalizeDNSName(%q) returned %q along with an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeDNSName(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("NormalizeDNSName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsWildcard(t *testing.T) {
	for in, want := range map[string]bool{"*.example.com": true, "example.com": false, "a*.example.com": false} {
		if got := ca.IsWildcard(in); got != want {
			t.Errorf("IsWildcard(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNormalizeIP(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    netip.Addr
		wantErr bool
	}{
		{name: "IPv4", in: "192.168.1.20", want: netip.MustParseAddr("192.168.1.20")},
		{name: "IPv6", in: "2001:DB8::1", want: netip.MustParseAddr("2001:db8::1")},
		{name: "IPv6Loopback", in: "::1", want: netip.IPv6Loopback()},
		{name: "IPv4MappedIPv6", in: "::ffff:10.0.0.1", want: netip.MustParseAddr("10.0.0.1")},
		{name: "Zone", in: "fe80::1%eth0", wantErr: true},
		{name: "Empty", in: "", wantErr: true},
		{name: "Blank", in: "   ", wantErr: true},
		{name: "Garbage", in: "not-an-ip", wantErr: true},
		{name: "Hostname", in: "nas", wantErr: true},
		{name: "IPv4Short", in: "10.1", wantErr: true},
		{name: "IPv4LeadingZero", in: "010.0.0.1", wantErr: true},
		{name: "IPv4OutOfRange", in: "10.0.0.256", wantErr: true},
		{name: "CIDR", in: "10.0.0.0/8", wantErr: true},
		{name: "WithPort", in: "10.0.0.1:80", wantErr: true},
		{name: "Bracketed", in: "[::1]", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ca.NormalizeIP(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ca.ErrInvalid) {
					t.Fatalf("NormalizeIP(%q) = %v, %v; want an ErrInvalid", tt.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeIP(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("NormalizeIP(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "Plain", in: "alice@example.com", want: "alice@example.com"},
		{name: "DomainUpperCase", in: "Alice@Example.COM", want: "Alice@example.com"},
		{name: "PlusTag", in: "alice+certs@example.com", want: "alice+certs@example.com"},
		{name: "SingleLabelDomain", in: "root@nas", want: "root@nas"},
		{name: "DisplayName", in: "Alice <alice@example.com>", wantErr: true},
		{name: "QuotedDisplayName", in: `"Alice" <alice@example.com>`, wantErr: true},
		{name: "AngleBrackets", in: "<alice@example.com>", wantErr: true},
		{name: "QuotedLocalPart", in: `"alice smith"@example.com`, wantErr: true},
		{name: "NoAt", in: "alice.example.com", wantErr: true},
		{name: "TwoAts", in: "alice@bob@example.com", wantErr: true},
		{name: "Empty", in: "", wantErr: true},
		{name: "EmptyLocalPart", in: "@example.com", wantErr: true},
		{name: "BadDomainHyphen", in: "alice@-example.com", wantErr: true},
		{name: "BadDomainUnderscore", in: "alice@my_host.example.com", wantErr: true},
		{name: "BadDomainEmptyLabel", in: "alice@example..com", wantErr: true},
		{name: "WildcardDomain", in: "alice@*.example.com", wantErr: true},
		{name: "IPDomain", in: "alice@192.168.1.20", wantErr: true},
		{name: "IPLiteralDomain", in: "alice@[192.168.1.20]", wantErr: true},
		{name: "NonASCIILocalPart", in: "jürgen@example.com", wantErr: true},
		{name: "NonASCIIDomain", in: "alice@bücher.example", wantErr: true},
		{name: "SurroundingSpace", in: " alice@example.com", wantErr: true},
		{name: "Comment", in: "alice@example.com (Alice)", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ca.NormalizeEmail(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ca.ErrInvalid) {
					t.Fatalf("NormalizeEmail(%q) = %q, %v; want an ErrInvalid", tt.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeEmail(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzNormalizeDNSName(f *testing.F) {
	for _, s := range []string{
		"example.com", "NAS.Home.LAN.", "*.example.com", "a..b", "-a.com", "nas",
		"192.168.1.20", "*.10.0.0.1", "\u212Aeep.example.com", "bücher.example",
		strings.Repeat("a", 63) + ".com", strings.Repeat("a.", 127), "", ".", "*",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ca.NormalizeDNSName(in)
		if err != nil {
			if !errors.Is(err, ca.ErrInvalid) {
				t.Fatalf("NormalizeDNSName(%q): error %v is not ErrInvalid", in, err)
			}
			return
		}
		if got != strings.ToLower(got) {
			t.Errorf("NormalizeDNSName(%q) = %q, not lower case", in, got)
		}
		for i := 0; i < len(got); i++ {
			c := got[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '*') {
				t.Errorf("NormalizeDNSName(%q) = %q, holds byte %q", in, got, c)
			}
		}
		if len(got) == 0 || len(got) > 253 {
			t.Errorf("NormalizeDNSName(%q) = %q, %d characters", in, got, len(got))
		}
		if strings.HasSuffix(got, ".") {
			t.Errorf("NormalizeDNSName(%q) = %q, keeps a trailing dot", in, got)
		}
		if strings.Contains(strings.TrimPrefix(got, "*."), "*") {
			t.Errorf("NormalizeDNSName(%q) = %q, wildcard outside the leftmost label", in, got)
		}
		again, err := ca.NormalizeDNSName(got)
		if err != nil || again != got {
			t.Errorf("NormalizeDNSName(%q) = %q, %v; not idempotent on %q", got, again, err, in)
		}
	})
}
