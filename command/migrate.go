package command

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/app"
	"certmaker/migrate"
	"certmaker/storage"
)

func migrateCommand() *cli.Command {
	return &cli.Command{
		Name:  "migrate",
		Usage: "copy the store into another backend: the bbolt file into etcd ([store.etcd]), or etcd into a new bbolt FILE",
		Description: "--to etcd copies the file of [store] path into the empty etcd store of [store.etcd]; --to bbolt FILE copies the etcd store into a new file. " +
			"Both check the copy record by record. Stop the servers first: a copy made while they write differs from the original (certmaker backup copies a running etcd store).",
		ArgsUsage: "[FILE]",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "to", Usage: "etcd or bbolt", Required: true}},
		Action:    cmdMigrate,
	}
}

func cmdMigrate(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	if len(cfg.Store.Etcd.Endpoints) == 0 {
		return errors.New("migrate: [store.etcd] endpoints is empty: name the etcd cluster to copy to or from")
	}
	bolt, etcd := cfg, cfg
	bolt.Store.Backend, etcd.Store.Backend = "bbolt", "etcd"
	if err := etcd.Validate(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var src, dst app.StoreCloser
	switch to := c.String("to"); to {
	case "etcd":
		if c.NArg() != 0 {
			return errors.New("migrate --to etcd takes no FILE: it copies [store] path")
		}
		src, err = app.OpenStore(bolt, app.OpenOptions{ReadOnly: true, Wait: 500 * time.Millisecond})
		if errors.Is(err, storage.ErrLocked) {
			return fmt.Errorf("migrate: %s is in use: stop the server first", bolt.Store.Path)
		}
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer src.Close()
		// Empty: a prefix that holds anything of another store (a root a
		// node made, a key of someone else's) is refused before a write.
		if dst, err = app.OpenStore(etcd, app.OpenOptions{Create: true, Empty: true}); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	case "bbolt":
		if c.NArg() != 1 {
			return errors.New("migrate --to bbolt needs the new file's name")
		}
		file := c.Args().First()
		if _, err := os.Lstat(file); err == nil {
			return fmt.Errorf("migrate: %s exists: choose a new file", file)
		}
		if src, err = app.OpenStore(etcd, app.OpenOptions{ReadOnly: true}); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer src.Close()
		if err := noneServing(src); err != nil {
			return err
		}
		bolt.Store.Path = file
		bolt.Store.KeyFile = cfg.Store.KeyPath() // the same key file seals the copy
		if dst, err = app.OpenStore(bolt, app.OpenOptions{Create: true}); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	default:
		return fmt.Errorf("migrate --to %q: want etcd or bbolt", to)
	}
	defer dst.Close()
	if err := copyStore(c, dst, src); err != nil {
		return err
	}
	if c.String("to") == "bbolt" {
		// A node that started during the copy may have written what the
		// copy lacks.
		if err := noneServing(src); err != nil {
			dst.Close()
			os.Remove(bolt.Store.Path)
			return fmt.Errorf("%w; %s removed", err, bolt.Store.Path)
		}
	}
	return nil
}

// noneServing refuses to copy a store that nodes serve: a certificate one
// acknowledges during the copy would be missing from it. (A bbolt file's
// lock says the same for --to etcd.)
func noneServing(st app.Store) error {
	ns, ok := st.(storage.Nodes)
	if !ok {
		return nil
	}
	nodes, err := ns.ServingNodes()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(nodes) == 0 {
		return nil
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = fmt.Sprintf("%s on %s (pid %d)", n.Listen, n.Host, n.PID)
	}
	return fmt.Errorf("migrate: %d %s still serving this store: %s: stop every node first (a certificate issued during the copy would be missing from the copy)",
		len(nodes), plural(len(nodes), "node"), strings.Join(names, ", "))
}

// copyStore copies src into the empty dst, showing progress, and checks
// the copy record by record.
func copyStore(c *cli.Context, dst, src app.Store) error {
	exp, ok1 := src.(storage.Exporter)
	imp, ok2 := dst.(storage.Importer)
	if !ok1 || !ok2 {
		return errors.New("migrate: these backends cannot copy records")
	}
	if n, err := dst.CountAllCertificates(); err != nil || n > 0 {
		if err == nil {
			err = fmt.Errorf("it holds %d certificates already", n)
		}
		return fmt.Errorf("migrate: the target is not empty: %w", err)
	}
	if n, err := dst.CountUsers(); err != nil || n > 0 {
		if err == nil {
			err = fmt.Errorf("it holds %d users already", n)
		}
		return fmt.Errorf("migrate: the target is not empty: %w", err)
	}
	w := c.App.ErrWriter
	start, last := time.Now(), time.Now()
	n, err := migrate.Copy(imp, exp, func(n int) {
		if time.Since(last) >= time.Second {
			fmt.Fprintf(w, "copied %d records\n", n)
			last = time.Now()
		}
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(w, "copied %d records in %s; checking the copy record by record\n", n, time.Since(start).Round(time.Millisecond))
	counts, err := migrate.Verify(dst.(storage.Exporter), exp)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(c.App.Writer, "copied and checked: %s\n", counts)
	return nil
}
