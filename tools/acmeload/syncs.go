package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// syncCalls are the system calls that wait for the disk: what a durable
// store pays per commit.
const syncCalls = "trace=fsync,fdatasync,sync_file_range,msync"

// syncCounter is strace -c attached to the server for one timed phase.
type syncCounter struct {
	cmd *exec.Cmd
	out string
}

func startSyncCounter(pid int, out string) (*syncCounter, error) {
	cmd := exec.Command("strace", "-f", "-c", "-e", syncCalls, "-o", out, "-p", strconv.Itoa(pid))
	cmd.Stderr = nil // "attached"/"detached" chatter
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start strace (scripts/deps.sh installs it): %w", err)
	}
	// strace attaches to each of the server's threads in turn; a syscall
	// before that would go uncounted.
	time.Sleep(500 * time.Millisecond)
	return &syncCounter{cmd: cmd, out: out}, nil
}

// stop detaches strace (SIGINT makes it write its summary) and returns the
// number of sync calls it counted.
func (s *syncCounter) stop() (int64, error) {
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	_ = s.cmd.Wait() // exits non-zero after SIGINT
	f, err := os.Open(s.out)
	if err != nil {
		return 0, fmt.Errorf("read strace's summary: %w", err)
	}
	defer f.Close()
	return straceTotal(f)
}

// straceTotal reads the calls column of strace -c's last row, "100.00
// 0.306040 107 2860 [errors] total"; a summary without one (nothing was
// called) counts 0.
func straceTotal(r io.Reader) (int64, error) {
	var n int64
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 5 && fs[len(fs)-1] == "total" {
			v, err := strconv.ParseInt(fs[3], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("strace summary %q: %w", sc.Text(), err)
			}
			n = v
		}
	}
	return n, sc.Err()
}
