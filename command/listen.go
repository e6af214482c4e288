package command

import (
	"net"
	"net/netip"
)

// listenTCP listens on addr in the family its host names: an IPv4 address
// (0.0.0.0 too) listens on IPv4 only and an IPv6 one ([::] too) on IPv6
// only, where Go's "tcp" on a wildcard address would take both; a name or
// no host at all (":8880") takes whatever the system gives, usually both.
func listenTCP(addr string) (net.Listener, error) {
	return net.Listen(tcpNetwork(addr), addr)
}

// tcpNetwork is the network listenTCP uses for addr.
func tcpNetwork(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "tcp"
	}
	a, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return "tcp"
	case a.Unmap().Is4():
		return "tcp4"
	}
	return "tcp6"
}
