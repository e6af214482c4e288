package store

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"certmaker/storage"

	bolt "go.etcd.io/bbolt"
)

// ErrDamaged and DamageError are storage's: a damaged file is one kind of
// damaged store.
var ErrDamaged = storage.ErrDamaged

// DamageError says which file is damaged and what was found wrong with it.
type DamageError = storage.DamageError

// Guard runs fn, which reads the database file at path, and turns a panic
// that bbolt raises on a damaged page (or a fault reading past the end of a
// file cut short) into a *DamageError. bbolt trusts its pages and panics
// when one is not what it expects, possibly long after Open; any other
// panic is a bug and goes on as it came.
func Guard(path string, fn func() error) (err error) {
	// A fault in the mapping becomes a panic that can be recovered, for
	// this goroutine, for as long as fn runs.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if !fromDamage(r) {
			panic(r)
		}
		e := &DamageError{Path: path}
		e.Add(fmt.Sprintf("a page does not read as bbolt wrote it (%v)", r))
		err = e
	}()
	return fn()
}

// fromDamage reports whether a recovered panic came from reading the file:
// a memory fault (only possible, with SetPanicOnFault, in the mapping), or
// a panic raised inside bbolt itself rather than in a callback of ours.
// Called from Guard's deferred function, whose caller is the panic.
func fromDamage(r any) bool {
	if _, ok := r.(interface{ Addr() uintptr }); ok {
		return true
	}
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			panicking = true
		case panicking && !strings.HasPrefix(f.Function, "runtime."):
			// The first frame below the panic machinery raised it.
			return strings.HasPrefix(f.Function, "go.etcd.io/bbolt")
		}
		if !more {
			return false
		}
	}
}

// check runs bbolt's consistency check on tx and returns what it found as
// a *DamageError, or nil. It first reads every page itself, under Guard:
// bbolt's check runs in a goroutine of its own, where a panic on a damaged
// page cannot be recovered and would end the process with a stack trace.
func check(path string, tx *bolt.Tx) error {
	if err := Guard(path, func() error { walk(tx); return nil }); err != nil {
		return err
	}
	e := &DamageError{Path: path}
	for err := range tx.Check() {
		e.Add(err.Error())
	}
	if len(e.Problems) > 0 {
		return e
	}
	return nil
}

// walk reads every key and value of every bucket, nested ones included,
// so that every page of the tree is visited. It returns a byte of them
// all, so that no read can be optimized away.
func walk(tx *bolt.Tx) byte {
	var sum byte
	touch := func(p []byte) {
		if len(p) > 0 {
			sum ^= p[0] ^ p[len(p)-1]
		}
	}
	var visit func(b *bolt.Bucket)
	visit = func(b *bolt.Bucket) {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			touch(k)
			touch(v)
			if v == nil {
				if child := b.Bucket(k); child != nil {
					visit(child)
				}
			}
		}
	}
	tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		touch(name)
		visit(b)
		return nil
	})
	return sum
}
