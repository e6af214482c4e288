// Package storagetest is the contract of storage.Store, as tests any
// backend runs: Run checks every method against what storage says (the
// sentinel errors, first-solve-wins, strictly increasing CRL numbers, the
// indexes and counters against a brute-force scan, the CRL list skipping
// expired certificates), update functions run more than once, concurrent
// writers, secrets sealed and refused under a wrong key, and data that
// survives a close and reopen, and what the processes of a store agree on
// (claims, sessions, used nonces).
//
// What only one backend has (bbolt's group commit, damaged pages,
// releasing mapped memory, a full disk) is tested in that backend's
// package.
package storagetest

import (
	"crypto/rand"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certmaker/storage"
	"certmaker/storage/seal"
)

// Store is a storage.Store that holds a resource until closed.
type Store interface {
	storage.Store
	io.Closer
}

// Place is where one store keeps its data (a file, a prefix in a
// cluster), as the backend under test makes it.
type Place struct {
	// Open opens the store kept here, its secrets sealed under the key in
	// keyFile, which it makes on the first open of an empty place. Every
	// call opens the same data; the suite closes a store before it opens
	// the place again.
	Open func(keyFile string) (Store, error)
	// Raw, if set, returns every byte the place holds as stored (a file's
	// bytes; every key and value under a prefix), for the check that no
	// secret is kept in clear. The store is open when it is called.
	Raw func() ([]byte, error)
}

// Backend is what the suite needs of a backend.
type Backend struct {
	// New makes an empty place, removed when t ends.
	New func(t *testing.T) Place
	// Reruns says the backend runs update functions again when their
	// transaction must be retried (bbolt's group commit when another call
	// of the batch fails, an optimistic transaction that lost a race):
	// the suite then provokes reruns, and fails if it sees none.
	Reruns bool
}

// Run runs the whole suite against b, each part as a subtest of t.
func Run(t *testing.T, b Backend) {
	for _, part := range []struct {
		name string
		run  func(*testing.T, *harness)
	}{
		{"Users", testUsers},
		{"Roots", testRoots},
		{"Certificates", testCertificates},
		{"Challenges", testChallenges},
		{"Revocations", testRevocations},
		{"Issuer", testIssuer},
		{"AgreeCRL", testAgreeCRL},
		{"ACMEAccounts", testACMEAccounts},
		{"ACMEOrders", testACMEOrders},
		{"Proofs", testProofs},
		{"ACMESweep", testACMESweep},
		{"ACMEUnbound", testACMEUnbound},
		{"Indexes", testIndexes},
		{"Reopen", testReopen},
		{"Sealing", testSealing},
		{"Concurrent", testConcurrent},
		{"Reruns", testReruns},
		{"Coordination", testCoordination},
	} {
		t.Run(part.name, func(t *testing.T) { part.run(t, &harness{b: b}) })
	}
}

// harness opens stores of the backend for one part of the suite.
type harness struct{ b Backend }

// fixture is one place and the store open on it.
type fixture struct {
	t       *testing.T
	place   Place
	keyFile string
	s       Store
}

// open opens a new, empty store, closed when t ends.
func (h *harness) open(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, place: h.b.New(t), keyFile: filepath.Join(t.TempDir(), "seal.key")}
	t.Cleanup(func() {
		if f.s != nil {
			f.s.Close()
		}
	})
	var err error
	if f.s, err = f.place.Open(f.keyFile); err != nil {
		t.Fatalf("opening a new store: %v", err)
	}
	return f
}

// store is a new, empty store, closed when t ends.
func (h *harness) store(t *testing.T) Store { return h.open(t).s }

// close closes the open store.
func (f *fixture) close() {
	f.t.Helper()
	if err := f.s.Close(); err != nil {
		f.t.Fatalf("closing the store: %v", err)
	}
	f.s = nil
}

// reopen closes the store and opens the same place again.
func (f *fixture) reopen() Store {
	f.t.Helper()
	f.close()
	s, err := f.openWith(f.keyFile)
	if err != nil {
		f.t.Fatalf("reopening the store: %v", err)
	}
	return s
}

// openWith opens the (closed) place with another key file.
func (f *fixture) openWith(keyFile string) (Store, error) {
	s, err := f.place.Open(keyFile)
	if err == nil {
		f.s = s
	}
	return s, err
}

func randomBytes(n int) []byte {
	p := make([]byte, n)
	rand.Read(p)
	return p
}

// newSerial is a positive random serial, as ca makes them.
func newSerial() *big.Int {
	return new(big.Int).SetBytes(append([]byte{0x40}, randomBytes(15)...))
}

// base is a fixed moment the suite's records are made around, to the
// microsecond as an encoding may keep them.
var base = time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)

func newCert(owner string) *storage.Certificate {
	return &storage.Certificate{
		Serial:   newSerial(),
		DER:      randomBytes(300),
		Owner:    owner,
		Root:     "3f1a9c",
		KeyPKCS8: randomBytes(138),
		KeyType:  "ecdsa-p256",
		Names:    []string{owner + ".example.com", "www." + owner + ".example.com"},
		NotAfter: base.Add(90 * 24 * time.Hour),
		Created:  base,
	}
}

func mustPut(t *testing.T, s storage.Store, c *storage.Certificate) {
	t.Helper()
	if err := s.PutCertificate(c); err != nil {
		t.Fatalf("PutCertificate(%s): %v", c.Serial, err)
	}
}

// wantErr fails t unless err is target (errors.Is).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

var errRefused = errors.New("refused by the update function")

// sealKeyIn writes a new key file in a directory of t's.
func sealKeyIn(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "other.key")
	key, err := seal.NewKey()
	must(t, "making a key", err)
	must(t, "writing a key file", seal.WriteKeyFile(path, key))
	return path
}

// MustCatch runs the suite against b, a backend broken on purpose, in a
// child process of the test binary (its failures must not fail t), and
// requires that the suite catches the slip where it looks (every part of
// failing fails) and nowhere else (every part of passing passes). The test
// calling it must be a top-level test of its own.
func MustCatch(t *testing.T, b Backend, failing, passing []string) {
	t.Helper()
	const env = "CERTMAKER_BROKEN_STORE"
	if os.Getenv(env) == "1" {
		Run(t, b)
		return
	}
	if testing.Short() {
		t.Skip("runs the whole suite again")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed a backend broken on purpose:\n%s", out)
	}
	for _, part := range failing {
		if !strings.Contains(string(out), "--- FAIL: "+t.Name()+"/"+part) {
			t.Errorf("the suite's %s part did not fail on the broken backend:\n%s", part, out)
		}
	}
	for _, part := range passing {
		if !strings.Contains(string(out), "--- PASS: "+t.Name()+"/"+part) {
			t.Errorf("the suite's %s part, which the slip does not touch, did not pass:\n%s", part, out)
		}
	}
}
