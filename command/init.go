package command

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/app"
	"certmaker/ca"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:   "init",
		Usage:  "create the database, the root CA and the admin user (printing its token) without serving; serve does this on its first start too",
		Action: cmdInit,
	}
}

// cmdInit makes a new database with its root and admin user, as serve's
// first start does, for operators who prepare a CA before starting it.
// Every other command refuses a database that does not exist, so that a
// typo in --db cannot make a second CA nobody serves.
func cmdInit(c *cli.Context) error {
	cfg, err := loadConfig(c) // checked, with the flags applied
	if err != nil {
		return err
	}
	path := cfg.Store.Path
	if cfg.Store.Backend == "etcd" {
		if db, err := app.OpenStore(cfg, app.OpenOptions{ReadOnly: true}); err == nil {
			db.Close()
			return fmt.Errorf("a store exists already under [store.etcd] prefix; init makes a new one only")
		}
	} else if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s already exists; init makes a new database only", path)
	}
	db, err := app.OpenStore(cfg, app.OpenOptions{Create: true, Wait: 500 * time.Millisecond})
	if err != nil {
		return err
	}
	defer db.Close()
	level, _ := cfg.Server.Level()
	log := newLogger(cfg.Server.LogFormat, level)
	svc, err := app.NewCore(cfg, db, app.Options{Logger: log})
	if err != nil {
		return err
	}
	if err := app.EnsureRoot(c.Context, svc, log); err != nil {
		return err
	}
	if err := firstAdmin(c.Context, svc); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "created %s; root %s\n", path, ca.Colons(svc.Authority().ActiveRoot().Fingerprint))
	return nil
}
