//go:build !linux

package admin

import "net"

// peerUID cannot ask the kernel outside Linux; the socket file's owner and
// mode (checkSocketFile) are then the only check.
func peerUID(net.Conn) (uint32, bool, error) { return 0, false, nil }
