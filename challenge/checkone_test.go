package challenge_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"certmaker/challenge"
)

func TestChecker_CheckOne(t *testing.T) {
	redirect := func(code int) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET "+challenge.WellKnownPath, http.RedirectHandler("/elsewhere", code))
		mux.HandleFunc("GET /elsewhere", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, tok)
		})
		return mux
	}
	const acme = "/.well-known/acme-challenge/abc"
	tests := []struct {
		name       string
		handler    http.Handler
		maxBody    int64
		edit       func(*challenge.Target)
		wantReason string // "" means the check passes
		wantHits   int
	}{
		{name: "CorrectToken", handler: serveFile(challenge.WellKnownPath, tok), wantHits: 1},
		{name: "TrailingNewline", handler: serveFile(challenge.WellKnownPath, tok+"\n"), wantHits: 1},
		{name: "SurroundingWhiteSpace", handler: serveFile(challenge.WellKnownPath, " \t\r\n"+tok+" \r\n"), wantHits: 1},
		{name: "BodyOfExactlyMaxBody", handler: serveFile(challenge.WellKnownPath, tok+strings.Repeat(" ", 128-len(tok))), wantHits: 1},
		{name: "IPLiteral", handler: serveFile(challenge.WellKnownPath, tok), edit: func(t *challenge.Target) { t.Identifier = "127.0.0.2" }, wantHits: 1},
		{name: "NameCaseAndTrailingDot", handler: serveFile(challenge.WellKnownPath, tok), edit: func(t *challenge.Target) { t.Identifier = "A.Test." }, wantHits: 1},
		{name: "ACMEPathAndWant", handler: serveFile(acme, "abc.thumbprint"), edit: func(t *challenge.Target) { t.Path, t.Want = acme, "abc.thumbprint" }, wantHits: 1},
		{name: "WrongToken", handler: serveFile(challenge.WellKnownPath, "not-the-token"), wantReason: "wrong token", wantHits: 1},
		{name: "TokenWithSuffix", handler: serveFile(challenge.WellKnownPath, tok+"x"), wantReason: "wrong token", wantHits: 1},
		{name: "TokenTwice", handler: serveFile(challenge.WellKnownPath, tok+"\n"+tok), wantReason: "wrong token", wantHits: 1},
		{name: "EmptyBody", handler: serveFile(challenge.WellKnownPath, ""), wantReason: "wrong token", wantHits: 1},
		{name: "MissingFile", handler: serveFile("/elsewhere", tok), wantReason: "HTTP 404", wantHits: 1},
		{name: "ServerError", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, tok, http.StatusInternalServerError)
		}), wantReason: "HTTP 500", wantHits: 1},
		// One hit: the target of the redirect is never fetched.
		{name: "Redirect", handler: redirect(http.StatusFound), wantReason: "redirects are not followed (HTTP 302)", wantHits: 1},
		{name: "PermanentRedirect", handler: redirect(http.StatusPermanentRedirect), wantReason: "redirects are not followed (HTTP 308)", wantHits: 1},
		{name: "OversizedBody", handler: serveFile(challenge.WellKnownPath, tok+strings.Repeat(" ", 200)), wantReason: "body larger than 128 bytes", wantHits: 1},
		{name: "ConfiguredMaxBody", handler: serveFile(challenge.WellKnownPath, tok), maxBody: 10, wantReason: "body larger than 10 bytes", wantHits: 1},
		{name: "NoWant", handler: serveFile(challenge.WellKnownPath, ""), edit: func(t *challenge.Target) { t.Want = "" }, wantReason: "no expected token"},
		{name: "RelativePath", handler: serveFile(challenge.WellKnownPath, tok), edit: func(t *challenge.Target) { t.Path = "token.txt" }, wantReason: `path "token.txt" does not start with /`},
		{name: "EmptyIdentifier", handler: serveFile(challenge.WellKnownPath, tok), edit: func(t *challenge.Target) { t.Identifier = "" }, wantReason: "empty identifier"},
		{name: "PortZero", handler: serveFile(challenge.WellKnownPath, tok), edit: func(t *challenge.Target) { t.Port = 0 }, wantReason: "invalid port 0: outside 1..65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSite(tt.handler)
			p := serve(t, "127.0.0.2:0", s)
			c := newChecker(t, challenge.Config{
				AllowedPorts: []int{p},
				Hosts:        map[string][]netip.Addr{"a.test": {ip2}},
				MaxBody:      tt.maxBody,
			})
			tg := target("a.test", p)
			if tt.edit != nil {
				tt.edit(&tg)
			}
			err := c.CheckOne(t.Context(), requester, tg)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("CheckOne: %v, want nil", err)
				}
			} else if got := reasonOf(t, err); got != tt.wantReason {
				t.Fatalf("reason %q, want %q", got, tt.wantReason)
			}
			if got := s.Hits(); got != tt.wantHits {
				t.Errorf("server saw %d requests, want %d", got, tt.wantHits)
			}
		})
	}
}

func TestChecker_CheckOne_Timeout(t *testing.T) {
	tests := []struct {
		name    string
		handler func(release <-chan struct{}) http.HandlerFunc
	}{
		{"NoHeaders", func(release <-chan struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}
		}},
		{"BodyNeverEnds", func(release <-chan struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, tok)
				w.(http.Flusher).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			p := serve(t, "127.0.0.2:0", tt.handler(release))
			// Cleanups run last-in first-out: the handler returns before
			// the server's Close waits for it.
			t.Cleanup(func() { close(release) })
			c := newChecker(t, challenge.Config{
				Timeout:      200 * time.Millisecond,
				AllowedPorts: []int{p},
				Hosts:        map[string][]netip.Addr{"a.test": {ip2}},
			})
			start := time.Now()
			err := c.CheckOne(t.Context(), requester, target("a.test", p))
			elapsed := time.Since(start)
			if got, want := reasonOf(t, err), "timed out after 200ms"; got != want {
				t.Fatalf("reason %q, want %q", got, want)
			}
			if elapsed < 200*time.Millisecond || elapsed > 2*time.Second {
				t.Errorf("CheckOne returned after %s, want about 200ms", elapsed)
			}
		})
	}
}

func TestChecker_CheckOne_ConnectionRefused(t *testing.T) {
	p := closedPort(t, "127.0.0.2")
	c := newChecker(t, challenge.Config{AllowedPorts: []int{p}, Hosts: map[string][]netip.Addr{"nas.home.lan": {ip2}}})
	err := c.CheckOne(t.Context(), requester, target("nas.home.lan", p))
	if got, want := reasonOf(t, err), "connection refused"; got != want {
		t.Fatalf("reason %q, want %q", got, want)
	}
	if got, want := err.Error(), "nas.home.lan: connection refused"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is(%v, ECONNREFUSED) = false; the cause is lost", err)
	}
}

func TestChecker_CheckOne_TriesAddressesInOrder(t *testing.T) {
	s := newSite(serveFile(challenge.WellKnownPath, tok))
	p := serve(t, "127.0.0.2:0", s)
	// The same port on 127.0.0.3 must be closed for this test to mean anything.
	listen(t, net.JoinHostPort("127.0.0.3", strconv.Itoa(p))).Close()
	c := newChecker(t, challenge.Config{AllowedPorts: []int{p}, Hosts: map[string][]netip.Addr{
		"a.test": {ip3, ip2},
		"b.test": {ip3},
	}})
	if err := c.CheckOne(t.Context(), requester, target("a.test", p)); err != nil {
		t.Fatalf("a.test: %v, want nil after falling back to 127.0.0.2", err)
	}
	if got := s.Hits(); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}
	if got, want := reasonOf(t, c.CheckOne(t.Context(), requester, target("b.test", p))), "connection refused"; got != want {
		t.Errorf("b.test: reason %q, want %q", got, want)
	}
}

// TestChecker_CheckOne_IPv6Literal proves that an IPv6 identifier is dialed
// in brackets. ::1 is Exempt, but CheckOne does not consult Exempt.
func TestChecker_CheckOne_IPv6Literal(t *testing.T) {
	s := newSite(serveFile(challenge.WellKnownPath, tok))
	p := serve(t, "[::1]:0", s)
	c := newChecker(t, challenge.Config{AllowedPorts: []int{p}})
	for _, id := range []string{"::1", "0:0:0:0:0:0:0:1"} {
		if err := c.CheckOne(t.Context(), requester, target(id, p)); err != nil {
			t.Fatalf("CheckOne(%s): %v", id, err)
		}
		if got, want := s.LastHost(), "[::1]:"+strconv.Itoa(p); got != want {
			t.Errorf("%s: Host header %q, want %q", id, got, want)
		}
	}
}

// TestChecker_HostHeader routes every connection to one server through
// Config.DialContext, so it can see both what the checker dialed and which
// Host it named, for ports and addresses the test cannot bind.
func TestChecker_HostHeader(t *testing.T) {
	s := newSite(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, tok)
	}))
	srv := net.JoinHostPort("127.0.0.2", strconv.Itoa(serve(t, "127.0.0.2:0", s)))
	var dialed []string // CheckOne runs one at a time here
	d := &net.Dialer{}
	c := newChecker(t, challenge.Config{
		AllowedPorts: []int{80, 443, 8080, 8443},
		Hosts:        map[string][]netip.Addr{"nas.home.lan": {netip.MustParseAddr("192.0.2.10")}},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialed = append(dialed, addr)
			return d.DialContext(ctx, network, srv)
		},
	})
	tests := []struct {
		id         string
		port       int
		wantHost   string
		wantDialed string
	}{
		{"nas.home.lan", 80, "nas.home.lan", "192.0.2.10:80"},
		{"NAS.Home.Lan.", 8080, "nas.home.lan:8080", "192.0.2.10:8080"},
		{"192.0.2.7", 80, "192.0.2.7", "192.0.2.7:80"},
		{"::ffff:192.0.2.7", 8443, "192.0.2.7:8443", "192.0.2.7:8443"},
		{"2001:db8::5", 80, "[2001:db8::5]", "[2001:db8::5]:80"},
		{"2001:db8:0:0:0:0:0:5", 443, "[2001:db8::5]:443", "[2001:db8::5]:443"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			dialed = nil
			if err := c.CheckOne(t.Context(), requester, target(tt.id, tt.port)); err != nil {
				t.Fatalf("CheckOne: %v", err)
			}
			if got := s.LastHost(); got != tt.wantHost {
				t.Errorf("Host header %q, want %q", got, tt.wantHost)
			}
			if !slices.Equal(dialed, []string{tt.wantDialed}) {
				t.Errorf("dialed %q, want [%q]", dialed, tt.wantDialed)
			}
		})
	}
}

func TestChecker_CheckOne_DeniedNetwork(t *testing.T) {
	prefixes := func(ss ...string) []netip.Prefix {
		var ps []netip.Prefix
		for _, s := range ss {
			ps = append(ps, netip.MustParsePrefix(s))
		}
		return ps
	}
	tests := []struct {
		name       string
		id         string
		denied     []netip.Prefix
		wantReason string // "" means the check passes
	}{
		{"IPLiteral", "127.0.0.2", prefixes("127.0.0.0/8"), "address 127.0.0.2 is in a denied network"},
		{"Name", "a.test", prefixes("127.0.0.2/32"), "address 127.0.0.2 is in a denied network"},
		{"MappedIPv6Literal", "::ffff:127.0.0.2", prefixes("127.0.0.0/8"), "address 127.0.0.2 is in a denied network"},
		{"MappedPrefix", "127.0.0.2", prefixes("::ffff:127.0.0.0/104"), "address 127.0.0.2 is in a denied network"},
		// 127.0.0.2 would answer, but one denied address refuses the name.
		{"AnyAddressOfName", "both.test", prefixes("127.0.0.3/32"), "address 127.0.0.3 is in a denied network"},
		{"FromResolver", "resolved.test", prefixes("127.0.0.0/8"), "address 127.0.0.2 is in a denied network"},
		{"FromResolverMapped", "mapped.test", prefixes("127.0.0.0/8"), "address 127.0.0.2 is in a denied network"},
		{"UnspecifiedName", "zero.test", nil, "address 0.0.0.0 is unspecified"},
		{"UnspecifiedLiteral", "::", nil, "address :: is unspecified"},
		{"Multicast", "224.0.0.1", nil, "address 224.0.0.1 is multicast"},
		// A NAT64 gateway would carry these to the IPv4 address inside.
		{"NAT64Literal", "64:ff9b::7f00:2", prefixes("127.0.0.0/8"), "address 64:ff9b::7f00:2 is in a denied network"},
		{"NAT64Metadata", "64:ff9b::169.254.169.254", prefixes("169.254.0.0/16"), "address 64:ff9b::a9fe:a9fe is in a denied network"},
		{"NAT64FromResolver", "nat64.test", prefixes("127.0.0.2/32"), "address 64:ff9b::7f00:2 is in a denied network"},
		{"NAT64Multicast", "64:ff9b::e000:1", nil, "address 64:ff9b::e000:1 is multicast"},
		{"NAT64Unspecified", "64:ff9b::", nil, "address 64:ff9b:: is unspecified"},
		{"OtherNetwork", "a.test", prefixes("10.0.0.0/8", "::/0"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSite(serveFile(challenge.WellKnownPath, tok))
			p := serve(t, "127.0.0.2:0", s)
			c := newChecker(t, challenge.Config{
				AllowedPorts:   []int{p},
				DeniedNetworks: tt.denied,
				Hosts: map[string][]netip.Addr{
					"a.test":    {ip2},
					"both.test": {ip2, ip3},
					"zero.test": {netip.IPv4Unspecified()},
				},
				Resolver: &mapResolver{addrs: map[string][]netip.Addr{
					"resolved.test": {ip2},
					"mapped.test":   {netip.MustParseAddr("::ffff:127.0.0.2")},
					"nat64.test":    {netip.MustParseAddr("64:ff9b::127.0.0.2")},
				}},
			})
			err := c.CheckOne(t.Context(), requester, target(tt.id, p))
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("CheckOne: %v, want nil", err)
				}
				if s.Hits() != 1 {
					t.Fatalf("server saw %d requests, want 1", s.Hits())
				}
				return
			}
			if got := reasonOf(t, err); got != tt.wantReason {
				t.Fatalf("reason %q, want %q", got, tt.wantReason)
			}
			if got := s.Hits(); got != 0 {
				t.Errorf("server saw %d requests, want none", got)
			}
		})
	}
}

func TestChecker_CheckOne_Resolver(t *testing.T) {
	s2 := newSite(serveFile(challenge.WellKnownPath, tok))
	p2 := serve(t, "127.0.0.2:0", s2)
	s3 := newSite(serveFile(challenge.WellKnownPath, tok))
	p3 := serve(t, "127.0.0.3:0", s3)
	r := &mapResolver{addrs: map[string][]netip.Addr{
		"b.test":    {ip3},
		"a.test":    {ip3}, // shadowed by Hosts; using it would miss s2
		"void.test": {},
	}}
	c := newChecker(t, challenge.Config{
		AllowedPorts: []int{p2, p3},
		Hosts: map[string][]netip.Addr{
			"A.Test.":    {ip2},
			"empty.test": {},
		},
		Resolver: r,
	})
	tests := []struct {
		id         string
		port       int
		wantReason string
	}{
		{"a.test", p2, ""},
		{"b.test", p3, ""},
		{"B.TEST.", p3, ""},
		{"c.test", p3, "no such host"},
		{"empty.test", p3, "no address for name"},
		{"void.test", p3, "no address for name"},
	}
	for _, tt := range tests {
		err := c.CheckOne(t.Context(), requester, target(tt.id, tt.port))
		if tt.wantReason == "" {
			if err != nil {
				t.Errorf("%s: %v, want nil", tt.id, err)
			}
			continue
		}
		if got := reasonOf(t, err); got != tt.wantReason {
			t.Errorf("%s: reason %q, want %q", tt.id, got, tt.wantReason)
		}
	}
	if got, want := r.Asked(), []string{"b.test", "b.test", "c.test", "void.test"}; !slices.Equal(got, want) {
		t.Errorf("resolver asked for %q, want %q", got, want)
	}
	if s2.Hits() != 1 || s3.Hits() != 2 {
		t.Errorf("hits: 127.0.0.2 %d, 127.0.0.3 %d; want 1 and 2", s2.Hits(), s3.Hits())
	}
}

func TestChecker_AllowedPorts(t *testing.T) {
	s := newSite(serveFile(challenge.WellKnownPath, tok))
	p := serve(t, "127.0.0.2:0", s)
	other := p + 1
	if other > 65535 {
		other = p - 1
	}
	c := newChecker(t, challenge.Config{
		AllowedPorts: []int{p},
		Hosts:        map[string][]netip.Addr{"a.test": {ip2}},
	})
	if err := c.CheckOne(t.Context(), requester, target("a.test", p)); err != nil {
		t.Fatalf("allowed port: %v", err)
	}
	err := c.CheckOne(t.Context(), requester, target("a.test", other))
	if !errors.Is(err, challenge.ErrPort) {
		t.Fatalf("other port: %v, want ErrPort", err)
	}
	if got, want := reasonOf(t, err), "invalid port "+strconv.Itoa(other)+": not one of the allowed ports "+strconv.Itoa(p); got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	if got := s.Hits(); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}
}

func TestChecker_PortAllowed(t *testing.T) {
	def := newChecker(t, challenge.Config{})
	some := newChecker(t, challenge.Config{AllowedPorts: []int{80, 8080}})
	tests := []struct {
		name    string
		c       *challenge.Checker
		port    int
		wantErr string // "" means allowed
	}{
		{"Default/0", def, 0, "invalid port 0: outside 1..65535"},
		{"Default/-1", def, -1, "invalid port -1: outside 1..65535"},
		{"Default/65536", def, 65536, "invalid port 65536: outside 1..65535"},
		{"Default/1", def, 1, ""},
		{"Default/80", def, 80, ""},
		{"Default/1023", def, 1023, ""},
		// Any user of the target can listen above 1023; only an allowed
		// port list makes such a port usable.
		{"Default/1024", def, 1024, "invalid port 1024: not a privileged port (1..1023) and no other ports are allowed"},
		{"Default/8080", def, 8080, "invalid port 8080: not a privileged port (1..1023) and no other ports are allowed"},
		{"Default/65535", def, 65535, "invalid port 65535: not a privileged port (1..1023) and no other ports are allowed"},
		{"Some/80", some, 80, ""},
		{"Some/8080", some, 8080, ""},
		{"Some/81", some, 81, "invalid port 81: not one of the allowed ports 80, 8080"},
		{"Some/0", some, 0, "invalid port 0: outside 1..65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.PortAllowed(tt.port)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("PortAllowed(%d) = %v, want nil", tt.port, err)
				}
				return
			}
			if !errors.Is(err, challenge.ErrPort) {
				t.Fatalf("PortAllowed(%d) = %v, want ErrPort", tt.port, err)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("PortAllowed(%d) = %q, want %q", tt.port, err, tt.wantErr)
			}
		})
	}
}
