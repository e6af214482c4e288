package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/app"
	"certmaker/storage"
)

// withOperator runs fn against the server on the database's admin socket
// if one answers, else against the file itself; it refuses a socket that
// may not be our own server's (admin.ErrUntrusted). Only serve and init
// create a database: a typo in --db must not make a second CA.
func withOperator(c *cli.Context, fn func(context.Context, admin.Operator) error) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	ctx := c.Context
	path := cfg.Store.Path
	socket := admin.SocketPath(path)
	client, err := admin.Dial(ctx, socket)
	if err == nil {
		return fn(ctx, client)
	}
	if !errors.Is(err, admin.ErrNoServer) {
		// Not "no server": something that may not be ours answers there.
		return err
	}
	db, err := app.OpenStore(cfg, app.OpenOptions{Wait: 500 * time.Millisecond})
	if errors.Is(err, storage.ErrLocked) {
		return fmt.Errorf("%s is in use by another process, and no server answers on %s", path, socket)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	// Open checks small files in full; in a larger one a damaged page is
	// found only when read.
	// No server log to write the audit trail to: the command's own
	// output says what it did.
	svc, err := app.NewCore(cfg, db, app.Options{})
	if err != nil {
		return err
	}
	return app.Guard(cfg, func() error { return fn(ctx, &admin.Local{Core: svc, Who: "operator (on the file)"}) })
}

// writeJSON prints v indented, as every --json does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// nonNil makes an empty list print as [], never null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
