package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// loadFlags are the flags sign and acme share.
type loadFlags struct {
	conns    int
	duration time.Duration
	pid      int
	db       string
	rootCA   string
	syncs    string
}

func (l *loadFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&l.conns, "conns", 32, "workers, each with its own keep-alive connection")
	fs.DurationVar(&l.duration, "duration", 10*time.Second, "length of the timed phase")
	fs.IntVar(&l.pid, "pid", 0, "server process to measure (CPU, RSS) over the timed phase")
	fs.StringVar(&l.db, "db", "", "server's database file or directory, to measure its growth")
	fs.StringVar(&l.rootCA, "root", "", "PEM root to trust for an https:// server")
	fs.StringVar(&l.syncs, "count-syncs", "", "count the server's disk syncs over the timed phase with strace, writing its summary to this `file` (slows the server: not for timed figures)")
}

// httpClient is one worker's client: HTTP/1.1 on its own keep-alive
// connection, as wrk's connections are, so that no server gets HTTP/2
// multiplexing the others do not.
func (l *loadFlags) httpClient() (*http.Client, error) {
	tr := &http.Transport{
		MaxIdleConnsPerHost: 1,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	if l.rootCA != "" {
		b, err := os.ReadFile(l.rootCA)
		if err != nil {
			return nil, fmt.Errorf("read -root: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("-root %s holds no certificate", l.rootCA)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}, nil
}

// result is what one timed run prints.
type result struct {
	n, errors         int
	firstErr          error
	elapsed           time.Duration
	lat               []time.Duration
	cpuTicks          int64 // server utime+stime over the run, in USER_HZ
	rssKB, anonKB     int64 // server peak VmRSS and RssAnon, sampled
	dbBefore, dbAfter int64 // allocated bytes of the server's database
	extra             string
}

// userHZ is the unit of /proc/PID/stat's times; Linux fixes it at 100 for
// user space whatever the kernel's tick rate.
const userHZ = 100

func (r *result) String() string {
	slices.Sort(r.lat)
	pct := func(p float64) float64 {
		if len(r.lat) == 0 {
			return 0
		}
		return float64(r.lat[int(p*float64(len(r.lat)-1))].Microseconds()) / 1000
	}
	rate := 0.0
	if r.elapsed > 0 {
		rate = float64(r.n) / r.elapsed.Seconds()
	}
	cpuMS, perCert := "-", "-"
	if r.n > 0 && r.cpuTicks >= 0 {
		cpuMS = strconv.FormatFloat(float64(r.cpuTicks)*1000/userHZ/float64(r.n), 'f', 3, 64)
	}
	if r.n > 0 && r.dbBefore >= 0 && r.dbAfter >= 0 {
		perCert = strconv.FormatInt((r.dbAfter-r.dbBefore)/int64(r.n), 10)
	}
	s := fmt.Sprintf("n=%d errors=%d secs=%.2f rate=%.1f p50=%.2f p99=%.2f cpu_ms=%s rss_kb=%d anon_kb=%d db_bytes_per_cert=%s",
		r.n, r.errors, r.elapsed.Seconds(), rate, pct(0.50), pct(0.99), cpuMS, r.rssKB, r.anonKB, perCert)
	if r.extra != "" {
		s += " " + r.extra
	}
	return s
}

// run calls do from conns workers until the duration has passed and
// measures the server over exactly that phase (setup such as ACME account
// registration happens before). A request in flight at the deadline is
// waited for and counted, and the clock runs until it ends.
func (l *loadFlags) run(do func(ctx context.Context, worker int) error) (*result, error) {
	r := &result{cpuTicks: -1, dbBefore: -1, dbAfter: -1}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var samplerDone chan struct{}
	var c0 int64
	if l.pid > 0 {
		var err error
		if c0, err = cpuTicks(l.pid); err != nil {
			return nil, err
		}
		samplerDone = make(chan struct{})
		go func() {
			defer close(samplerDone)
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				if rss, anon, err := rssKB(l.pid); err == nil {
					r.rssKB, r.anonKB = max(r.rssKB, rss), max(r.anonKB, anon)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	if l.db != "" {
		r.dbBefore = diskBytes(l.db)
	}

	var tracer *syncCounter
	if l.syncs != "" && l.pid > 0 {
		var err error
		if tracer, err = startSyncCounter(l.pid, l.syncs); err != nil {
			return nil, err
		}
	}

	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(l.duration)
	for w := range l.conns {
		wg.Go(func() {
			var lat []time.Duration
			errs := 0
			var first error
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := do(ctx, w); err != nil {
					errs++
					if first == nil {
						first = err
					}
					time.Sleep(10 * time.Millisecond) // no hot loop on a refusing server
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			defer mu.Unlock()
			r.lat = append(r.lat, lat...)
			r.n += len(lat)
			r.errors += errs
			if r.firstErr == nil {
				r.firstErr = first
			}
		})
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	if tracer != nil {
		n, err := tracer.stop()
		if err != nil {
			return nil, err
		}
		per := "-"
		if r.n > 0 {
			per = strconv.FormatFloat(float64(n)/float64(r.n), 'f', 2, 64)
		}
		r.extra = fmt.Sprintf("syncs=%d syncs_per_cert=%s", n, per)
	}
	if l.pid > 0 {
		c1, err := cpuTicks(l.pid)
		if err != nil {
			return nil, err
		}
		r.cpuTicks = c1 - c0
		cancel()
		<-samplerDone
	}
	if l.db != "" {
		r.dbAfter = diskBytes(l.db)
	}
	return r, nil
}

// cpuTicks reads utime+stime of a process (fields 14 and 15 of
// /proc/PID/stat, counted after the command name, which may hold spaces).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the server's cpu times: %w", err)
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	// f[0] is field 3 (state), so fields 14 and 15 are f[11] and f[12].
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad cpu times", pid)
	}
	return u + s, nil
}

// rssKB reads VmRSS and RssAnon: RSS counts the mmap'd database pages the
// server touched, RssAnon only its own memory.
func rssKB(pid int) (rss, anon int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "RssAnon":
			anon = n
		}
	}
	return rss, anon, sc.Err()
}

// diskBytes is the space a file or directory tree takes on disk (allocated
// blocks, not apparent size): bbolt grows its file by truncation and badger
// preallocates its value log the same way, so the apparent size jumps by
// megabytes while only the written pages take space.
func diskBytes(path string) int64 {
	var total int64
	_ = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		}
		return nil
	})
	return total
}
