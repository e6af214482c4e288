// Package dnstest is a test helper: a small DNS server on a loopback
// address, over UDP and TCP on one port, answering from records a test
// sets, so that tests of DNS proofs run against a real server and real
// sockets without a DNS program installed. It answers like an
// authoritative server: NXDOMAIN for a name it has nothing at, an empty
// answer for a name with other records, and a CNAME alone for an alias
// (or, with Follow, the chain and its target's records, as a recursive
// resolver would). The e2e tests use a real DNS server (knot) instead.
package dnstest

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// Server is a running test DNS server.
type Server struct {
	// Addr is where it listens, UDP and TCP.
	Addr netip.AddrPort

	mu       sync.Mutex
	txt      map[string][][]string // name -> records, each its strings
	cname    map[string]string
	a        map[string][]netip.Addr
	follow   bool
	truncate bool
	rcode    dnsmessage.RCode
	spoof    bool
	silent   bool
	queries  []string
}

// Serve starts a server on ip ("127.0.0.2") at a port free for both UDP
// and TCP, until the test ends. A listen error skips the test: the
// loopback alias may be missing on this machine.
func Serve(t testing.TB, ip string) *Server {
	t.Helper()
	s := &Server{txt: map[string][][]string{}, cname: map[string]string{}, a: map[string][]netip.Addr{}}
	var pc net.PacketConn
	var ln net.Listener
	for range 20 {
		var err error
		if pc, err = net.ListenPacket("udp", net.JoinHostPort(ip, "0")); err != nil {
			t.Skipf("cannot listen on %s: %v", ip, err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			s.Addr = netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(port))
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		t.Skipf("no port free for both UDP and TCP on %s", ip)
	}
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go s.serveUDP(pc)
	go s.serveTCP(ln)
	return s
}

func key(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// TXT replaces the TXT records at name; each value is one record, split
// into strings of at most 255 bytes (or given as "a|b" to split it there).
func (s *Server) TXT(name string, values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var recs [][]string
	for _, v := range values {
		recs = append(recs, strings.Split(v, "|"))
	}
	s.txt[key(name)] = recs
}

// CNAME makes name an alias of target.
func (s *Server) CNAME(name, target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cname[key(name)] = key(target)
}

// A gives name addresses (A or AAAA records, by the address's kind).
func (s *Server) A(name string, addrs ...netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.a[key(name)] = addrs
}

// Follow makes answers carry the alias chain and the records at its end,
// as a recursive resolver's do.
func (s *Server) Follow(on bool) { s.mu.Lock(); s.follow = on; s.mu.Unlock() }

// Truncate answers every UDP query with an empty, truncated answer, so
// that clients must ask again over TCP.
func (s *Server) Truncate(on bool) { s.mu.Lock(); s.truncate = on; s.mu.Unlock() }

// RCode answers every query with code (SERVFAIL, REFUSED...) and nothing
// else; RCodeSuccess answers from the records again.
func (s *Server) RCode(code dnsmessage.RCode) { s.mu.Lock(); s.rcode = code; s.mu.Unlock() }

// Spoof sends, before each UDP answer, one with another id and the TXT
// value "spoofed", as an off-path attacker racing the server would.
func (s *Server) Spoof(on bool) { s.mu.Lock(); s.spoof = on; s.mu.Unlock() }

// Silent reads queries and never answers them.
func (s *Server) Silent(on bool) { s.mu.Lock(); s.silent = on; s.mu.Unlock() }

// Queries are the names asked for so far, with their type ("TXT
// _acme-challenge.a.test").
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

func (s *Server) serveUDP(pc net.PacketConn) {
	buf := make([]byte, 4096)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var q dnsmessage.Message
		if q.Unpack(buf[:n]) != nil || len(q.Questions) != 1 {
			continue
		}
		s.mu.Lock()
		spoof, truncate := s.spoof, s.truncate
		s.mu.Unlock()
		if spoof {
			fake := dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID + 1, Response: true}, Questions: q.Questions,
				Answers: []dnsmessage.Resource{txtRR(q.Questions[0].Name, []string{"spoofed"})}}
			if b, err := fake.Pack(); err == nil {
				pc.WriteTo(b, from)
			}
		}
		resp, ok := s.answer(&q)
		if !ok {
			continue
		}
		if truncate {
			resp.Truncated, resp.Answers = true, nil
		}
		if b, err := resp.Pack(); err == nil {
			pc.WriteTo(b, from)
		}
	}
}

func (s *Server) serveTCP(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			r := bufio.NewReader(conn)
			var n uint16
			if binary.Read(r, binary.BigEndian, &n) != nil {
				return
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(r, buf); err != nil {
				return
			}
			var q dnsmessage.Message
			if q.Unpack(buf) != nil || len(q.Questions) != 1 {
				return
			}
			resp, ok := s.answer(&q)
			if !ok {
				return
			}
			b, err := resp.Pack()
			if err != nil {
				return
			}
			conn.Write(binary.BigEndian.AppendUint16(nil, uint16(len(b))))
			conn.Write(b)
		}()
	}
}

// answer builds the answer to q from the records; false for no answer.
func (s *Server) answer(q *dnsmessage.Message) (*dnsmessage.Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	qq := q.Questions[0]
	s.queries = append(s.queries, strings.TrimPrefix(qq.Type.String(), "Type")+" "+key(qq.Name.String()))
	if s.silent {
		return nil, false
	}
	resp := &dnsmessage.Message{
		Header:    dnsmessage.Header{ID: q.ID, Response: true, Authoritative: true, RecursionDesired: q.RecursionDesired, RCode: s.rcode},
		Questions: q.Questions,
	}
	if s.rcode != dnsmessage.RCodeSuccess {
		return resp, true
	}
	name := key(qq.Name.String())
	owner := qq.Name
	for hops := 0; ; hops++ {
		target, alias := s.cname[name]
		if !alias {
			break
		}
		tn := dnsmessage.MustNewName(target + ".")
		resp.Answers = append(resp.Answers, dnsmessage.Resource{
			Header: dnsmessage.ResourceHeader{Name: owner, Type: dnsmessage.TypeCNAME, Class: dnsmessage.ClassINET, TTL: 60},
			Body:   &dnsmessage.CNAMEResource{CNAME: tn},
		})
		if !s.follow || hops > 20 {
			return resp, true
		}
		name, owner = target, tn
	}
	_, hasTXT := s.txt[name]
	_, hasA := s.a[name]
	if !hasTXT && !hasA {
		resp.RCode = dnsmessage.RCodeNameError
		return resp, true
	}
	switch qq.Type {
	case dnsmessage.TypeTXT:
		for _, rec := range s.txt[name] {
			resp.Answers = append(resp.Answers, txtRR(owner, rec))
		}
	case dnsmessage.TypeA, dnsmessage.TypeAAAA:
		for _, a := range s.a[name] {
			h := dnsmessage.ResourceHeader{Name: owner, Class: dnsmessage.ClassINET, TTL: 60}
			switch {
			case a.Is4() && qq.Type == dnsmessage.TypeA:
				h.Type = dnsmessage.TypeA
				resp.Answers = append(resp.Answers, dnsmessage.Resource{Header: h, Body: &dnsmessage.AResource{A: a.As4()}})
			case a.Is6() && qq.Type == dnsmessage.TypeAAAA:
				h.Type = dnsmessage.TypeAAAA
				resp.Answers = append(resp.Answers, dnsmessage.Resource{Header: h, Body: &dnsmessage.AAAAResource{AAAA: a.As16()}})
			}
		}
	}
	return resp, true
}

func txtRR(owner dnsmessage.Name, strs []string) dnsmessage.Resource {
	return dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: owner, Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET, TTL: 60},
		Body:   &dnsmessage.TXTResource{TXT: strs},
	}
}
