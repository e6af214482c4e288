package etcd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"certmaker/internal/binarytest"
)

// A cluster is etcd members run as processes of Debian's etcd (the
// etcd-server package), on loopback ports, each with its data directory:
// what an operator runs, killed with SIGKILL as a machine dies. (An
// embedded member's Close hands its leadership over first, which proves
// nothing about a crash.)
type cluster struct {
	members []*member
	initial string // --initial-cluster
}

type member struct {
	name, dir    string
	client, peer string // URLs
	cmd          *exec.Cmd
	exited       chan error
	log          string
}

// startCluster starts n members and waits until they have a leader.
func startCluster(t testing.TB, n int) *cluster {
	t.Helper()
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Fatalf("the cluster test needs Debian's etcd (apt-get install etcd-server; make deps installs it): %v", err)
	}
	c := &cluster{}
	var initial []string
	for i := range n {
		m := &member{
			name:   fmt.Sprintf("m%d", i+1),
			dir:    t.TempDir(),
			client: fmt.Sprintf("http://127.0.0.1:%d", binarytest.FreePort(t)),
			peer:   fmt.Sprintf("http://127.0.0.1:%d", binarytest.FreePort(t)),
		}
		m.log = filepath.Join(m.dir, "etcd.log")
		c.members = append(c.members, m)
		initial = append(initial, m.name+"="+m.peer)
	}
	c.initial = strings.Join(initial, ",")
	for _, m := range c.members {
		c.start(t, m)
	}
	t.Cleanup(func() {
		for _, m := range c.members {
			if m.cmd != nil {
				m.cmd.Process.Kill()
				<-m.exited
			}
		}
	})
	c.waitLeader(t, nil)
	return c
}

// start runs a member's process (again, after a kill: its data directory
// says which cluster it is in).
func (c *cluster) start(t testing.TB, m *member) {
	t.Helper()
	m.cmd = exec.Command("etcd",
		"--name", m.name, "--data-dir", filepath.Join(m.dir, "data"),
		"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
		"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
		"--initial-cluster", c.initial, "--initial-cluster-state", "new",
		"--initial-cluster-token", "certmaker-test",
		"--logger", "zap", "--log-outputs", m.log,
	)
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, ch chan error) { ch <- cmd.Wait() }(m.cmd, m.exited)
}

// kill SIGKILLs a member and waits until it is gone.
func (c *cluster) kill(t testing.TB, m *member) {
	t.Helper()
	if err := m.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-m.exited
	m.cmd = nil
}

func (c *cluster) endpoints() []string {
	var out []string
	for _, m := range c.members {
		out = append(out, m.client)
	}
	return out
}

// waitLeader polls the running members (other than not) until they all
// name the same leader, and returns it.
func (c *cluster) waitLeader(t testing.TB, not *member) *member {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := c.leader(not); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			var logs strings.Builder
			for _, m := range c.members {
				b, _ := os.ReadFile(m.log)
				fmt.Fprintf(&logs, "--- %s\n%s\n", m.name, tail(string(b), 2000))
			}
			t.Fatalf("the etcd members agree on no leader within a minute\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond) // polling a condition, with a deadline
	}
}

// leader is the member every running member (but not) names as leader,
// or nil while they do not agree.
func (c *cluster) leader(not *member) *member {
	var leaderID uint64
	for _, m := range c.members {
		if m == not || m.cmd == nil {
			continue
		}
		st, _, err := status(m.client)
		if err != nil || st == 0 {
			return nil
		}
		if leaderID != 0 && st != leaderID {
			return nil
		}
		leaderID = st
	}
	for _, m := range c.members {
		if m == not || m.cmd == nil {
			continue
		}
		if _, id, err := status(m.client); err == nil && id == leaderID {
			return m
		}
	}
	return nil
}

// status asks one member whom it follows and who it is.
func status(endpoint string) (leader, id uint64, err error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		return 0, 0, err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := cli.Status(ctx, endpoint)
	if err != nil {
		return 0, 0, err
	}
	return st.Leader, st.Header.MemberId, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
