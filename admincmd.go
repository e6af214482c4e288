package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/app"
	"certmaker/ca"
	"certmaker/store"
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
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no database at %s: check --db or --config (certmaker serve or certmaker init makes a new one)", path)
	}
	db, err := store.Open(path, store.Options{Timeout: 500 * time.Millisecond, KeyFile: cfg.Store.KeyPath()})
	if errors.Is(err, store.ErrLocked) {
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
	return store.Guard(path, func() error { return fn(ctx, &admin.Local{Core: svc, Who: "operator (on the file)"}) })
}

func cmdUserAdd(c *cli.Context, name func(*cli.Context) (string, error)) error {
	n, err := name(c)
	if err != nil {
		return err
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		token, err := op.AddUser(ctx, n, c.Bool("admin"))
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, token)
		return nil
	})
}

func cmdUserList(c *cli.Context) error {
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		users, err := op.Users(ctx)
		if err != nil {
			return err
		}
		if c.Bool("json") {
			return writeJSON(c.App.Writer, nonNil(users))
		}
		tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tADMIN\tDISABLED\tCREATED\tCERTIFICATES")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", u.Name, yesNo(u.Admin), yesNo(u.Disabled), u.Created.Local().Format("2006-01-02 15:04"), u.Certificates)
		}
		return tw.Flush()
	})
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

func cmdUserSetDisabled(c *cli.Context, name func(*cli.Context) (string, error), disabled bool) error {
	n, err := name(c)
	if err != nil {
		return err
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		if err := op.SetDisabled(ctx, n, disabled); err != nil {
			return err
		}
		if disabled {
			fmt.Fprintf(c.App.Writer, "user %s disabled: its requests are refused from now on\n", n)
		} else {
			fmt.Fprintf(c.App.Writer, "user %s enabled\n", n)
		}
		return nil
	})
}

func cmdUserToken(c *cli.Context, name func(*cli.Context) (string, error)) error {
	n, err := name(c)
	if err != nil {
		return err
	}
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		token, err := op.ResetToken(ctx, n)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, token)
		return nil
	})
}

func cmdCertRevoke(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("cert revoke needs exactly one certificate id")
	}
	id := certID(c.Args().First())
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		if err := op.Revoke(ctx, id, c.String("reason")); err != nil {
			return err
		}
		reason := c.String("reason")
		if reason == "" {
			reason = "unspecified"
		}
		fmt.Fprintf(c.App.Writer, "certificate %s revoked (%s); OCSP and the CRL say so now\n", id, reason)
		return nil
	})
}

// certID takes a certificate id as shown by certmaker (decimal), or a
// serial as openssl and browsers show it (hex with colons, or 0x...), and
// returns the decimal id.
func certID(s string) string {
	if _, err := ca.ParseSerial(s); err != nil {
		if n, err := ca.ParseHexSerial(s); err == nil {
			return n.String()
		}
	}
	return s
}

// cmdBackup writes the copy to a new temporary file beside FILE, checks
// that it opens and passes bbolt's consistency check, fsyncs it and only
// then renames it into place, so FILE is always either what it was or a
// complete new backup. FILE is checked before the copy and again before
// the rename (backupTarget).
func cmdBackup(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("backup needs exactly one file name")
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	dst := c.Args().First()
	if err := backupTarget(dst, cfg.Store.Path, c.Bool("force")); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// A fresh name, created exclusively and owner-only: no leftover file
	// (or planted symlink) lends the copy its mode or its target, and no
	// existing file is removed to make room.
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	err = withOperator(c, func(ctx context.Context, op admin.Operator) error {
		if _, err := op.Backup(ctx, f); err != nil {
			return err
		}
		return f.Sync()
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = checkBackup(tmp, cfg.Store.KeyPath())
	}
	if err == nil {
		// The copy took a while; FILE may have appeared meanwhile.
		err = backupTarget(dst, cfg.Store.Path, c.Bool("force"))
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintln(c.App.ErrWriter, "backup written to", dst)
	fmt.Fprintln(c.App.ErrWriter, "its keys are sealed: it opens only with the key file", cfg.Store.KeyPath(), "(keep a copy of that apart from the backups)")
	return nil
}

// backupTarget refuses a FILE that is the database itself or its admin
// socket, however it is spelled (relative, with .., through a symlink or
// a hard link: os.SameFile compares the files themselves), even with
// force: renaming a copy over the live file would leave a running server
// writing to a deleted one. Any other existing FILE needs force.
func backupTarget(dst, db string, force bool) error {
	fi, err := os.Stat(dst) // follows symlinks: a link to the database is the database
	if errors.Is(err, os.ErrNotExist) {
		if _, lerr := os.Lstat(dst); lerr == nil && !force {
			return fmt.Errorf("%s exists (a dangling symlink): choose a new file, or add --force to replace it", dst)
		}
		return nil
	}
	if err != nil {
		return err
	}
	for _, own := range []struct{ path, what string }{{db, "database"}, {admin.SocketPath(db), "database's admin socket"}} {
		if oi, err := os.Stat(own.path); err == nil && os.SameFile(fi, oi) {
			return fmt.Errorf("%s is the %s itself: write the backup to another file", dst, own.what)
		}
	}
	if !force {
		return fmt.Errorf("%s exists: choose a new file, or add --force to replace it", dst)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", dst)
	}
	return nil
}

// cmdListACMEEAB prints the EAB keys of user (or all) as a table; the HMAC
// keys are shown once, when made, and never again.
func cmdListACMEEAB(c *cli.Context, user string) error {
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		keys, err := op.ACMEEABs(ctx, user)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY ID\tUSER\tCREATED\tUSED\tACCOUNTS")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", k.KeyID, k.User, k.Created.Local().Format("2006-01-02 15:04"), yesNo(k.Accounts > 0), k.Accounts)
		}
		return tw.Flush()
	})
}

// cmdRevokeACMEEAB deletes an EAB key and says how many accounts stopped.
func cmdRevokeACMEEAB(c *cli.Context, kid string) error {
	return withOperator(c, func(ctx context.Context, op admin.Operator) error {
		n, err := op.RevokeACMEEAB(ctx, kid)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "revoked EAB key %s; deactivated %d ACME account(s) it bound\n", kid, n)
		return nil
	})
}

// checkBackup opens the copy at path, with the key file of the database
// it copies.
func checkBackup(path, keyFile string) error {
	db, err := store.Open(path, store.Options{Timeout: time.Second, ReadOnly: true, Check: store.CheckAlways, KeyFile: keyFile})
	if errors.Is(err, store.ErrDamaged) {
		return fmt.Errorf("the copy is inconsistent: %w", err)
	}
	if err != nil {
		return fmt.Errorf("the copy does not open: %w", err)
	}
	return db.Close()
}

// cmdCheck reads the whole file and runs bbolt's consistency check on it,
// and says what it found: ok, or each problem on a line of its own.
func cmdCheck(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	path := cfg.Store.Path
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no database at %s (use --db or --config)", path)
	}
	db, err := store.Open(path, store.Options{Timeout: 500 * time.Millisecond, ReadOnly: true, Check: store.CheckAlways, KeyFile: cfg.Store.KeyPath()})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%s is in use by a running server: stop it to check the file, or check a copy (`certmaker backup FILE` checks the copy it writes)", path)
	}
	var d *store.DamageError
	if errors.As(err, &d) {
		w := c.App.Writer
		fmt.Fprintf(w, "%s is damaged:\n", path)
		for _, p := range d.Problems {
			fmt.Fprintln(w, "  "+p)
		}
		if d.More > 0 {
			fmt.Fprintf(w, "  and %d more problems\n", d.More)
		}
		// Not a *DamageError: main would point back to this command.
		n := len(d.Problems) + d.More
		return fmt.Errorf("%s is damaged (%d %s, listed above): README (Backup and restore) says how to put a backup in its place", path, n, plural(n, "problem"))
	}
	if err != nil {
		return err
	}
	defer db.Close()
	size, err := db.Size()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%s: ok (%d bytes; every page read, and bbolt's consistency check found nothing wrong)\n", path, size)
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
