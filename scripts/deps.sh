#!/usr/bin/env bash
# Installs the Debian packages the tests use when they are missing. Runs as
# root on CI and developer machines; uses sudo elsewhere if it can.
set -euo pipefail

need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v gcc >/dev/null 2>&1 || need+=(gcc) # go test -race needs cgo
command -v lego >/dev/null 2>&1 || need+=(lego)       # ACME end-to-end tests
command -v certbot >/dev/null 2>&1 || need+=(certbot) # ACME end-to-end tests
command -v uacme >/dev/null 2>&1 || need+=(uacme)           # ACME end-to-end tests
command -v dehydrated >/dev/null 2>&1 || need+=(dehydrated) # ACME end-to-end tests
command -v caddy >/dev/null 2>&1 || need+=(caddy)           # ACME end-to-end tests (its service is not started here)
command -v knotd >/dev/null 2>&1 || need+=(knot)             # the DNS server of the dns-01 tests (its service is not started here)
command -v knsupdate >/dev/null 2>&1 || need+=(knot-dnsutils) # dynamic updates for the token API's DNS proof test
[ -d /usr/lib/python3/dist-packages/certbot_dns_rfc2136 ] || need+=(python3-certbot-dns-rfc2136) # certbot's dns-01 test
command -v chromium >/dev/null 2>&1 || need+=(chromium) # the dashboard's browser tests
command -v strace >/dev/null 2>&1 || need+=(strace)     # counts the server's fsyncs per commit
command -v zbarimg >/dev/null 2>&1 || need+=(zbar-tools) # decodes the trust page's QR code in its browser test
command -v certutil >/dev/null 2>&1 || need+=(libnss3-tools) # puts the root into Chromium's NSS store for the HTTPS browser test
command -v etcd >/dev/null 2>&1 || need+=(etcd-server) # the cluster test's three etcd members (e2e/etcd)

[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "deps: need ${need[*]} but am not root and have no sudo" >&2; exit 1; }
  sudo=sudo
fi
echo "deps: installing ${need[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
