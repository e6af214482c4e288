package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/store"
)

// withOperator runs fn against the server on the database's admin socket
// if one answers, else against the file itself. mustExist refuses to
// create a new database for a command that only reads or edits one.
func withOperator(c *cli.Context, mustExist bool, fn func(context.Context, admin.Operator) error) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	ctx := c.Context
	path := cfg.Store.Path
	socket := admin.SocketPath(path)
	if client, err := admin.Dial(ctx, socket); err == nil {
		return fn(ctx, client)
	}
	if mustExist {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no database at %s (use --db or --config)", path)
		}
	}
	db, err := store.Open(path, store.Options{Timeout: 500 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%s is in use by another process, and no server answers on %s", path, socket)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(ctx, &admin.Ops{DB: db, Root: rootConfig(cfg)})
}

func cmdUserAdd(c *cli.Context, name func(*cli.Context) (string, error)) error {
	n, err := name(c)
	if err != nil {
		return err
	}
	return withOperator(c, false, func(ctx context.Context, op admin.Operator) error {
		token, err := op.AddUser(ctx, n, c.Bool("admin"))
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, token)
		return nil
	})
}

func cmdUserList(c *cli.Context) error {
	return withOperator(c, true, func(ctx context.Context, op admin.Operator) error {
		users, err := op.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tADMIN\tDISABLED\tCREATED\tCERTIFICATES")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", u.Name, yesNo(u.Admin), yesNo(u.Disabled), u.Created.Local().Format("2006-01-02 15:04"), u.Certificates)
		}
		return tw.Flush()
	})
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
	return withOperator(c, true, func(ctx context.Context, op admin.Operator) error {
		return op.SetDisabled(ctx, n, disabled)
	})
}

func cmdUserToken(c *cli.Context, name func(*cli.Context) (string, error)) error {
	n, err := name(c)
	if err != nil {
		return err
	}
	return withOperator(c, true, func(ctx context.Context, op admin.Operator) error {
		token, err := op.ResetToken(ctx, n)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, token)
		return nil
	})
}

func cmdRotateRoot(c *cli.Context) error {
	return withOperator(c, false, func(ctx context.Context, op admin.Operator) error {
		fp, err := op.RotateRoot(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, fp)
		return nil
	})
}

func cmdCertRevoke(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("cert revoke needs exactly one certificate id")
	}
	return withOperator(c, true, func(ctx context.Context, op admin.Operator) error {
		return op.Revoke(ctx, c.Args().First(), c.String("reason"))
	})
}

// cmdBackup writes the copy next to FILE, checks that it opens and passes
// bbolt's consistency check, fsyncs it and only then renames it into place,
// so FILE is always either the old backup or a complete new one.
func cmdBackup(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("backup needs exactly one file name")
	}
	dst := c.Args().First()
	tmp := dst + ".tmp"
	err := withOperator(c, true, func(ctx context.Context, op admin.Operator) error {
		// A leftover FILE.tmp (or a planted symlink) must not lend the copy
		// its mode or its target: start from a fresh, owner-only file.
		if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := op.Backup(ctx, f); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
	if err == nil {
		err = checkBackup(tmp)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintln(c.App.ErrWriter, "backup written to", dst)
	return nil
}

func checkBackup(path string) error {
	db, err := store.Open(path, store.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("the copy does not open: %w", err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		return fmt.Errorf("the copy is inconsistent: %w", err)
	}
	return nil
}

// cmdListACMEEAB prints the EAB keys of user (or all) as a table; the HMAC
// keys are shown once, when made, and never again.
func cmdListACMEEAB(c *cli.Context, user string) error {
	return withOperator(c, true, func(ctx context.Context, op admin.Operator) error {
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
	return withOperator(c, true, func(ctx context.Context, op admin.Operator) error {
		n, err := op.RevokeACMEEAB(ctx, kid)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "revoked EAB key %s; deactivated %d ACME account(s) it bound\n", kid, n)
		return nil
	})
}
