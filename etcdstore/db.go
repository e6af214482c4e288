package etcdstore

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"certmaker/storage"
	"certmaker/storage/seal"
)

// ErrNoStore is a prefix with no certmaker store under it, opened without
// Options.Create.
var ErrNoStore = errors.New("no certmaker store")

// Options say which cluster to reach and how.
type Options struct {
	Endpoints []string
	// Prefix is where certmaker's keys live; "" is DefaultPrefix. Several
	// CAs can share a cluster under different prefixes.
	Prefix string
	// TLS is the client's TLS configuration (the cluster's CA, a client
	// certificate); nil speaks plain gRPC.
	TLS                *tls.Config
	Username, Password string
	// DialTimeout bounds reaching the cluster at Open; RequestTimeout each
	// request after it. 0 is 5 seconds each.
	DialTimeout, RequestTimeout time.Duration
	// KeyFile holds the key that seals private keys and secrets. Every
	// node has the same one: a key file that does not open the store's
	// check value is refused.
	KeyFile string
	// Create makes the store if the prefix holds none (and the key file,
	// if there is none yet).
	Create bool
	// Empty refuses, before anything is written, a prefix that holds
	// anything but what a new store holds (ErrNotEmpty): a migration's
	// target.
	Empty bool
	// ReadOnly skips what Open writes (finishing interrupted jobs) and
	// the token cache's watch.
	ReadOnly bool
	// MaxSessions caps the dashboard's sessions (sessions.go); 0 is
	// storage.MaxSessions, as bbolt's.
	MaxSessions int
	// UnsafeStaleTokens makes the token cache ignore what its watch says:
	// a user disabled or given a new token on another node is still let
	// in here. The cluster test's negative control, never an operator's.
	UnsafeStaleTokens bool
	// Logger hears what the store notices on its own, outside any call
	// (another node's rekey, a watch that fell behind); nil discards it.
	Logger *slog.Logger
}

// DefaultPrefix is where a store lives unless Options.Prefix says.
const DefaultPrefix = "/certmaker/"

// DB is a certmaker store in an etcd cluster. A claim's Fenced store is
// a DB too, on the same connection, whose every commit also checks that
// its claims are still held.
type DB struct {
	*conn
	fences []fence
}

// conn is the connection to the cluster and what this node keeps of it.
type conn struct {
	cli     *clientv3.Client
	prefix  string // Options.Prefix + "v1/"
	where   string // endpoints and prefix, for messages
	timeout time.Duration
	keyPath string
	keys    *seal.Keyring
	log     *slog.Logger

	full    atomic.Bool  // the last write failed with ErrFull
	retries atomic.Int64 // commits that lost a race and ran again (Retries)

	maxSessions int
	sessions    minuteLeases // (sessions.go)

	// life ends with Close: the watches, the claims' lease.
	life context.Context
	end  context.CancelFunc

	lease    leases     // the claims', and the used nonces' (coordination.go)
	keyState keyState   // this node's key against the store's check value (rekeyed.go)
	tokens   tokenCache // users by token hash, kept right by a watch (tokencache.go)
}

// Open connects to the cluster, checks that the prefix holds a store of
// this layout sealed with the key file (or makes one, with Create), and
// finishes what a crashed node left half done.
func Open(o Options) (*DB, error) {
	if len(o.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints")
	}
	prefix := o.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	dial, req := o.DialTimeout, o.RequestTimeout
	if dial <= 0 {
		dial = 5 * time.Second
	}
	if req <= 0 {
		req = 5 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   o.Endpoints,
		DialTimeout: dial,
		TLS:         o.TLS,
		Username:    o.Username,
		Password:    o.Password,
		Logger:      zap.NewNop(),
		// Keep a connection to a member that went away from hanging a
		// request for the whole TCP timeout.
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: dial,
	})
	if err != nil {
		return nil, unreachable(o, dial, err)
	}
	life, end := context.WithCancel(context.Background())
	db := &DB{conn: &conn{
		cli:         cli,
		prefix:      prefix + "v" + strconv.Itoa(schemaVersion) + "/",
		where:       fmt.Sprintf("etcd %s prefix %s", strings.Join(o.Endpoints, ","), prefix),
		timeout:     req,
		keyPath:     o.KeyFile,
		maxSessions: cmp.Or(o.MaxSessions, storage.MaxSessions),
		log:         log,
		life:        life,
		end:         end,
	}}
	if err := db.reach(o, dial); err != nil {
		db.Close()
		return nil, err
	}
	if o.Empty {
		if err := db.checkEmpty(prefix); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := db.init(o); err != nil {
		db.Close()
		return nil, err
	}
	if !o.ReadOnly {
		if err := db.resume(); err != nil {
			db.Close()
			return nil, err
		}
		db.tokens.ignoreWatch = o.UnsafeStaleTokens
		go db.followUsers()
	}
	return db, nil
}

// init reads the schema and the check value, or writes them into an
// empty prefix; two nodes creating at once agree on the first.
func (db *DB) init(o Options) error {
	if db.keyPath == "" {
		return fmt.Errorf("%s: no key file given", db.where)
	}
	schemaK, checkK := db.key(tMeta, kSchema), db.key(tMeta, kSealCheck)
	var schema, check, rekey []byte
	err := db.do(func(ctx context.Context) error {
		resp, err := db.cli.Txn(ctx).Then(clientv3.OpGet(schemaK), clientv3.OpGet(checkK), clientv3.OpGet(db.key(tMeta, kRekey))).Commit()
		if err != nil {
			return err
		}
		schema, check, rekey = first(resp.Responses[0]), first(resp.Responses[1]), first(resp.Responses[2])
		return nil
	})
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	if schema == nil {
		if !o.Create {
			return fmt.Errorf("%w at %s (certmaker serve or certmaker init makes one)", ErrNoStore, db.where)
		}
		return db.create(schemaK, checkK)
	}
	if v, err := strconv.Atoi(string(schema)); err != nil || v > schemaVersion {
		return fmt.Errorf("%s has schema %q, newer than this certmaker understands (%d): upgrade certmaker", db.where, schema, schemaVersion)
	}
	if rekey != nil {
		if ok, err := db.loadRekeying(check); ok || err != nil {
			return err
		}
	}
	return db.loadKey(check, false)
}

// loadRekeying opens a store this node was rekeying when it stopped, with
// both its key file and the staged one (resumeRekey finishes the job,
// which needs the old key too); false if it holds no staged key file.
func (db *DB) loadRekeying(check []byte) (bool, error) {
	staged, err := seal.ReadKeyFile(seal.StagedKeyFile(db.keyPath))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	old, err := seal.ReadKeyFile(db.keyPath)
	if err != nil {
		return false, fmt.Errorf("%s is being rekeyed, and its key file %s: %w", db.where, db.keyPath, err)
	}
	current := old
	if seal.OpensCheck(old, check) != nil {
		current = staged // the new check value was committed
		if seal.OpensCheck(staged, check) != nil {
			return false, fmt.Errorf("neither key file %s nor %s opens %s: %w", db.keyPath, seal.StagedKeyFile(db.keyPath), db.where, seal.ErrWrongKey)
		}
	}
	if db.keys, err = seal.NewKeyring(current); err != nil {
		return false, err
	}
	return true, errors.Join(db.keys.Add(old), db.keys.Add(staged))
}

// create writes a new store's schema and check value, unless another node
// got there first: then the key file must open that node's, and a key
// file this call made for the store it lost is removed.
func (db *DB) create(schemaK, checkK string) error {
	_, err := seal.ReadKeyFile(db.keyPath)
	made := errors.Is(err, fs.ErrNotExist)
	if err := db.loadKey(nil, true); err != nil {
		return err
	}
	cv, err := db.keys.CheckValue()
	if err != nil {
		return err
	}
	var theirs []byte
	err = db.do(func(ctx context.Context) error {
		resp, err := db.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(schemaK), "=", 0)).
			Then(clientv3.OpPut(schemaK, strconv.Itoa(schemaVersion)), clientv3.OpPut(checkK, string(cv))).
			Else(clientv3.OpGet(checkK)).Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			theirs = first(resp.Responses[0])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("creating the store at %s: %w", db.where, err)
	}
	if theirs == nil {
		return nil
	}
	if err := seal.OpensCheck(db.readKey(), theirs); err != nil && made {
		os.Remove(db.keyPath)
	}
	return db.loadKey(theirs, false)
}

// readKey is the key file's key, nil if it cannot be read.
func (db *DB) readKey() []byte {
	key, _ := seal.ReadKeyFile(db.keyPath)
	return key
}

// loadKey reads the key file (makes it, with create, when there is none)
// and proves that it opens check, the store's check value (nil: a new
// store's).
func (db *DB) loadKey(check []byte, create bool) error {
	var opens func([]byte) error
	if check != nil {
		opens = func(key []byte) error { return seal.OpensCheck(key, check) }
	}
	key, err := seal.LoadKey(db.keyPath, create, opens)
	switch {
	case errors.Is(err, seal.ErrWrongKey):
		return fmt.Errorf("key file %s does not open %s: every node needs the same key file (copy it from the first node): %w", db.keyPath, db.where, err)
	case err != nil:
		return fmt.Errorf("%s holds sealed keys, and its key file %s: %w", db.where, db.keyPath, err)
	}
	db.keys, err = seal.NewKeyring(key)
	return err
}

func first(r *etcdserverpb.ResponseOp) []byte {
	if rr := r.GetResponseRange(); rr != nil && len(rr.Kvs) > 0 {
		return rr.Kvs[0].Value
	}
	return nil
}

// key is a table's key for id.
func (db *DB) key(table, id string) string { return db.prefix + table + id }

// Close ends the watches and releases the connections; the claims this
// node holds end with its lease.
func (db *DB) Close() error {
	db.end()
	db.lease.revoke(db)
	return db.cli.Close()
}

// Where names the cluster and prefix, for messages.
func (db *DB) Where() string { return db.where }

// Ping proves that the cluster answers a linearizable read, which needs a
// quorum.
//
// It waits at most pingTimeout (or the request timeout, if shorter): a
// linearizable read of one key needs the leader and a quorum's heartbeat,
// no disk write, so a cluster that takes longer does not answer in any
// useful sense, and the core's probe, which decides on its answer whether
// an episode begins, must decide quickly.
func (db *DB) Ping() error {
	return db.doWithin(min(db.timeout, pingTimeout), func(ctx context.Context) error {
		_, err := db.cli.Get(ctx, db.key(tMeta, kSchema))
		return err
	})
}

// pingTimeout bounds Ping.
const pingTimeout = time.Second

// WritesFailing reports whether the last write failed because etcd is
// over its space quota; the next write that succeeds clears it.
func (db *DB) WritesFailing() bool { return db.full.Load() }

var _ storage.Store = (*DB)(nil)

// Prefix is where the store's keys live: Options.Prefix and the layout's
// version.
func (db *DB) Prefix() string { return db.prefix }
