package admin_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"certmaker/admin"
	"certmaker/app"
	"certmaker/ca"
	"certmaker/config"
	"certmaker/internal/testdb"
	"certmaker/store"
)

// operators runs each test against both transports: the operations called
// directly, and the same operations through a server on a real unix socket.
func operators(t *testing.T) map[string]func(t *testing.T) (admin.Operator, *fixture) {
	return map[string]func(t *testing.T) (admin.Operator, *fixture){
		"Local": func(t *testing.T) (admin.Operator, *fixture) {
			ops := newOps(t)
			return ops.Operator, ops
		},
		"Socket": func(t *testing.T) (admin.Operator, *fixture) {
			ops := newOps(t)
			sock := filepath.Join(t.TempDir(), "ca.db.sock")
			ln, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			// As serve makes it: owner-only, and only our uid served.
			if err := os.Chmod(sock, 0o600); err != nil {
				t.Fatal(err)
			}
			srv := admin.NewServer(ops.Operator)
			go srv.Serve(admin.OwnerOnly(ln, func(err error) { t.Errorf("own connection refused: %v", err) }))
			t.Cleanup(func() { srv.Close() })
			c, err := admin.Dial(context.Background(), sock)
			if err != nil {
				t.Fatal(err)
			}
			return c, ops
		},
	}
}

// fixture is a CA's store and authority with the admin operations run in
// this process on them, as a command on the file runs them.
type fixture struct {
	DB        *store.DB
	Authority *ca.Authority
	Operator  *admin.Local
}

func newOps(t *testing.T) *fixture {
	t.Helper()
	db, err := testdb.Open(filepath.Join(t.TempDir(), "ca.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := config.Default()
	cfg.Server.PublicURL = "http://ca.test"
	cfg.Certificates = config.Certificates{DefaultDays: 7, MinDays: 1, MaxDays: 182}
	cfg.CA.Days, cfg.CA.CommonName = 365, "t"
	svc, err := app.NewCore(cfg, db, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{DB: db, Authority: svc.Authority(), Operator: &admin.Local{Core: svc}}
}

func TestOperator(t *testing.T) {
	for name, mk := range operators(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			op, ops := mk(t)
			tok, err := op.AddUser(ctx, "alice", false)
			if err != nil || len(tok) < 40 {
				t.Fatalf("AddUser: %q, %v", tok, err)
			}
			u, err := ops.DB.UserByTokenHash(store.HashToken(tok))
			if err != nil || u.Name != "alice" || u.Admin {
				t.Fatalf("token does not find alice: %+v %v", u, err)
			}
			if _, err := op.AddUser(ctx, "alice", false); !errors.Is(err, store.ErrExists) {
				t.Errorf("duplicate: %v, want ErrExists", err)
			}
			for _, bad := range []string{"", "-x", "a b", "a/b", "ünï", string(make([]byte, 65))} {
				if _, err := op.AddUser(ctx, bad, false); !errors.Is(err, admin.ErrInvalid) {
					t.Errorf("name %q: %v, want ErrInvalid", bad, err)
				}
			}
			if _, err := op.AddUser(ctx, "boss", true); err != nil {
				t.Fatal(err)
			}
			users, err := op.Users(ctx)
			if err != nil || len(users) != 2 || users[0].Name != "alice" || !users[1].Admin {
				t.Fatalf("Users: %+v %v", users, err)
			}
			if err := op.SetDisabled(ctx, "alice", true); err != nil {
				t.Fatal(err)
			}
			if u, _ := ops.DB.User("alice"); !u.Disabled {
				t.Error("alice not disabled")
			}
			if err := op.SetDisabled(ctx, "alice", false); err != nil {
				t.Fatal(err)
			}
			if err := op.SetDisabled(ctx, "nobody", true); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("disable unknown: %v, want ErrNotFound", err)
			}
			tok2, err := op.ResetToken(ctx, "alice")
			if err != nil || tok2 == tok {
				t.Fatalf("ResetToken: %v", err)
			}
			if _, err := ops.DB.UserByTokenHash(store.HashToken(tok)); !errors.Is(err, store.ErrNotFound) {
				t.Error("old token still works")
			}
			if _, err := ops.DB.UserByTokenHash(store.HashToken(tok2)); err != nil {
				t.Error("new token does not work")
			}
			if _, err := op.ResetToken(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("token for unknown: %v", err)
			}
			fp1, err := op.RotateRoot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			fp2, err := op.RotateRoot(ctx)
			if err != nil || fp1 == fp2 {
				t.Fatalf("second rotation: %v", err)
			}
			// Each rotation makes a root and an intermediate under it,
			// which issues.
			if got := ops.Authority.ActiveRoot().Fingerprint; got != fp2 {
				t.Errorf("authority's active root %s, want %s", got, fp2)
			}
			if len(ops.Authority.Roots()) != 2 {
				t.Errorf("authority has %d roots, want both", len(ops.Authority.Roots()))
			}
			in := ops.Authority.Active()
			recs, active, err := ops.DB.Roots()
			if err != nil || active != in.Fingerprint || in.Parent == nil || in.Parent.Fingerprint != fp2 {
				t.Errorf("stored active issuer %s (%v), want the intermediate %s under %s", active, err, in.Fingerprint, fp2)
			}
			if len(recs) != 4 {
				t.Errorf("%d CA records stored, want two roots and two intermediates", len(recs))
			}
		})
	}
}

func TestDial_NoServer(t *testing.T) {
	dir := t.TempDir()
	if _, err := admin.Dial(context.Background(), filepath.Join(dir, "missing.sock")); !errors.Is(err, admin.ErrNoServer) {
		t.Errorf("missing socket: %v, want ErrNoServer", err)
	}
	// A stale socket file left by a killed server: nothing accepts on it.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := admin.Dial(context.Background(), stale); !errors.Is(err, admin.ErrNoServer) {
		t.Errorf("stale socket: %v, want ErrNoServer", err)
	}
}
