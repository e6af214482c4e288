package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStraceTotal(t *testing.T) {
	for _, tc := range []struct {
		name, summary string
		want          int64
	}{
		{"one call kind", `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
100.00    0.306040         107      2860           fdatasync
------ ----------- ----------- --------- --------- ----------------
100.00    0.306040         107      2860           total
`, 2860},
		{"with errors", `100.00    0.001000          10       100         3 total
`, 100},
		{"nothing called", `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := straceTotal(strings.NewReader(tc.summary))
			if err != nil || got != tc.want {
				t.Fatalf("straceTotal = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// cpuTicks must read this very process's CPU time and see it grow when
// the process works, or every "server CPU per certificate" is wrong.
func TestCPUTicksGrowsWithWork(t *testing.T) {
	pid := os.Getpid()
	c0, err := cpuTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(150 * time.Millisecond); time.Now().Before(end); {
	}
	c1, err := cpuTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	if c1-c0 < 5 {
		t.Fatalf("150 ms of spinning counted %d ticks, want at least 5", c1-c0)
	}
}

func TestDiskBytesCountsWrittenBlocksNotSparseSize(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(64 << 20); err != nil { // as bbolt grows its file
		t.Fatal(err)
	}
	if got := diskBytes(dir); got > 1<<20 {
		t.Fatalf("a sparse 64 MiB file counts %d bytes", got)
	}
	if _, err := f.WriteAt(make([]byte, 1<<20), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := diskBytes(dir); got < 1<<20 {
		t.Fatalf("1 MiB written counts %d bytes", got)
	}
}
