package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"certmaker/config"
)

// The example file documents the defaults: loading it must give exactly them.
func TestExampleIsDefault(t *testing.T) {
	cfg, err := config.Load("../certmaker.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	def := config.Default()
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, def) {
		t.Errorf("example differs from defaults:\n got %+v\nwant %+v", cfg, def)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	load := func(t *testing.T, body string) (config.Config, error) {
		t.Helper()
		p := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return config.Load(p)
	}
	t.Run("Overrides", func(t *testing.T) {
		cfg, err := load(t, `
[server]
public_url = "https://ca.home.lan/"
[challenge]
required = true
timeout = "750ms"
allowed_ports = [80, 8080]
[challenge.hosts]
"NAS.home.lan." = ["192.168.1.20", "fd00::20"]
`)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Server.PublicURL != "https://ca.home.lan" || !cfg.Challenge.Required || cfg.Challenge.Timeout.Duration != 750*time.Millisecond {
			t.Errorf("got %+v", cfg)
		}
		hosts, err := cfg.Hosts()
		if err != nil || len(hosts["nas.home.lan"]) != 2 {
			t.Errorf("hosts %v %v", hosts, err)
		}
		if cfg.Certificates.DefaultDays != 7 {
			t.Error("defaults not kept for keys not given")
		}
	})
	t.Run("Etcd", func(t *testing.T) {
		cfg, err := load(t, `
[store]
backend = "etcd"
key_file = "/etc/certmaker/seal.key"
[store.etcd]
endpoints = ["https://etcd1.home.lan:2379", "etcd2.home.lan:2379", "[fd00::3]:2379"]
prefix = "/ca/"
ca_file = "/etc/certmaker/etcd-ca.pem"
cert_file = "/etc/certmaker/etcd-client.pem"
key_file = "/etc/certmaker/etcd-client-key.pem"
request_timeout = "2s"
`)
		if err != nil {
			t.Fatal(err)
		}
		e := cfg.Store.Etcd
		if cfg.Store.Backend != "etcd" || len(e.Endpoints) != 3 || e.KeyFile != "/etc/certmaker/etcd-client-key.pem" ||
			cfg.Store.KeyPath() != "/etc/certmaker/seal.key" || !e.TLS() || e.RequestTimeout.Duration != 2*time.Second || e.DialTimeout.Duration != 5*time.Second {
			t.Errorf("got %+v", cfg.Store)
		}
	})
	bad := []struct{ name, body, mention string }{
		{"UnknownTable", "[nope]\nx = 1\n", "nope"},
		{"UnknownKey", "[store]\npth = \"x\"\n", "store.pth"},
		{"Backend", "[store]\nbackend = \"sql\"\n", "store.backend"},
		{"EtcdNoEndpoints", "[store]\nbackend = \"etcd\"\n", "store.etcd.endpoints"},
		{"EtcdEndpoint", "[store]\nbackend = \"etcd\"\n[store.etcd]\nendpoints = [\"etcd1\"]\n", "store.etcd.endpoints"},
		{"EtcdEndpointPath", "[store]\nbackend = \"etcd\"\n[store.etcd]\nendpoints = [\"https://etcd1:2379/v3\"]\n", "store.etcd.endpoints"},
		{"EtcdPrefix", "[store]\nbackend = \"etcd\"\n[store.etcd]\nendpoints = [\"etcd1:2379\"]\nprefix = \"ca\"\n", "store.etcd.prefix"},
		{"EtcdCertWithoutKey", "[store]\nbackend = \"etcd\"\n[store.etcd]\nendpoints = [\"etcd1:2379\"]\ncert_file = \"c.pem\"\n", "store.etcd.cert_file"},
		{"EtcdUserWithoutPassword", "[store]\nbackend = \"etcd\"\n[store.etcd]\nendpoints = [\"etcd1:2379\"]\nusername = \"ca\"\n", "store.etcd.username"},
		{"EtcdTimeout", "[store]\nbackend = \"etcd\"\n[store.etcd]\nendpoints = [\"etcd1:2379\"]\nrequest_timeout = \"-1s\"\n", "request_timeout"},
		{"WrongType", "[certificates]\nmax_days = \"many\"\n", "max_days"},
		{"Listen", "[server]\nlisten = \"8880\"\n", "server.listen"},
		{"LogFormat", "[server]\nlog_format = \"xml\"\n", "server.log_format"},
		{"LogLevel", "[server]\nlog_level = \"verbose\"\n", "server.log_level"},
		{"KeyType", "[ca]\nkey_type = \"dsa\"\n", "ca.key_type"},
		{"DefaultOutsideRange", "[certificates]\ndefault_days = 400\n", "certificates.default_days"},
		{"MinZero", "[certificates]\nmin_days = 0\n", "certificates.min_days"},
		{"Port", "[challenge]\ndefault_port = 0\n", "challenge.default_port"},
		{"AllowedPort", "[challenge]\nallowed_ports = [70000]\n", "challenge.allowed_ports"},
		{"Network", "[challenge]\ndenied_networks = [\"10.0.0.0/33\"]\n", "challenge.denied_networks"},
		{"HostAddr", "[challenge.hosts]\n\"a.lan\" = [\"not-ip\"]\n", "challenge.hosts"},
		{"Expiry", "[challenge]\nexpiry = \"-1h\"\n", "challenge.expiry"},
		{"MaxPending", "[challenge]\nmax_pending = 0\n", "challenge.max_pending"},
		{"DefaultPortNotAllowed", "[challenge]\nallowed_ports = [8080]\n", "challenge.default_port"},
		// Without allowed_ports only the privileged ports may be named.
		{"DefaultPortUnprivileged", "[challenge]\ndefault_port = 8080\n", "challenge.default_port"},
		{"ConstraintDomain", "[ca]\npermitted_dns_domains = [\"*.home.lan\"]\n", "ca.permitted_dns_domains"},
		{"ConstraintRange", "[ca]\nexcluded_ip_ranges = [\"192.168.1.1\"]\n", "ca.excluded_ip_ranges"},
		{"NotifyURL", "[notify]\nurls = [\"ntfy.sh/topic\"]\n", "notify.urls"},
		{"NotifyFormat", "[notify]\nformat = \"slack\"\n", "notify.format"},
		{"NotifyWarnDays", "[notify]\nwarn_days = -1\n", "notify.warn_days"},
		{"NotifyInterval", "[notify]\ninterval = \"10ms\"\n", "notify.interval"},
		{"DNSResolver", "[challenge]\ndns_resolvers = [\"dns.home.lan:53\"]\n", "challenge.dns_resolvers"},
		{"DNSResolverPort", "[challenge]\ndns_resolvers = [\"192.168.1.1:0\"]\n", "challenge.dns_resolvers"},
		{"TLSALPNPort", "[acme]\ntls_alpn01_port = 0\n", "acme.tls_alpn01_port"},
		{"Syntax", "[server\n", "toml"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := load(t, c.body)
			if err == nil || !strings.Contains(err.Error(), c.mention) {
				t.Errorf("error %v, want one naming %q", err, c.mention)
			}
		})
	}
	t.Run("NotifyURLNotEchoed", func(t *testing.T) {
		_, err := load(t, "[notify]\nurls = [\"https://ntfy.sh/ok\", \"ftp://x/s3cret\"]\n")
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "entry 2") {
			t.Errorf("bad webhook URL: %v", err)
		}
	})
	t.Run("DNSResolvers", func(t *testing.T) {
		cfg, err := load(t, "[challenge]\ndns_resolvers = [\"192.168.1.1\", \"127.0.0.53:5353\", \"[fd00::53]:53\"]\n")
		if err != nil {
			t.Fatal(err)
		}
		got, err := cfg.DNSResolvers()
		if err != nil || fmt.Sprint(got) != "[192.168.1.1:53 127.0.0.53:5353 [fd00::53]:53]" {
			t.Errorf("dns_resolvers read as %v, %v", got, err)
		}
	})
	t.Run("UnprivilegedPortAllowed", func(t *testing.T) {
		cfg, err := load(t, "[challenge]\ndefault_port = 8080\nallowed_ports = [8080]\n")
		if err != nil || cfg.Challenge.DefaultPort != 8080 {
			t.Errorf("default_port 8080 listed in allowed_ports: %+v, %v", cfg.Challenge, err)
		}
	})
	t.Run("NoFileIsDefault", func(t *testing.T) {
		t.Chdir(t.TempDir())
		cfg, err := config.Load("")
		if err != nil || !reflect.DeepEqual(cfg, config.Default()) {
			t.Errorf("no file: %v", err)
		}
	})
	t.Run("ExplicitMissingFile", func(t *testing.T) {
		if _, err := config.Load(filepath.Join(dir, "missing.toml")); err == nil {
			t.Error("missing explicit file accepted")
		}
	})
}
