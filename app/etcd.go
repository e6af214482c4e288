package app

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"certmaker/config"
	"certmaker/etcdstore"
	"certmaker/migrate"
	"certmaker/store"
)

// openEtcd opens the etcd store of [store.etcd]. Every failure is one
// line that names what to fix.
func openEtcd(cfg config.Config, o OpenOptions) (StoreCloser, error) {
	e := cfg.Store.Etcd
	opts := etcdstore.Options{
		Endpoints:         e.Endpoints,
		Prefix:            e.Prefix,
		Username:          e.Username,
		Password:          e.Password,
		DialTimeout:       e.DialTimeout.Duration,
		RequestTimeout:    e.RequestTimeout.Duration,
		KeyFile:           cfg.Store.KeyPath(),
		Create:            o.Create,
		Empty:             o.Empty,
		ReadOnly:          o.ReadOnly,
		UnsafeStaleTokens: o.UnsafeStaleTokens,
		Logger:            o.Logger,
	}
	if e.TLS() {
		t, err := etcdTLS(e)
		if err != nil {
			return nil, err
		}
		opts.TLS = t
	}
	db, err := etcdstore.Open(opts)
	if err != nil {
		return nil, err
	}
	return etcdStore{db}, nil
}

// etcdTLS is the client's TLS configuration from [store.etcd].
func etcdTLS(e config.Etcd) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.CAFile != "" {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, fmt.Errorf("store.etcd.ca_file: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("store.etcd.ca_file %s: no PEM certificate in it", e.CAFile)
		}
	}
	if e.CertFile != "" {
		c, err := tls.LoadX509KeyPair(e.CertFile, e.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("store.etcd.cert_file and key_file: %w", err)
		}
		t.Certificates = []tls.Certificate{c}
	}
	return t, nil
}

// etcdStore is an etcd store whose backup is a bbolt file that a node of
// one can serve: the store as it was at one etcd revision, sealed with
// the same key file.
type etcdStore struct{ *etcdstore.DB }

// Backup copies the store into a new bbolt file in the temporary
// directory and writes that file to w.
func (s etcdStore) Backup(w io.Writer) (int64, error) {
	dir, err := os.MkdirTemp("", "certmaker-backup-")
	if err != nil {
		return 0, fmt.Errorf("writing backup: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "certmaker.db")
	b, err := store.Open(path, store.Options{KeyFile: s.KeyFile(), Check: store.CheckNever})
	if err != nil {
		return 0, fmt.Errorf("writing backup: %w", err)
	}
	if _, err := migrate.Copy(b, s.DB, nil); err != nil {
		b.Close()
		return 0, fmt.Errorf("writing backup: %w", err)
	}
	n, err := b.Backup(w)
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	return n, err
}
