package etcd

import "testing"

// dial_timeout bounds the first contact with the cluster, whatever
// request_timeout says, and the failure names the endpoints in one line.
// (binary.Run fails the test as hung after 30 s; request_timeout is a
// minute.)
func TestServe_DialTimeoutBoundsTheFirstContact(t *testing.T) {
	dir, _ := nodeDir(t, sharedKey(t), newPrefix(), []string{"127.0.0.1:1"})
	editConf(t, dir, `request_timeout = "3s"`, `request_timeout = "60s"`, `dial_timeout = "3s"`, `dial_timeout = "1s"`)
	_, stderr, err := binary.Run(t, dir, "serve")
	oneLine(t, "serve on an unreachable cluster", stderr, err, "127.0.0.1:1", "dial_timeout", "refused")
}

// An https endpoint at an etcd that speaks plain HTTP says so.
func TestServe_TLSMismatchIsNamed(t *testing.T) {
	dir, _ := nodeDir(t, sharedKey(t), newPrefix(), []string{"https://" + embedded.endpoint})
	_, stderr, err := binary.Run(t, dir, "serve")
	oneLine(t, "an https endpoint at a plain etcd", stderr, err, embedded.endpoint, "plain", "TLS")
}
