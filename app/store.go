package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"certmaker/config"
	"certmaker/store"
)

// OpenOptions say what a command needs of the store.
type OpenOptions struct {
	// Create makes a new store where there is none. Only serve and init
	// create: a typo in --db must not make a second CA nobody serves.
	Create bool
	// Empty refuses a store that holds anything of another CA, before
	// writing (a migration's target; etcd only: a new bbolt file is
	// empty).
	Empty bool
	// ReadOnly opens without writing (check, a backup's verification).
	ReadOnly bool
	// Wait is how long to wait for another process that holds the store;
	// 0 fails at once.
	Wait time.Duration
	// CheckAll reads and checks everything the store holds before it is
	// used (check, a backup's verification); otherwise only what is cheap.
	CheckAll bool
	// UnsafeNoSync commits without fsync: the power-cut tests' negative
	// control, never an operator's choice.
	UnsafeNoSync bool
	// UnsafeStaleTokens makes an etcd node's token cache ignore its
	// watch: the cluster test's negative control, never an operator's.
	UnsafeStaleTokens bool
	// Logger hears what a store shared by several nodes notices on its
	// own (etcd: another node's rekey); nil discards it.
	Logger *slog.Logger
}

// StoreCloser is a Store that holds a resource until closed.
type StoreCloser interface {
	Store
	io.Closer
}

// ErrNoStore is a store that does not exist where the configuration says,
// opened without Create.
var ErrNoStore = errors.New("no database")

// OpenStore opens the store cfg names, as o says: the one place that
// chooses a backend and opens it, for serve and for every command.
// A store held by another process is storage.ErrLocked; a damaged one a
// *storage.DamageError.
func OpenStore(cfg config.Config, o OpenOptions) (StoreCloser, error) {
	if cfg.Store.Backend == "etcd" {
		return openEtcd(cfg, o)
	}
	path := cfg.Store.Path
	if !o.Create {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: check --db or --config (certmaker serve or certmaker init makes a new one)", ErrNoStore, path)
		}
	}
	check := store.CheckSmall
	if o.CheckAll {
		check = store.CheckAlways
	}
	db, err := store.Open(path, store.Options{
		Timeout:      o.Wait,
		ReadOnly:     o.ReadOnly,
		Check:        check,
		UnsafeNoSync: o.UnsafeNoSync,
		KeyFile:      cfg.Store.KeyPath(),
	})
	if err != nil {
		// Not a nil *store.DB inside a non-nil StoreCloser.
		return nil, err
	}
	return db, nil
}

// Guard runs fn, which reads the store cfg names, and turns a panic that a
// damaged store raises while it is read into a *storage.DamageError.
func Guard(cfg config.Config, fn func() error) error {
	if cfg.Store.Backend == "etcd" {
		return fn() // etcd checks its own pages
	}
	return store.Guard(cfg.Store.Path, fn)
}
