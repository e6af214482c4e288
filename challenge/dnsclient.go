package challenge

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// maxCNAMEs bounds the aliases followed from the name asked for to its
// records: plenty for the usual delegation of _acme-challenge to another
// zone, and a loop or a long chain costs at most this many queries.
const maxCNAMEs = 8

// ednsSize is the UDP answer size offered (EDNS0): the size DNS flag day
// 2020 settled on, which fits a few TXT records without falling back to
// TCP and needs no IP fragments.
const ednsSize = 1232

// Errors of a lookup, sorted into reasons by dnsReason.
var (
	errNoName      = errors.New("no such name") // NXDOMAIN
	errNoData      = errors.New("no record of the type asked for")
	errCNAMEChain  = errors.New("too many aliases")
	errCNAMELoop   = errors.New("alias loop")
	errBadAnswer   = errors.New("malformed DNS answer")
	errServerRCode = errors.New("DNS server error")
)

// rcodeError is an answer whose response code is neither success nor
// NXDOMAIN: the server failed or refused.
type rcodeError struct{ code dnsmessage.RCode }

func (e *rcodeError) Error() string { return "DNS server answered " + rcodeName(e.code) }
func (e *rcodeError) Unwrap() error { return errServerRCode }

// rcodeName is the mnemonic of a response code, from our own table, never
// from the answer's bytes.
func rcodeName(c dnsmessage.RCode) string {
	switch c {
	case dnsmessage.RCodeFormatError:
		return "FORMERR"
	case dnsmessage.RCodeServerFailure:
		return "SERVFAIL"
	case dnsmessage.RCodeNotImplemented:
		return "NOTIMP"
	case dnsmessage.RCodeRefused:
		return "REFUSED"
	}
	return fmt.Sprintf("response code %d", c)
}

// dnsClient asks the configured DNS servers itself, over UDP and, for a
// truncated answer, TCP, and follows CNAMEs itself, so that a chain that
// leaves the zone of an authoritative server is followed too. It keeps no
// cache: a proof must see the record as published now, not as it was when
// a client first looked before publishing.
type dnsClient struct {
	servers []netip.AddrPort
	// system, if set, gives the servers instead: the system's, from
	// resolv.conf as it is now.
	system *resolvConf
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
}

// nameServers are the servers to ask now.
func (d *dnsClient) nameServers() []netip.AddrPort {
	if d.system != nil {
		return d.system.current()
	}
	return d.servers
}

// records follows name's aliases to its records of type qt, asking again
// for an alias target an answer says nothing more about.
func (d *dnsClient) records(ctx context.Context, name string, qt dnsmessage.Type) ([]dnsmessage.Resource, error) {
	cur, err := dnsmessage.NewName(fqdn(name))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoName, err)
	}
	seen := map[string]bool{nameKey(cur): true}
	for {
		m, err := d.exchange(ctx, cur, qt)
		if err != nil {
			return nil, err
		}
		moved := false
		for {
			next, ok := aliasOf(m.Answers, cur)
			if !ok || qt == dnsmessage.TypeCNAME {
				break
			}
			key := nameKey(next)
			switch {
			case seen[key]:
				return nil, errCNAMELoop
			case len(seen) > maxCNAMEs:
				return nil, errCNAMEChain
			}
			seen[key], cur, moved = true, next, true
		}
		var found []dnsmessage.Resource
		for _, rr := range m.Answers {
			if rr.Header.Type == qt && rr.Header.Class == dnsmessage.ClassINET && nameKey(rr.Header.Name) == nameKey(cur) {
				found = append(found, rr)
			}
		}
		switch {
		case len(found) > 0:
			return found, nil
		case m.RCode == dnsmessage.RCodeNameError:
			// After aliases, the code is about the last of them (RFC 6604).
			return nil, errNoName
		case !moved:
			return nil, errNoData
		}
		// The chain leads to a name this answer says nothing more about
		// (another zone of an authoritative server): ask for it.
	}
}

// aliasOf is the CNAME target of name in answers.
func aliasOf(answers []dnsmessage.Resource, name dnsmessage.Name) (dnsmessage.Name, bool) {
	for _, rr := range answers {
		if c, ok := rr.Body.(*dnsmessage.CNAMEResource); ok && rr.Header.Class == dnsmessage.ClassINET && nameKey(rr.Header.Name) == nameKey(name) {
			return c.CNAME, true
		}
	}
	return dnsmessage.Name{}, false
}

// exchange asks each server in turn until one answers with success or
// NXDOMAIN. Each but the last gets its share of the time left, so that a
// server that never answers leaves time for the next.
func (d *dnsClient) exchange(ctx context.Context, name dnsmessage.Name, qt dnsmessage.Type) (*dnsmessage.Message, error) {
	q := dnsmessage.Question{Name: name, Type: qt, Class: dnsmessage.ClassINET}
	var last error
	servers := d.nameServers()
	for i, srv := range servers {
		m, err := d.askShare(ctx, srv, q, len(servers)-i)
		if err == nil {
			if m.RCode == dnsmessage.RCodeSuccess || m.RCode == dnsmessage.RCodeNameError {
				return m, nil
			}
			err = &rcodeError{m.RCode}
		}
		if ctx.Err() != nil {
			return nil, err
		}
		last = err
	}
	if last == nil {
		last = errors.New("no DNS servers")
	}
	return nil, last
}

// askShare asks one server with 1/left of the time ctx has left.
func (d *dnsClient) askShare(ctx context.Context, srv netip.AddrPort, q dnsmessage.Question, left int) (*dnsmessage.Message, error) {
	if dl, ok := ctx.Deadline(); ok && left > 1 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/time.Duration(left)))
		defer cancel()
	}
	id, query, err := newQuery(q)
	if err != nil {
		return nil, err
	}
	m, err := d.roundTrip(ctx, "udp", srv, id, q, query)
	if err == nil && m.Truncated {
		m, err = d.roundTrip(ctx, "tcp", srv, id, q, query)
	}
	return m, err
}

// newQuery builds a recursive query for q with a random id and EDNS0.
func newQuery(q dnsmessage.Question) (uint16, []byte, error) {
	var idb [2]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return 0, nil, err
	}
	id := binary.BigEndian.Uint16(idb[:])
	b := dnsmessage.NewBuilder(make([]byte, 2, 512), dnsmessage.Header{ID: id, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return 0, nil, err
	}
	if err := b.Question(q); err != nil {
		return 0, nil, err
	}
	if err := b.StartAdditionals(); err != nil {
		return 0, nil, err
	}
	var opt dnsmessage.ResourceHeader
	if err := opt.SetEDNS0(ednsSize, dnsmessage.RCodeSuccess, false); err != nil {
		return 0, nil, err
	}
	if err := b.OPTResource(opt, dnsmessage.OPTResource{}); err != nil {
		return 0, nil, err
	}
	msg, err := b.Finish()
	if err != nil {
		return 0, nil, err
	}
	// The first two bytes are room for TCP's length prefix.
	binary.BigEndian.PutUint16(msg, uint16(len(msg)-2))
	return id, msg, nil
}

// roundTrip sends query to srv and reads the answer to it: over UDP,
// datagrams that are not that answer (another id or question, from a
// spoofer or an earlier query) are skipped until the deadline.
func (d *dnsClient) roundTrip(ctx context.Context, network string, srv netip.AddrPort, id uint16, q dnsmessage.Question, query []byte) (*dnsmessage.Message, error) {
	conn, err := d.dial(ctx, network, srv.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	m, err := exchangeOn(ctx, conn, network, id, q, query)
	if err != nil {
		// The socket's deadline is ctx's: let ctx see it has passed too,
		// so the caller tells its own timeout from a server's silence.
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			<-ctx.Done()
		}
	}
	return m, err
}

// exchangeOn sends query on conn and reads the answer.
func exchangeOn(ctx context.Context, conn net.Conn, network string, id uint16, q dnsmessage.Question, query []byte) (*dnsmessage.Message, error) {
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if network == "tcp" {
		if _, err := conn.Write(query); err != nil {
			return nil, err
		}
		r := bufio.NewReader(conn)
		var n uint16
		if err := binary.Read(r, binary.BigEndian, &n); err != nil {
			return nil, err
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		m, ok := answerTo(buf, id, q)
		if !ok {
			return nil, errBadAnswer
		}
		return m, nil
	}
	if _, err := conn.Write(query[2:]); err != nil {
		return nil, err
	}
	// One byte more than the largest answer taken over UDP: a datagram
	// that fills it was cut by the read.
	buf := make([]byte, maxUDPAnswer+1)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		if m, ok := answerTo(buf[:n], id, q); ok {
			return m, nil
		}
		if cutShort(buf[:n], id, n > maxUDPAnswer) {
			// The answer, but not all of it: a server that ignores
			// EDNS's size sent more than a datagram is read into, or
			// truncated it within a record. TCP carries it whole.
			return &dnsmessage.Message{Header: dnsmessage.Header{ID: id, Response: true, Truncated: true}}, nil
		}
	}
}

// maxUDPAnswer is the largest UDP answer read; anything larger is asked
// again over TCP.
const maxUDPAnswer = 4096

// cutShort reports whether b, which does not parse, begins an answer to
// the query id that is cut short: it filled the read (oversized) or says
// it is truncated.
func cutShort(b []byte, id uint16, oversized bool) bool {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	return err == nil && h.Response && h.ID == id && (oversized || h.Truncated)
}

// answerTo parses b if it is the answer to the query id for q.
func answerTo(b []byte, id uint16, q dnsmessage.Question) (*dnsmessage.Message, bool) {
	var m dnsmessage.Message
	if err := m.Unpack(b); err != nil {
		return nil, false
	}
	if !m.Response || m.ID != id || len(m.Questions) != 1 {
		return nil, false
	}
	got := m.Questions[0]
	if got.Type != q.Type || got.Class != q.Class || nameKey(got.Name) != nameKey(q.Name) {
		return nil, false
	}
	return &m, true
}

// LookupNetIP resolves host's addresses through the servers (A and AAAA),
// so that with DNS servers configured every proof uses the same ones. It
// makes dnsClient a Resolver.
func (d *dnsClient) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	var firstErr error
	for _, qt := range []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA} {
		if (network == "ip4" && qt == dnsmessage.TypeAAAA) || (network == "ip6" && qt == dnsmessage.TypeA) {
			continue
		}
		rrs, err := d.records(ctx, host, qt)
		if err != nil {
			if firstErr == nil || errors.Is(firstErr, errNoData) {
				firstErr = err
			}
			continue
		}
		for _, rr := range rrs {
			switch b := rr.Body.(type) {
			case *dnsmessage.AResource:
				out = append(out, netip.AddrFrom4(b.A))
			case *dnsmessage.AAAAResource:
				out = append(out, netip.AddrFrom16(b.AAAA))
			}
		}
	}
	switch {
	case len(out) > 0:
		return out, nil
	case errors.Is(firstErr, errNoName):
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	case errors.Is(firstErr, errNoData):
		return nil, nil
	}
	return nil, firstErr
}

// fqdn is name, lower-cased, with the root's dot.
func fqdn(name string) string {
	return normalizeName(name) + "."
}

// nameKey compares names as DNS does, without regard to ASCII case.
func nameKey(n dnsmessage.Name) string { return strings.ToLower(n.String()) }

// resolvConf is the name servers of a resolv.conf, read again when the
// file changes (its time or size, looked at every few seconds as Go's
// own resolver does), so that a DHCP lease that moves the DNS server does
// not break DNS proofs until a restart.
type resolvConf struct {
	path  string
	every time.Duration

	mu      sync.Mutex
	checked time.Time
	mod     time.Time
	size    int64
	read    bool
	servers []netip.AddrPort
}

func newResolvConf(path string) *resolvConf {
	return &resolvConf{path: path, every: 5 * time.Second}
}

// current returns the servers, read again if the file changed.
func (r *resolvConf) current() []netip.AddrPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.read && now.Sub(r.checked) < r.every {
		return r.servers
	}
	r.checked = now
	var mod time.Time
	size := int64(-1)
	if fi, err := os.Stat(r.path); err == nil {
		mod, size = fi.ModTime(), fi.Size()
	}
	if !r.read || !mod.Equal(r.mod) || size != r.size {
		r.servers, r.mod, r.size, r.read = systemServers(r.path), mod, size, true
	}
	return r.servers
}

// systemResolvConf is where the system's name servers are.
const systemResolvConf = "/etc/resolv.conf"

// systemServers are the name servers of a resolv.conf, port 53; if it
// names none (or cannot be read), the local host's, as the C library and
// Go's resolver assume.
func systemServers(path string) []netip.AddrPort {
	servers := readResolvConf(path)
	if len(servers) == 0 {
		servers = []netip.AddrPort{
			netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 53),
			netip.AddrPortFrom(netip.IPv6Loopback(), 53),
		}
	}
	return servers
}

func readResolvConf(path string) []netip.AddrPort {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []netip.AddrPort
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		// A zone (fe80::1%eth0) is kept: the address is only reachable
		// through it.
		if a, err := netip.ParseAddr(fields[1]); err == nil {
			out = append(out, netip.AddrPortFrom(a, 53))
		}
	}
	return out
}
