package challenge

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestResolvConf_Reread: the system's name servers are read again when
// resolv.conf changes (a DHCP lease that moves the DNS server), not only
// at start, and the dnsClient without configured servers asks them.
func TestResolvConf_Reread(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	write := func(body string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Now().Add(-time.Hour)
	write("nameserver 192.0.2.1\n", at)
	d := &dnsClient{system: newResolvConf(path)}
	d.system.every = 0 // stat on every call here
	want := func(addrs ...string) {
		t.Helper()
		var w []netip.AddrPort
		for _, a := range addrs {
			w = append(w, netip.AddrPortFrom(netip.MustParseAddr(a), 53))
		}
		if got := d.nameServers(); !slices.Equal(got, w) {
			t.Errorf("name servers %v, want %v", got, w)
		}
	}
	want("192.0.2.1")
	write("nameserver 198.51.100.7\nnameserver 2001:db8::53\n", at.Add(time.Minute))
	want("198.51.100.7", "2001:db8::53")
	// Gone, or naming none: the loopback resolvers, as glibc does.
	os.Remove(path)
	want("127.0.0.1", "::1")
	write("# empty\n", at.Add(2*time.Minute))
	want("127.0.0.1", "::1")
	write("nameserver 192.0.2.9\n", at.Add(3*time.Minute))
	want("192.0.2.9")
}
