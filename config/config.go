// Package config reads certmaker's TOML configuration: every key has a
// default, unknown keys and bad values are refused with their name.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/storage/seal"
)

// Config is the whole file.
type Config struct {
	Server       Server       `toml:"server"`
	Store        Store        `toml:"store"`
	CA           CA           `toml:"ca"`
	Certificates Certificates `toml:"certificates"`
	Challenge    Challenge    `toml:"challenge"`
	Metrics      Metrics      `toml:"metrics"`
	ACME         ACME         `toml:"acme"`
	Notify       Notify       `toml:"notify"`
	Policy       Policy       `toml:"policy"`
}

// Policy is the [policy] table: issuance policies (docs/policies.md).
type Policy struct {
	// Default is the policy of every user created from now on; users
	// that exist keep theirs. Checked when the core starts.
	Default UserPolicy `toml:"default"`
}

// UserPolicy is a user's issuance policy as the configuration spells it.
type UserPolicy struct {
	Allow    []string `toml:"allow"`
	Deny     []string `toml:"deny"`
	MaxDays  int      `toml:"max_days"`
	KeyTypes []string `toml:"key_types"`
	// Challenge is "required", "optional", or "default" (or "") for
	// [challenge] required.
	Challenge string `toml:"challenge"`
}

// ACME is the [acme] table: the RFC 8555 server under /acme/.
type ACME struct {
	Enabled bool `toml:"enabled"`
	// RequireEAB refuses ACME accounts without an External Account
	// Binding (a key from `certmaker user acme-eab NAME`).
	RequireEAB bool `toml:"require_eab"`
	// DefaultUser is the certmaker user that accounts without a binding
	// act for; needed when require_eab is false.
	DefaultUser string `toml:"default_user"`
	// HTTP01Port is where http-01 challenge tokens are fetched.
	HTTP01Port int `toml:"http01_port"`
	// TLSALPN01Port is where tls-alpn-01 proofs are asked for.
	TLSALPN01Port int `toml:"tls_alpn01_port"`
	// Days is the validity of certificates issued over ACME, clamped to
	// [certificates] min_days..max_days.
	Days int `toml:"days"`
	// MaxAccountIdentifiers bounds the identifiers one account's orders
	// name together until they expire (challenge.expiry).
	MaxAccountIdentifiers int `toml:"max_account_identifiers"`
	// MaxUnboundAccounts bounds the accounts without a binding.
	MaxUnboundAccounts int `toml:"max_unbound_accounts"`
	// MaxUnboundCertificates bounds the certificates accounts without a
	// binding get, in all, for good.
	MaxUnboundCertificates int `toml:"max_unbound_certificates"`
	// ClusterNoncesPerMinute bounds the nonces a node of an etcd cluster
	// hands out per minute that any node takes (each used one is a key
	// in etcd for up to 13 minutes); past it, until the minute ends, the
	// node hands out nonces only it takes. 0 is the default, 6000.
	ClusterNoncesPerMinute int `toml:"cluster_nonces_per_minute"`
}

// Metrics is the [metrics] table.
type Metrics struct {
	Listen string `toml:"listen"`
}

// Server is the [server] table.
type Server struct {
	Listen    string `toml:"listen"`
	PublicURL string `toml:"public_url"`
	LogFormat string `toml:"log_format"`
	LogLevel  string `toml:"log_level"`
	// TLS is how Listen serves: "off" (plain HTTP), "self" (a certificate
	// the CA issues itself for public_url's host, renewed before two
	// thirds of its life) or "files" (TLSCertFile and TLSKeyFile,
	// reloaded when they change).
	TLS         string `toml:"tls"`
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// HTTPListen serves OCSP, CRLs and the CA certificates over plain
	// HTTP when TLS is on, and redirects everything else to HTTPS.
	HTTPListen string `toml:"http_listen"`
	// HTTPPublicURL is the base of the URLs written into certificates;
	// "" is derived (see CertURL).
	HTTPPublicURL string `toml:"http_public_url"`

	// derivedURL is the PublicURL Validate derived from Listen, as none
	// was given (publicurl.go); a PublicURL still equal to it was not
	// given either.
	derivedURL string
}

// TLS modes.
const (
	TLSOff   = "off"
	TLSSelf  = "self"
	TLSFiles = "files"
)

// CertURL is the base of the OCSP, CRL and issuer URLs in certificates:
// http_public_url if set; else public_url with TLS off; else plain HTTP
// on public_url's host at http_listen's port.
func (c *Config) CertURL() string {
	s := c.Server
	if s.HTTPPublicURL != "" {
		return strings.TrimRight(s.HTTPPublicURL, "/")
	}
	if s.TLS == TLSOff || s.TLS == "" {
		return s.PublicURL
	}
	u, err := url.Parse(s.PublicURL)
	if err != nil {
		return s.PublicURL
	}
	_, port, err := net.SplitHostPort(s.HTTPListen)
	if err != nil {
		return s.PublicURL
	}
	host := u.Hostname()
	if port != "80" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "http://" + host
}

// Level is log_level as a slog level.
func (s Server) Level() (slog.Level, error) {
	switch s.LogLevel {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("server.log_level %q: want \"debug\", \"info\", \"warn\" or \"error\"", s.LogLevel)
}

// Store is the [store] table.
type Store struct {
	// Backend is "bbolt" (one file, the default) or "etcd" (a cluster
	// that several certmaker nodes share; [store.etcd] says where).
	Backend string `toml:"backend"`
	// Path is the bbolt file; with etcd, where this node keeps its admin
	// socket (Path + ".sock") and, by default, its key file.
	Path string `toml:"path"`
	// KeyFile holds the key that seals the database's private keys and
	// secrets; "" is the systemd credential certmaker.key when one is
	// given ($CREDENTIALS_DIRECTORY), else Path plus ".key".
	KeyFile string `toml:"key_file"`
	Etcd    Etcd   `toml:"etcd"`
}

// Etcd is the [store.etcd] table: the cluster a node of several keeps
// its state in.
type Etcd struct {
	// Endpoints are the members' client URLs (https://host:2379) or
	// host:port.
	Endpoints []string `toml:"endpoints"`
	// Prefix is where certmaker's keys live ("/certmaker/" when empty).
	Prefix string `toml:"prefix"`
	// CAFile verifies the members' certificates; CertFile and KeyFile
	// are this node's client certificate (not [store] key_file, which
	// seals the CA's secrets).
	CAFile   string `toml:"ca_file"`
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	Username string `toml:"username"`
	Password string `toml:"password"`
	// DialTimeout bounds reaching the cluster at start; RequestTimeout
	// each request, after which it answers 503.
	DialTimeout    Duration `toml:"dial_timeout"`
	RequestTimeout Duration `toml:"request_timeout"`
}

// KeyPath is the key file to open the store with, as KeyFile says
// (seal.KeyPath: the systemd credential, else Path plus ".key").
func (s Store) KeyPath() string { return seal.KeyPath(s.KeyFile, s.Path+".key") }

// CA is the [ca] table: what new roots and intermediates look like.
type CA struct {
	KeyType      string `toml:"key_type"`
	Days         int    `toml:"days"`
	CommonName   string `toml:"common_name"`
	Organization string `toml:"organization"`
	Country      string `toml:"country"`
	// IntermediateDays is the validity of a new intermediate, the CA that
	// signs leaves; IntermediateCommonName its name before the suffix.
	IntermediateDays       int    `toml:"intermediate_days"`
	IntermediateCommonName string `toml:"intermediate_common_name"`
	// ExpiryWarningDays: warn in the log, at start and daily, when the
	// active root has fewer days left than this.
	ExpiryWarningDays int `toml:"expiry_warning_days"`
	// Name constraints written into new roots.
	PermittedDNSDomains []string `toml:"permitted_dns_domains"`
	ExcludedDNSDomains  []string `toml:"excluded_dns_domains"`
	PermittedIPRanges   []string `toml:"permitted_ip_ranges"`
	ExcludedIPRanges    []string `toml:"excluded_ip_ranges"`
}

// Certificates is the [certificates] table.
type Certificates struct {
	DefaultDays int `toml:"default_days"`
	MinDays     int `toml:"min_days"`
	MaxDays     int `toml:"max_days"`
}

// Challenge is the [challenge] table.
type Challenge struct {
	Required    bool     `toml:"required"`
	DefaultPort int      `toml:"default_port"`
	Timeout     Duration `toml:"timeout"`
	Expiry      Duration `toml:"expiry"`
	// AllowedPorts empty means the privileged ports 1..1023 (see
	// challenge.Config.AllowedPorts).
	AllowedPorts   []int               `toml:"allowed_ports"`
	DeniedNetworks []string            `toml:"denied_networks"`
	Hosts          map[string][]string `toml:"hosts"`
	Concurrency    int                 `toml:"concurrency"`
	// MaxPending bounds one user's unsolved, unexpired challenges.
	MaxPending int `toml:"max_pending"`
	// DNSResolvers answer the TXT lookups of DNS proofs, "host:port" or
	// a bare address (port 53); empty is /etc/resolv.conf's. When set,
	// HTTP and TLS proofs look up addresses there too.
	DNSResolvers []string `toml:"dns_resolvers"`
}

// Duration reads "5s" or "24h" from TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"5s\" or \"24h\"", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back in Go's syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default is the configuration with no file at all.
func Default() Config {
	return Config{
		Server: Server{Listen: ":8880", PublicURL: "http://localhost:8880", derivedURL: "http://localhost:8880", LogFormat: "text", LogLevel: "info", TLS: TLSOff},
		Store: Store{Backend: "bbolt", Path: "certmaker.db", Etcd: Etcd{Endpoints: []string{},
			DialTimeout: Duration{5 * time.Second}, RequestTimeout: Duration{5 * time.Second},
		}},
		CA: CA{
			KeyType:      "ecdsa-p256",
			Days:         3650,
			CommonName:   "certmaker Root CA",
			Organization: "certmaker",
			Country:      "DE",

			IntermediateDays:       1095,
			IntermediateCommonName: "certmaker Intermediate CA",

			ExpiryWarningDays: 365,
			// Empty, not nil, so the defaults equal the example file.
			PermittedDNSDomains: []string{},
			ExcludedDNSDomains:  []string{},
			PermittedIPRanges:   []string{},
			ExcludedIPRanges:    []string{},
		},
		Certificates: Certificates{DefaultDays: 7, MinDays: 1, MaxDays: 182},
		Challenge: Challenge{
			DefaultPort:  80,
			AllowedPorts: []int{},
			Timeout:      Duration{5 * time.Second},
			Expiry:       Duration{24 * time.Hour},
			// Link-local holds cloud metadata services; nobody proves a
			// certificate name there.
			DeniedNetworks: []string{"169.254.0.0/16", "fe80::/10"},
			Concurrency:    4,
			MaxPending:     100,
			DNSResolvers:   []string{},
		},
		ACME:   ACME{Enabled: true, RequireEAB: true, HTTP01Port: 80, TLSALPN01Port: 443, Days: 90, MaxAccountIdentifiers: 300, MaxUnboundAccounts: 100, MaxUnboundCertificates: 10000, ClusterNoncesPerMinute: 6000},
		Notify: Notify{URLs: []string{}, Format: "json", Interval: Duration{time.Hour}},
		Policy: Policy{Default: UserPolicy{Allow: []string{}, Deny: []string{}, KeyTypes: []string{}, Challenge: "default"}},
	}
}

// DefaultFile is read when no --config is given and it exists.
const DefaultFile = "certmaker.toml"

// Load reads path over the defaults. An empty path means DefaultFile if it
// exists, else the defaults alone.
func Load(path string) (Config, error) {
	return LoadOverride(path, nil)
}

// LoadOverride is Load with override (command-line flags, which win over
// the file) applied before the whole is validated: a file that only makes
// sense with the flags given is taken.
func LoadOverride(path string, override func(*Config)) (Config, error) {
	cfg := Default()
	// Unless the file or a flag gives one, Validate derives it.
	cfg.Server.PublicURL, cfg.Server.derivedURL = "", ""
	explicit := path != ""
	if !explicit {
		path = DefaultFile
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			if override != nil {
				override(&cfg)
			}
			return cfg, cfg.Validate()
		}
		return cfg, fmt.Errorf("reading config: %w", err)
	}
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		keys := make([]string, len(undec))
		for i, k := range undec {
			keys[i] = k.String()
		}
		return cfg, fmt.Errorf("config %s: unknown key %s", path, strings.Join(keys, ", "))
	}
	if override != nil {
		override(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Validate checks every value; the error names the key.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		return fmt.Errorf("server.listen %q: want host:port such as \":8880\"", c.Server.Listen)
	}
	if c.Server.PublicURL == "" || c.Server.PublicURL == c.Server.derivedURL {
		c.Server.PublicURL = derivePublicURL(c.Server.Listen, c.Server.TLS != TLSOff && c.Server.TLS != "")
		c.Server.derivedURL = c.Server.PublicURL
	}
	u, err := url.Parse(c.Server.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("server.public_url %q: want an http or https URL such as \"http://ca.home.lan:8880\"", c.Server.PublicURL)
	}
	c.Server.PublicURL = strings.TrimRight(c.Server.PublicURL, "/")
	if err := c.validateTLS(u); err != nil {
		return err
	}
	if c.Server.LogFormat != "text" && c.Server.LogFormat != "json" {
		return fmt.Errorf("server.log_format %q: want \"text\" or \"json\"", c.Server.LogFormat)
	}
	if _, err := c.Server.Level(); err != nil {
		return err
	}
	if c.Store.Path == "" {
		return fmt.Errorf("store.path is empty")
	}
	if err := c.Store.validateBackend(); err != nil {
		return err
	}
	switch c.CA.KeyType {
	case "ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519":
	default:
		return fmt.Errorf("ca.key_type %q: want ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519", c.CA.KeyType)
	}
	if c.CA.Days < 1 || c.CA.Days > 36500 {
		return fmt.Errorf("ca.days %d: want 1 to 36500", c.CA.Days)
	}
	if c.CA.IntermediateDays < 1 || c.CA.IntermediateDays > 36500 {
		return fmt.Errorf("ca.intermediate_days %d: want 1 to 36500", c.CA.IntermediateDays)
	}
	if c.CA.IntermediateCommonName == "" {
		return fmt.Errorf("ca.intermediate_common_name is empty")
	}
	if c.CA.ExpiryWarningDays < 0 {
		return fmt.Errorf("ca.expiry_warning_days %d: want 0 (never) or more", c.CA.ExpiryWarningDays)
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			return fmt.Errorf("metrics.listen %q: want host:port such as \"127.0.0.1:9880\", or \"\" for off", c.Metrics.Listen)
		}
	}
	if c.CA.CommonName == "" {
		return fmt.Errorf("ca.common_name is empty")
	}
	if _, err := c.NameConstraints(); err != nil {
		return err
	}
	cert := c.Certificates
	if cert.MinDays < 1 {
		return fmt.Errorf("certificates.min_days %d: want at least 1", cert.MinDays)
	}
	if cert.MaxDays < cert.MinDays || cert.MaxDays > 3650 {
		return fmt.Errorf("certificates.max_days %d: want min_days (%d) to 3650", cert.MaxDays, cert.MinDays)
	}
	if cert.DefaultDays < cert.MinDays || cert.DefaultDays > cert.MaxDays {
		return fmt.Errorf("certificates.default_days %d: want min_days (%d) to max_days (%d)", cert.DefaultDays, cert.MinDays, cert.MaxDays)
	}
	ch := c.Challenge
	if ch.DefaultPort < 1 || ch.DefaultPort > 65535 {
		return fmt.Errorf("challenge.default_port %d: want 1 to 65535", ch.DefaultPort)
	}
	for _, p := range ch.AllowedPorts {
		if p < 1 || p > 65535 {
			return fmt.Errorf("challenge.allowed_ports: %d is not a port", p)
		}
	}
	if len(ch.AllowedPorts) > 0 && !slices.Contains(ch.AllowedPorts, ch.DefaultPort) {
		return fmt.Errorf("challenge.default_port %d is not one of challenge.allowed_ports %v", ch.DefaultPort, ch.AllowedPorts)
	}
	if len(ch.AllowedPorts) == 0 && ch.DefaultPort > challenge.MaxPrivilegedPort {
		return fmt.Errorf("challenge.default_port %d: without challenge.allowed_ports only ports 1 to %d may be used; list it there to allow it",
			ch.DefaultPort, challenge.MaxPrivilegedPort)
	}
	if ch.Timeout.Duration <= 0 {
		return fmt.Errorf("challenge.timeout %s: want a positive duration", ch.Timeout)
	}
	if ch.Expiry.Duration <= 0 {
		return fmt.Errorf("challenge.expiry %s: want a positive duration", ch.Expiry)
	}
	if ch.MaxPending < 1 || ch.MaxPending > 100000 {
		return fmt.Errorf("challenge.max_pending %d: want 1 to 100000", ch.MaxPending)
	}
	if ch.Concurrency < 1 || ch.Concurrency > 64 {
		return fmt.Errorf("challenge.concurrency %d: want 1 to 64", ch.Concurrency)
	}
	if _, err := c.DeniedNetworks(); err != nil {
		return err
	}
	if _, err := c.Hosts(); err != nil {
		return err
	}
	if _, err := c.DNSResolvers(); err != nil {
		return err
	}
	if err := c.validateNotify(); err != nil {
		return err
	}
	return c.validateACME()
}

func (c *Config) validateTLS(public *url.URL) error {
	s := c.Server
	switch s.TLS {
	case TLSOff:
		if s.HTTPListen != "" {
			return fmt.Errorf("server.http_listen %q: only with server.tls \"self\" or \"files\" (with tls off, listen serves plain HTTP already)", s.HTTPListen)
		}
	case TLSSelf, TLSFiles:
		if public.Scheme != "https" {
			return fmt.Errorf("server.public_url %q: with server.tls %q it must be an https URL", s.PublicURL, s.TLS)
		}
		if _, _, err := net.SplitHostPort(s.HTTPListen); err != nil {
			return fmt.Errorf("server.http_listen %q: with tls, OCSP and CRLs are served over plain HTTP (RFC 5019): want host:port such as \":8880\"", s.HTTPListen)
		}
		if s.TLS == TLSFiles && (s.TLSCertFile == "" || s.TLSKeyFile == "") {
			return fmt.Errorf("server.tls \"files\" needs server.tls_cert_file and server.tls_key_file")
		}
	default:
		return fmt.Errorf("server.tls %q: want \"off\", \"self\" or \"files\"", s.TLS)
	}
	if s.HTTPPublicURL != "" {
		u, err := url.Parse(s.HTTPPublicURL)
		if err != nil || u.Scheme != "http" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("server.http_public_url %q: want an http URL such as \"http://ca.home.lan:8880\"", s.HTTPPublicURL)
		}
	}
	return nil
}

func (c *Config) validateACME() error {
	a := c.ACME
	if a.HTTP01Port < 1 || a.HTTP01Port > 65535 {
		return fmt.Errorf("acme.http01_port %d: want 1 to 65535", a.HTTP01Port)
	}
	if a.TLSALPN01Port < 1 || a.TLSALPN01Port > 65535 {
		return fmt.Errorf("acme.tls_alpn01_port %d: want 1 to 65535", a.TLSALPN01Port)
	}
	if a.Days < 0 || a.Days > 3650 {
		return fmt.Errorf("acme.days %d: want 0 (certificates.default_days) to 3650", a.Days)
	}
	if a.MaxAccountIdentifiers < 1 || a.MaxAccountIdentifiers > 1000000 {
		return fmt.Errorf("acme.max_account_identifiers %d: want 1 to 1000000", a.MaxAccountIdentifiers)
	}
	if a.MaxUnboundAccounts < 1 || a.MaxUnboundAccounts > 1000000 {
		return fmt.Errorf("acme.max_unbound_accounts %d: want 1 to 1000000", a.MaxUnboundAccounts)
	}
	if a.MaxUnboundCertificates < 1 || a.MaxUnboundCertificates > 100000000 {
		return fmt.Errorf("acme.max_unbound_certificates %d: want 1 to 100000000", a.MaxUnboundCertificates)
	}
	if n := a.ClusterNoncesPerMinute; n != 0 && (n < 100 || n > 1000000) {
		return fmt.Errorf("acme.cluster_nonces_per_minute %d: want 100 to 1000000", n)
	}
	if a.Enabled && !a.RequireEAB && a.DefaultUser == "" {
		return fmt.Errorf("acme.default_user is empty: with require_eab = false, name the user that accounts without a binding act for")
	}
	return nil
}

// DeniedNetworks parses challenge.denied_networks.
func (c *Config) DeniedNetworks() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.Challenge.DeniedNetworks {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("challenge.denied_networks: %q is not a network such as \"10.0.0.0/8\"", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// DNSResolvers parses challenge.dns_resolvers: "192.168.1.1:53",
// "[fd00::53]:53", or a bare address for port 53.
func (c *Config) DNSResolvers() ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	for _, s := range c.Challenge.DNSResolvers {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.AddrPortFrom(a, 53))
			continue
		}
		ap, err := netip.ParseAddrPort(s)
		if err != nil || ap.Port() == 0 {
			return nil, fmt.Errorf("challenge.dns_resolvers: %q is not an address such as \"192.168.1.1:53\" or \"192.168.1.1\"", s)
		}
		out = append(out, ap)
	}
	return out, nil
}

// Hosts parses challenge.hosts, a static name-to-addresses map that the
// challenge checker consults before DNS.
func (c *Config) Hosts() (map[string][]netip.Addr, error) {
	out := make(map[string][]netip.Addr, len(c.Challenge.Hosts))
	for name, addrs := range c.Challenge.Hosts {
		if len(addrs) == 0 {
			return nil, fmt.Errorf("challenge.hosts.%s: no addresses", name)
		}
		for _, s := range addrs {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("challenge.hosts.%s: %q is not an IP address", name, s)
			}
			out[strings.ToLower(strings.TrimSuffix(name, "."))] = append(out[strings.ToLower(strings.TrimSuffix(name, "."))], a)
		}
	}
	return out, nil
}

// NameConstraints parses the [ca] constraint keys.
func (c *Config) NameConstraints() (ca.NameConstraints, error) {
	var nc ca.NameConstraints
	domains := func(key string, in []string) ([]string, error) {
		var out []string
		for _, d := range in {
			n, err := ca.NormalizeConstraintDomain(d)
			if err != nil {
				return nil, fmt.Errorf("ca.%s: %q is not a domain such as \"home.lan\" or \".home.lan\"", key, d)
			}
			out = append(out, n)
		}
		return out, nil
	}
	ranges := func(key string, in []string) ([]netip.Prefix, error) {
		var out []netip.Prefix
		for _, r := range in {
			p, err := netip.ParsePrefix(r)
			if err != nil {
				return nil, fmt.Errorf("ca.%s: %q is not a network such as \"192.168.0.0/16\"", key, r)
			}
			out = append(out, p.Masked())
		}
		return out, nil
	}
	var err error
	if nc.PermittedDNSDomains, err = domains("permitted_dns_domains", c.CA.PermittedDNSDomains); err != nil {
		return nc, err
	}
	if nc.ExcludedDNSDomains, err = domains("excluded_dns_domains", c.CA.ExcludedDNSDomains); err != nil {
		return nc, err
	}
	if nc.PermittedIPRanges, err = ranges("permitted_ip_ranges", c.CA.PermittedIPRanges); err != nil {
		return nc, err
	}
	if nc.ExcludedIPRanges, err = ranges("excluded_ip_ranges", c.CA.ExcludedIPRanges); err != nil {
		return nc, err
	}
	return nc, nil
}
