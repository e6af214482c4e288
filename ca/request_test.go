package ca_test

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"certmaker/ca"
)

func TestSubject(t *testing.T) {
	cn64 := dnsNameOfLen(t, 64)
	cn65 := dnsNameOfLen(t, 65)
	tests := []struct {
		name    string
		in      ca.Subject
		want    ca.Subject
		wantErr bool
	}{
		{
			name: "AllFields",
			in: ca.Subject{CommonName: "app.example.com", Organization: "Home", Country: "DE",
				Province: "Bayern", Locality: "München", StreetAddress: "Hauptstraße 1", PostalCode: "80331"},
			want: ca.Subject{CommonName: "app.example.com", Organization: "Home", Country: "DE",
				Province: "Bayern", Locality: "München", StreetAddress: "Hauptstraße 1", PostalCode: "80331"},
		},
		{name: "CountryLowerCase", in: ca.Subject{Country: "de"}, want: ca.Subject{CommonName: "app.example.com", Country: "DE"}},
		{name: "CountryMixedCase", in: ca.Subject{Country: "dE"}, want: ca.Subject{CommonName: "app.example.com", Country: "DE"}},
		{name: "CountryThreeLetters", in: ca.Subject{Country: "DEU"}, wantErr: true},
		{name: "CountryOneLetter", in: ca.Subject{Country: "D"}, wantErr: true},
		{name: "CountryDigits", in: ca.Subject{Country: "D1"}, wantErr: true},
		{name: "CountryNonASCII", in: ca.Subject{Country: "DÜ"}, wantErr: true},
		{name: "ControlCharacterNewline", in: ca.Subject{Organization: "Home\nLab"}, wantErr: true},
		{name: "ControlCharacterTab", in: ca.Subject{Locality: "Bad\tTown"}, wantErr: true},
		{name: "ControlCharacterNUL", in: ca.Subject{StreetAddress: "Main St\x001"}, wantErr: true},
		{name: "ControlCharacterC1", in: ca.Subject{Province: "Bay\u0085ern"}, wantErr: true},
		{name: "InvalidUTF8", in: ca.Subject{Organization: "Home\xff"}, wantErr: true},
		{name: "CommonName64", in: ca.Subject{CommonName: cn64}, want: ca.Subject{CommonName: cn64}},
		{name: "CommonName65", in: ca.Subject{CommonName: cn65}, wantErr: true},
		{name: "Organization64", in: ca.Subject{Organization: strings.Repeat("o", 64)},
			want: ca.Subject{CommonName: "app.example.com", Organization: strings.Repeat("o", 64)}},
		{name: "Organization65", in: ca.Subject{Organization: strings.Repeat("o", 65)}, wantErr: true},
		// Bounds count characters, not bytes.
		{name: "Province128Runes", in: ca.Subject{Province: strings.Repeat("ü", 128)},
			want: ca.Subject{CommonName: "app.example.com", Province: strings.Repeat("ü", 128)}},
		{name: "Province129", in: ca.Subject{Province: strings.Repeat("p", 129)}, wantErr: true},
		{name: "Locality129", in: ca.Subject{Locality: strings.Repeat("l", 129)}, wantErr: true},
		{name: "StreetAddress129", in: ca.Subject{StreetAddress: strings.Repeat("s", 129)}, wantErr: true},
		{name: "PostalCode41", in: ca.Subject{PostalCode: strings.Repeat("1", 41)}, wantErr: true},
		{name: "LeadingSpaceCommonName", in: ca.Subject{CommonName: " app.example.com"}, wantErr: true},
		{name: "LeadingSpaceOrganization", in: ca.Subject{Organization: " Home"}, wantErr: true},
		{name: "TrailingSpaceLocality", in: ca.Subject{Locality: "Berlin "}, wantErr: true},
		{name: "OnlySpace", in: ca.Subject{Organization: " "}, wantErr: true},
		// Invisible format characters make a subject read as what it is not.
		{name: "RightToLeftOverride", in: ca.Subject{Organization: "Bank \u202eemag"}, wantErr: true},
		{name: "ZeroWidthJoiner", in: ca.Subject{Locality: "Ber\u200dlin"}, wantErr: true},
		{name: "ByteOrderMark", in: ca.Subject{PostalCode: "\ufeff80331"}, wantErr: true},
		{name: "SoftHyphen", in: ca.Subject{StreetAddress: "Haupt\u00adstraße 1"}, wantErr: true},
		// Line and paragraph separators (Zl, Zp) break a subject into
		// lines where it is shown.
		{name: "LineSeparator", in: ca.Subject{Organization: "a\u2028b"}, wantErr: true},
		{name: "ParagraphSeparator", in: ca.Subject{Locality: "a\u2029b"}, wantErr: true},
		// Default-ignorable code points outside Cf render as nothing.
		{name: "CombiningGraphemeJoiner", in: ca.Subject{Organization: "Ba\u034fnk"}, wantErr: true},
		{name: "HangulFiller", in: ca.Subject{Organization: "Bank\u3164"}, wantErr: true},
		{name: "HangulChoseongFiller", in: ca.Subject{Organization: "\u115fBank"}, wantErr: true},
		{name: "HangulJungseongFiller", in: ca.Subject{Organization: "Ba\u1160nk"}, wantErr: true},
		{name: "HalfwidthHangulFiller", in: ca.Subject{Locality: "Ber\uffa0lin"}, wantErr: true},
		{name: "KhmerVowelInherentAq", in: ca.Subject{Locality: "Ber\u17b4lin"}, wantErr: true},
		{name: "VariationSelector16", in: ca.Subject{Organization: "Bank\ufe0f"}, wantErr: true},
		{name: "VariationSelector17", in: ca.Subject{Organization: "Bank\U000e0100"}, wantErr: true},
		{name: "MongolianFreeVariationSelector", in: ca.Subject{Organization: "Bank\u180b"}, wantErr: true},
		{name: "ReservedDefaultIgnorable", in: ca.Subject{Organization: "Bank\ufff0"}, wantErr: true},
		{name: "TagSpace", in: ca.Subject{Organization: "Bank\U000e0020"}, wantErr: true},
		// Private use: no one can say what it shows.
		{name: "PrivateUseBMP", in: ca.Subject{Organization: "Bank\ue000"}, wantErr: true},
		{name: "PrivateUseBMPLast", in: ca.Subject{Organization: "Bank\uf8ff"}, wantErr: true},
		{name: "PrivateUsePlane15", in: ca.Subject{Organization: "Bank\U000f0000"}, wantErr: true},
		{name: "PrivateUsePlane16", in: ca.Subject{Organization: "Bank\U0010fffd"}, wantErr: true},
		// What people write stays allowed.
		{name: "HangulSyllables", in: ca.Subject{Locality: "서울"},
			want: ca.Subject{CommonName: "app.example.com", Locality: "서울"}},
		{name: "Accents", in: ca.Subject{Organization: "Müller & Söhne Café"},
			want: ca.Subject{CommonName: "app.example.com", Organization: "Müller & Söhne Café"}},
		{name: "CJKAndGreek", in: ca.Subject{Organization: "東京 Ελλάδα"},
			want: ca.Subject{CommonName: "app.example.com", Organization: "東京 Ελλάδα"}},
		{name: "NoBreakSpace", in: ca.Subject{Organization: "Home\u00a0Lab"},
			want: ca.Subject{CommonName: "app.example.com", Organization: "Home\u00a0Lab"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &ca.Request{DNSNames: []string{"app.example.com"}, Subject: tt.in}
			err := req.Normalize()
			if tt.wantErr {
				if !errors.Is(err, ca.ErrInvalid) {
					t.Fatalf("Normalize(subject %+v) = %v, want an ErrInvalid", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(subject %+v): %v", tt.in, err)
			}
			if req.Subject != tt.want {
				t.Errorf("subject = %+v, want %+v", req.Subject, tt.want)
			}
		})
	}
}

func TestRequestNormalize(t *testing.T) {
	ip := netip.MustParseAddr
	long := dnsNameOfLen(t, 70) // a valid name too long for a common name
	manyNames := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("host%d.example.com", i)
		}
		return out
	}
	tests := []struct {
		name    string
		in      ca.Request
		want    ca.Request
		wantErr bool
	}{
		{
			name: "LowerCasesAndDedupes",
			in:   ca.Request{DNSNames: []string{"App.Example.com", "app.example.com.", "www.example.com", "APP.EXAMPLE.COM"}},
			want: ca.Request{DNSNames: []string{"app.example.com", "www.example.com"}, Subject: ca.Subject{CommonName: "app.example.com"}},
		},
		{
			name: "DedupesIPs",
			in:   ca.Request{IPs: []netip.Addr{ip("10.0.0.1"), ip("::ffff:10.0.0.1"), ip("10.0.0.1"), ip("2001:db8::1")}},
			want: ca.Request{IPs: []netip.Addr{ip("10.0.0.1"), ip("2001:db8::1")}, Subject: ca.Subject{CommonName: "10.0.0.1"}},
		},
		{
			name: "DedupesEmails",
			in:   ca.Request{Emails: []string{"alice@Example.com", "alice@example.com"}},
			want: ca.Request{Emails: []string{"alice@example.com"}},
		},
		{
			name: "CommonNameDefaultsToFirstDNSName",
			in:   ca.Request{DNSNames: []string{"b.example.com", "a.example.com"}, IPs: []netip.Addr{ip("10.0.0.1")}},
			want: ca.Request{DNSNames: []string{"b.example.com", "a.example.com"}, IPs: []netip.Addr{ip("10.0.0.1")},
				Subject: ca.Subject{CommonName: "b.example.com"}},
		},
		{
			name: "CommonNameDefaultsToFirstIP",
			in:   ca.Request{IPs: []netip.Addr{ip("10.0.0.2"), ip("10.0.0.1")}, Emails: []string{"alice@example.com"}},
			want: ca.Request{IPs: []netip.Addr{ip("10.0.0.2"), ip("10.0.0.1")}, Emails: []string{"alice@example.com"},
				Subject: ca.Subject{CommonName: "10.0.0.2"}},
		},
		{
			name: "CommonNameSkipsNameTooLong",
			in:   ca.Request{DNSNames: []string{long, "short.example.com"}},
			want: ca.Request{DNSNames: []string{long, "short.example.com"}, Subject: ca.Subject{CommonName: "short.example.com"}},
		},
		{
			name: "CommonNameFallsBackToIPAfterLongName",
			in:   ca.Request{DNSNames: []string{long}, IPs: []netip.Addr{ip("10.0.0.1")}},
			want: ca.Request{DNSNames: []string{long}, IPs: []netip.Addr{ip("10.0.0.1")}, Subject: ca.Subject{CommonName: "10.0.0.1"}},
		},
		{
			name: "CommonNameEmptyForOnlyLongName",
			in:   ca.Request{DNSNames: []string{long}},
			want: ca.Request{DNSNames: []string{long}},
		},
		{
			name: "CommonNameInList",
			in:   ca.Request{DNSNames: []string{"a.example.com", "b.example.com"}, Subject: ca.Subject{CommonName: "b.example.com"}},
			want: ca.Request{DNSNames: []string{"a.example.com", "b.example.com"}, Subject: ca.Subject{CommonName: "b.example.com"}},
		},
		{
			name: "CommonNameNotInListIsAdded",
			in:   ca.Request{DNSNames: []string{"a.example.com"}, Subject: ca.Subject{CommonName: "B.Example.com."}},
			want: ca.Request{DNSNames: []string{"a.example.com", "b.example.com"}, Subject: ca.Subject{CommonName: "b.example.com"}},
		},
		{
			name: "CommonNameIPIsAdded",
			in:   ca.Request{DNSNames: []string{"a.example.com"}, Subject: ca.Subject{CommonName: "::ffff:10.0.0.9"}},
			want: ca.Request{DNSNames: []string{"a.example.com"}, IPs: []netip.Addr{ip("10.0.0.9")}, Subject: ca.Subject{CommonName: "10.0.0.9"}},
		},
		{
			name: "CommonNameIsTheOnlyName",
			in:   ca.Request{Subject: ca.Subject{CommonName: "NAS"}},
			want: ca.Request{DNSNames: []string{"nas"}, Subject: ca.Subject{CommonName: "nas"}},
		},
		{
			name: "CommonNameWildcard",
			in:   ca.Request{Subject: ca.Subject{CommonName: "*.example.com"}},
			want: ca.Request{DNSNames: []string{"*.example.com"}, Subject: ca.Subject{CommonName: "*.example.com"}},
		},
		{name: "CommonNameNotAName", in: ca.Request{DNSNames: []string{"a.example.com"}, Subject: ca.Subject{CommonName: "My Laptop"}}, wantErr: true},
		{name: "CommonNameEmail", in: ca.Request{Emails: []string{"alice@example.com"}, Subject: ca.Subject{CommonName: "alice@example.com"}}, wantErr: true},
		{name: "CommonNameWithZone", in: ca.Request{Subject: ca.Subject{CommonName: "fe80::1%eth0"}}, wantErr: true},
		// Addresses no host can hold: a certificate for them proves nothing.
		{name: "UnspecifiedIPv4", in: ca.Request{IPs: []netip.Addr{ip("0.0.0.0")}}, wantErr: true},
		{name: "UnspecifiedIPv6", in: ca.Request{IPs: []netip.Addr{ip("::")}}, wantErr: true},
		{name: "MappedUnspecified", in: ca.Request{IPs: []netip.Addr{ip("::ffff:0.0.0.0")}}, wantErr: true},
		{name: "Broadcast", in: ca.Request{IPs: []netip.Addr{ip("255.255.255.255")}}, wantErr: true},
		{name: "MulticastIPv4", in: ca.Request{IPs: []netip.Addr{ip("224.0.0.1")}}, wantErr: true},
		{name: "MulticastIPv4Last", in: ca.Request{IPs: []netip.Addr{ip("239.255.255.250")}}, wantErr: true},
		{name: "MulticastIPv6", in: ca.Request{IPs: []netip.Addr{ip("ff02::1")}}, wantErr: true},
		{name: "CommonNameUnspecified", in: ca.Request{Subject: ca.Subject{CommonName: "0.0.0.0"}}, wantErr: true},
		{name: "CommonNameMulticast", in: ca.Request{DNSNames: []string{"a.example.com"}, Subject: ca.Subject{CommonName: "ff05::2"}}, wantErr: true},
		// "This network" (RFC 1122 3.2.1.3) and the reserved 240.0.0.0/4
		// (RFC 1112 4), whole; NAT64 addresses (RFC 6052) of any refused
		// IPv4 address.
		{name: "ThisNetwork", in: ca.Request{IPs: []netip.Addr{ip("0.0.0.1")}}, wantErr: true},
		{name: "ThisNetworkLast", in: ca.Request{IPs: []netip.Addr{ip("0.255.255.255")}}, wantErr: true},
		{name: "Reserved", in: ca.Request{IPs: []netip.Addr{ip("240.0.0.1")}}, wantErr: true},
		{name: "ReservedLast", in: ca.Request{IPs: []netip.Addr{ip("255.255.255.254")}}, wantErr: true},
		{name: "MappedReserved", in: ca.Request{IPs: []netip.Addr{ip("::ffff:250.1.2.3")}}, wantErr: true},
		{name: "NAT64Multicast", in: ca.Request{IPs: []netip.Addr{ip("64:ff9b::e000:1")}}, wantErr: true},
		{name: "NAT64Unspecified", in: ca.Request{IPs: []netip.Addr{ip("64:ff9b::")}}, wantErr: true},
		{name: "NAT64Broadcast", in: ca.Request{IPs: []netip.Addr{ip("64:ff9b::ffff:ffff")}}, wantErr: true},
		{name: "NAT64ThisNetwork", in: ca.Request{IPs: []netip.Addr{ip("64:ff9b::1")}}, wantErr: true},
		{name: "CommonNameReserved", in: ca.Request{Subject: ca.Subject{CommonName: "240.0.0.1"}}, wantErr: true},
		{
			name: "HostAddressesNextToThem",
			in:   ca.Request{IPs: []netip.Addr{ip("1.0.0.0"), ip("223.255.255.255"), ip("64:ff9b::a00:1"), ip("64:ff9b::1:e000:1"), ip("::1"), ip("fe80::1")}},
			want: ca.Request{IPs: []netip.Addr{ip("1.0.0.0"), ip("223.255.255.255"), ip("64:ff9b::a00:1"), ip("64:ff9b::1:e000:1"), ip("::1"), ip("fe80::1")}, Subject: ca.Subject{CommonName: "1.0.0.0"}},
		},
		{name: "NoNames", in: ca.Request{}, wantErr: true},
		{name: "NoNamesOnlySubject", in: ca.Request{Subject: ca.Subject{Organization: "Home"}}, wantErr: true},
		{name: "EmptyDNSName", in: ca.Request{DNSNames: []string{""}}, wantErr: true},
		{name: "BadDNSName", in: ca.Request{DNSNames: []string{"a.example.com", "bad_name.example.com"}}, wantErr: true},
		{name: "BadEmail", in: ca.Request{DNSNames: []string{"a.example.com"}, Emails: []string{"Alice <alice@example.com>"}}, wantErr: true},
		{name: "ZeroIP", in: ca.Request{IPs: []netip.Addr{{}}}, wantErr: true},
		{name: "IPWithZone", in: ca.Request{IPs: []netip.Addr{ip("fe80::1%eth0")}}, wantErr: true},
		{
			name: "MaxNames",
			in:   ca.Request{DNSNames: manyNames(ca.MaxNames)},
			want: ca.Request{DNSNames: manyNames(ca.MaxNames), Subject: ca.Subject{CommonName: "host0.example.com"}},
		},
		{name: "MaxNamesPlusOne", in: ca.Request{DNSNames: manyNames(ca.MaxNames + 1)}, wantErr: true},
		{
			name:    "MaxNamesPlusCommonName",
			in:      ca.Request{DNSNames: manyNames(ca.MaxNames), Subject: ca.Subject{CommonName: "10.0.0.1"}},
			wantErr: true,
		},
		{
			name:    "MaxNamesAcrossKinds",
			in:      ca.Request{DNSNames: manyNames(ca.MaxNames - 1), IPs: []netip.Addr{ip("10.0.0.1")}, Emails: []string{"alice@example.com"}},
			wantErr: true,
		},
		{
			// Duplicates are dropped before counting.
			name: "DuplicatesBeyondMaxNames",
			in:   ca.Request{DNSNames: slicesRepeat("a.example.com", 3*ca.MaxNames)},
			want: ca.Request{DNSNames: []string{"a.example.com"}, Subject: ca.Subject{CommonName: "a.example.com"}},
		},
		{
			name: "DuplicatesUpToMaxRawNames",
			in:   ca.Request{DNSNames: slicesRepeat("a.example.com", ca.MaxRawNames)},
			want: ca.Request{DNSNames: []string{"a.example.com"}, Subject: ca.Subject{CommonName: "a.example.com"}},
		},
		{
			// Counted before de-duplication, so a CSR or form with
			// thousands of names costs nothing to refuse.
			name:    "RawNamesBeyondMaxRawNames",
			in:      ca.Request{DNSNames: slicesRepeat("a.example.com", 16000)},
			wantErr: true,
		},
		{
			name: "DaysKept",
			in:   ca.Request{DNSNames: []string{"a.example.com"}, Days: 30},
			want: ca.Request{DNSNames: []string{"a.example.com"}, Subject: ca.Subject{CommonName: "a.example.com"}, Days: 30},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.in
			err := req.Normalize()
			if tt.wantErr {
				if !errors.Is(err, ca.ErrInvalid) {
					t.Fatalf("Normalize() = %v, want an ErrInvalid; request now %+v", err, req)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(): %v", err)
			}
			if !reflect.DeepEqual(req, tt.want) {
				t.Errorf("Normalize() gave\n%+v\nwant\n%+v", req, tt.want)
			}
			// A normalized request is a fixed point.
			again := req
			again.DNSNames = append([]string(nil), req.DNSNames...)
			again.IPs = append([]netip.Addr(nil), req.IPs...)
			again.Emails = append([]string(nil), req.Emails...)
			if err := again.Normalize(); err != nil {
				t.Fatalf("second Normalize(): %v", err)
			}
			if !reflect.DeepEqual(again, req) {
				t.Errorf("second Normalize() gave\n%+v\nwant\n%+v", again, req)
			}
		})
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestRequestNames(t *testing.T) {
	req := ca.Request{
		DNSNames: []string{"a.example.com", "b.example.com"},
		IPs:      []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")},
		Emails:   []string{"alice@example.com"},
	}
	want := []string{"a.example.com", "b.example.com", "10.0.0.1", "2001:db8::1"}
	got := req.Names()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if req.DNSNames[0] != "a.example.com" {
		t.Errorf("Names() shares its backing array with DNSNames")
	}
}
