// Package testdb opens a database for tests outside package store the way
// every command does, through app.OpenStore: nothing but app and store
// calls store.Open.
package testdb

import (
	"fmt"
	"time"

	"certmaker/app"
	"certmaker/config"
	"certmaker/store"
)

// Open opens (or creates) the bbolt database at path, its key file beside
// it, waiting up to a second for another holder.
func Open(path string) (*store.DB, error) {
	cfg := config.Default()
	cfg.Store.Path = path
	s, err := app.OpenStore(cfg, app.OpenOptions{Create: true, Wait: time.Second})
	if err != nil {
		return nil, err
	}
	db, ok := s.(*store.DB)
	if !ok {
		s.Close()
		return nil, fmt.Errorf("%s: app opened a %T, not a bbolt database", path, s)
	}
	return db, nil
}
