package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/app"
	"certmaker/config"
	"certmaker/internal/durable"
	"certmaker/storage"
	"certmaker/storage/seal"
)

func backupCommand() *cli.Command {
	return &cli.Command{
		Name: "backup", Usage: "write a consistent copy of the database to FILE, also while serving", ArgsUsage: "FILE",
		Description: "The copy is written to a new .FILE.tmp-* beside FILE, checked, synced and renamed into place,\n" +
			"so FILE is always what it was or a whole new backup. A backup killed midway leaves its\n" +
			".FILE.tmp-* behind: remove it (never while another backup to FILE runs).",
		Flags:  []cli.Flag{&cli.BoolFlag{Name: "force", Usage: "replace FILE if it exists (never the database, its socket or its key file)"}},
		Action: cmdBackup,
	}
}

func checkCommand() *cli.Command {
	return &cli.Command{Name: "check", Usage: "check the store: the whole bbolt file with bbolt's consistency check, or on etcd every record, its index entries and sealed keys", Action: cmdCheck}
}

// cmdBackup writes the copy to a new temporary file beside FILE, checks
// that it opens (with the key file the server uses) and passes bbolt's
// consistency check, fsyncs it and only then renames it into place and
// syncs the directory, so FILE is always either what it was or a complete
// new backup, durably. FILE is checked before the copy and again before
// the rename (backupTarget).
func cmdBackup(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("backup needs exactly one file name")
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	dst, force := c.Args().First(), c.Bool("force")
	keyFile := cfg.Store.KeyPath()
	err = withOperator(c, func(ctx context.Context, op admin.Operator) error {
		// The server's key file may be named where this command does not
		// look (its own [store] key_file, a systemd credential).
		serverKey, err := op.KeyFile(ctx)
		if err != nil {
			return err
		}
		if serverKey != "" {
			keyFile = serverKey
		}
		t := backupTarget{store: cfg.Store, serverKey: serverKey}
		if err := t.check(dst, force); err != nil {
			return err
		}
		// A fresh name, created exclusively and owner-only: no leftover
		// file (or planted symlink) lends the copy its mode or its
		// target, and no existing file is removed to make room.
		f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
		if err != nil {
			return err
		}
		tmp := f.Name()
		_, err = op.Backup(ctx, f)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = checkBackup(cfg, keyFile, tmp)
		}
		if err == nil {
			// The copy took a while; FILE may have appeared meanwhile.
			err = t.check(dst, force)
		}
		if err == nil {
			err = os.Rename(tmp, dst)
		}
		if err != nil {
			os.Remove(tmp)
			return err
		}
		return durable.SyncDir(filepath.Dir(dst))
	})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintln(c.App.ErrWriter, "backup written to", dst)
	fmt.Fprintln(c.App.ErrWriter, "its keys are sealed: it opens only with the key file", keyFile, "(keep a copy of that apart from the backups)")
	return nil
}

// backupTarget is what a backup must never be written over: the
// database itself, its admin socket, its key file or the key file a rekey
// stages beside it, as this command's configuration names them and, for
// the key file, as the server uses it (serverKey, "" if unknown).
type backupTarget struct {
	store     config.Store
	serverKey string
}

// check refuses a FILE that is one of t's, however it is spelled
// (relative, with .., through a symlink or a hard link: os.SameFile
// compares the files themselves, and a name that does not exist yet is
// compared by where it would be), even with force: renaming a copy over
// the live file would leave a running server writing to a deleted one,
// and a copy over the key file leaves nothing sealed that opens. Any
// other existing FILE needs force.
func (t backupTarget) check(dst string, force bool) error {
	own := []struct{ path, what string }{{t.store.Path, "database"}, {admin.SocketPath(t.store.Path), "database's admin socket"}}
	for _, key := range []string{t.store.KeyPath(), t.serverKey} {
		if key == "" {
			continue
		}
		for i, k := range seal.KeyFiles(key) {
			what := "database's key file"
			if i > 0 {
				what = "file a rekey writes the database's new key to"
			}
			own = append(own, struct{ path, what string }{k, what})
		}
	}
	for _, o := range own {
		if samePlace(dst, o.path) {
			return fmt.Errorf("%s is the %s itself: write the backup to another file", dst, o.what)
		}
	}
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
	for _, o := range own {
		if oi, err := os.Stat(o.path); err == nil && os.SameFile(fi, oi) {
			return fmt.Errorf("%s is the %s itself: write the backup to another file", dst, o.what)
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

// samePlace reports whether two names lead to the same place, whether or
// not a file is there: each with its directory's symlinks resolved, and a
// symlink in its last element followed too.
func samePlace(a, b string) bool {
	return resolve(a) == resolve(b)
}

func resolve(name string) string {
	if p, err := filepath.EvalSymlinks(name); err == nil {
		name = p
	} else if dir, err := filepath.EvalSymlinks(filepath.Dir(name)); err == nil {
		name = filepath.Join(dir, filepath.Base(name))
	}
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return filepath.Clean(name)
}

// checkBackup opens the copy at path, read-only with keyFile (the
// database's, not one beside the copy), and checks it whole.
func checkBackup(cfg config.Config, keyFile, path string) error {
	cfg.Store.KeyFile = keyFile
	cfg.Store.Path = path
	cfg.Store.Backend = "bbolt" // an etcd store's backup is a bbolt file too
	db, err := app.OpenStore(cfg, app.OpenOptions{ReadOnly: true, Wait: time.Second})
	if err == nil {
		defer db.Close()
		err = checkStore(db)
	}
	if errors.Is(err, storage.ErrDamaged) {
		return fmt.Errorf("the copy is inconsistent: %w", err)
	}
	if err != nil {
		return fmt.Errorf("the copy does not open: %w", err)
	}
	return nil
}

// checkStore runs the store's own consistency check.
func checkStore(st app.Store) error {
	c, ok := st.(storage.Checker)
	if !ok {
		return errors.New("this store has no consistency check")
	}
	return c.Check()
}

// cmdCheck reads the whole file and runs bbolt's consistency check on it,
// and says what it found: ok, or each problem on a line of its own.
func cmdCheck(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	path := cfg.Store.Path
	if cfg.Store.Backend == "etcd" {
		if c.String("db") == "" {
			return checkEtcd(c, cfg)
		}
		cfg.Store.Backend = "bbolt" // --db names a file (a copy, a backup): check it
	}
	db, err := app.OpenStore(cfg, app.OpenOptions{ReadOnly: true, Wait: 500 * time.Millisecond})
	if errors.Is(err, storage.ErrLocked) {
		return fmt.Errorf("%s is in use by a running server: stop it to check the file, or check a copy (`certmaker backup FILE` checks the copy it writes)", path)
	}
	if err == nil {
		defer db.Close()
		err = checkStore(db)
	}
	if err := reportDamage(c, path, "docs/backup.md says how to put a backup in its place", err); err != nil {
		return err
	}
	var size int64
	if sz, ok := db.(storage.Sizer); ok {
		if size, err = sz.Size(); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.App.Writer, "%s: ok (%d bytes; every page read, and bbolt's consistency check found nothing wrong)\n", path, size)
	return nil
}

// reportDamage lists what a consistency check found damaged in what, one
// problem a line, and returns one line for main; other errors as they are.
func reportDamage(c *cli.Context, what, remedy string, err error) error {
	var d *storage.DamageError
	if !errors.As(err, &d) {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "%s is damaged:\n", what)
	for _, p := range d.Problems {
		fmt.Fprintln(w, "  "+p)
	}
	if d.More > 0 {
		fmt.Fprintf(w, "  and %d more problems\n", d.More)
	}
	// Not a *DamageError: main would point back to this command.
	n := len(d.Problems) + d.More
	return fmt.Errorf("%s is damaged (%d %s, listed above): %s", what, n, plural(n, "problem"), remedy)
}

// checkEtcd checks the etcd store of [store.etcd], also while nodes serve
// it: every certificate and user read at one revision, their index
// entries, and every sealed secret opened with the key file. etcd's own
// files are etcd's to check.
func checkEtcd(c *cli.Context, cfg config.Config) error {
	db, err := app.OpenStore(cfg, app.OpenOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	where := cfg.Store.Etcd.Prefix
	if w, ok := db.(interface{ Where() string }); ok {
		where = w.Where()
	}
	err = reportDamage(c, where, "certmaker migrate --to bbolt, then --to etcd into a new prefix, rebuilds every index from the records", checkStore(db))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%s: ok (every record read at one revision: each certificate's and user's index entries are there, and every sealed key opens with the key file; etcd checks its own data: etcdctl endpoint health)\n", where)
	return nil
}
