#!/usr/bin/env bash
# Load test: certmaker against cfssl, step-ca (bbolt and badgerv2) and a bare
# Go HTTP server, on loopback, alternately, with the same concurrency, and
# the ratios issues 6 and 17 ask for.
#
#   scripts/load.sh            the comparisons (make load): wrk for the simple
#                              and single-CSR routes and OCSP; tools/acmeload
#                              for CSR signing from one pool of P-256 CSRs
#                              (cfssl sign, step-ca /1.0/sign with a one-time
#                              token each, certmaker request-with-csr) and for
#                              whole ACME orders (x/crypto/acme, one account
#                              per worker, http-01 answered on 127.0.0.2)
#                              and certmaker as a cluster: three nodes on three
#                              etcd members (Debian's etcd-server, fsync on),
#                              the CSR pool spread over the nodes, beside the
#                              one bbolt node's run (pool-cm-cluster)
#   scripts/load.sh --scale    certmaker on a store of a million certificates
#                              against an empty one; fills the store with
#                              tools/prefill the first time
#   scripts/load.sh --prefill  the same on a freshly filled store (make prefill),
#                              then every listing, filter, search and count
#                              an operator or the dashboard uses, on the
#                              full store and on a 1,000-certificate one
#   scripts/load.sh --ops      only that last table, on the store already filled
#
# Environment: DURATION (wrk -d, default 10s), CONNS (default 32), ROUNDS
# (default 3; every round runs each pair once, in alternating order, and the
# table shows medians), LOAD_DIR (work files, default /tmp/certmaker-load),
# PREFILL_N (default 1000000), CERTMAKER_BIN (a prebuilt certmaker to
# measure instead of building this tree), STEPCA_BIN (a step-ca binary;
# default: built once with `go install` from the module proxy into
# LOAD_CACHE/bin, LOAD_CACHE defaulting to ~/.cache/certmaker-load),
# SYNC_DURATION (the strace runs that count disk syncs, default 3s), ONLY
# (the comparison's runs to make, by name, e.g. ONLY="acme-cm pool-cm
# acme-step-badger" for the ACME and CSR-pool rows, ONLY="pool-cm
# pool-cm-cluster" for the cluster against one node; shell patterns allowed;
# default all; step-ca is built and started only when a step run is
# wanted), PORT_OFFSET (added to every port, so that two runs on one
# machine do not collide; default 0). Every server listens on 127.0.0.1
# only (the http-01 answerer on 127.0.0.2), and every process started here
# is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "load: $*" >&2; exit 1; }
log() { echo "load: $*" >&2; }

# wanted NAME: whether ONLY (shell patterns) asks for the run NAME.
wanted() {
	[ -z "$ONLY" ] && return 0
	local p
	for p in $ONLY; do
		# shellcheck disable=SC2053 # a pattern on purpose
		[[ $1 == $p ]] && return 0
	done
	return 1
}

mode=compare
FRESH=0
case "${1:-}" in
--scale) mode=scale ;;
--prefill) mode=scale FRESH=1 ;; # fill a new store even if one is there
--ops) mode=ops ;; # only the operations table, on the store --prefill filled
"") ;;
*) die "usage: $0 [--scale | --prefill | --ops]" ;;
esac
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
LOAD_DIR=${LOAD_DIR:-/tmp/certmaker-load}
PREFILL_N=${PREFILL_N:-1000000}
GO=${GO:-go}
PORT_OFFSET=${PORT_OFFSET:-0}
ONLY=${ONLY:-}
CM_ADDR=127.0.0.1:$((18880 + PORT_OFFSET))
CFSSL_PORT=$((18888 + PORT_OFFSET))
STATIC_ADDR=127.0.0.1:$((18890 + PORT_OFFSET))
STEP_BBOLT_ADDR=127.0.0.1:$((18900 + PORT_OFFSET))
STEP_BADGER_ADDR=127.0.0.1:$((18901 + PORT_OFFSET))
HTTP01_ADDR=127.0.0.2:$((18899 + PORT_OFFSET)) # the load client answers http-01 here for both CAs
STEPCA_VERSION=v0.30.2
LOAD_CACHE=${LOAD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/certmaker-load}
SYNC_DURATION=${SYNC_DURATION:-3s}

# --- tools -----------------------------------------------------------------
install_missing() {
	local need=()
	command -v wrk >/dev/null 2>&1 || need+=(wrk)
	if [ "$mode" = compare ]; then
		{ command -v cfssl >/dev/null 2>&1 && command -v cfssljson >/dev/null 2>&1; } || need+=(golang-cfssl)
		command -v openssl >/dev/null 2>&1 || need+=(openssl)
		command -v strace >/dev/null 2>&1 || need+=(strace) # counts disk syncs per certificate
	fi
	command -v curl >/dev/null 2>&1 || need+=(curl)
	[ ${#need[@]} -eq 0 ] && return
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || die "need ${need[*]}, and am not root and have no sudo"
		sudo=sudo
	fi
	log "installing ${need[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
	# Debian's golang-cfssl puts cfssl and cfssljson in /usr/bin.
	command -v cfssl >/dev/null 2>&1 || [ "$mode" != compare ] || die "cfssl not found after installing golang-cfssl (dpkg -L golang-cfssl)"
}

mkdir -p "$LOAD_DIR"
chmod 700 "$LOAD_DIR"
install_missing
log "building certmaker and tools into $LOAD_DIR"
if [ -n "${CERTMAKER_BIN:-}" ]; then
	# A prebuilt binary, say a patched one to compare with this tree's.
	cp "$CERTMAKER_BIN" "$LOAD_DIR/certmaker"
else
	$GO build -trimpath -o "$LOAD_DIR/certmaker" .
fi
$GO build -trimpath -o "$LOAD_DIR/staticsrv" ./tools/staticsrv
$GO build -trimpath -o "$LOAD_DIR/prefill" ./tools/prefill
$GO build -trimpath -o "$LOAD_DIR/acmeload" ./tools/acmeload

# step-ca is built once and kept: on 2 cores the build takes minutes.
stepca_build() {
	STEPCA_BIN=${STEPCA_BIN:-$LOAD_CACHE/bin/step-ca}
	[ -x "$STEPCA_BIN" ] && return
	mkdir -p "$LOAD_CACHE/bin"
	log "building step-ca $STEPCA_VERSION into $LOAD_CACHE/bin (once; takes minutes)"
	local t0=$SECONDS
	(cd "$LOAD_CACHE" && GOBIN="$LOAD_CACHE/bin" CGO_ENABLED=0 GOFLAGS=-mod=mod \
		$GO install "github.com/smallstep/certificates/cmd/step-ca@$STEPCA_VERSION")
	echo "$((SECONDS - t0))" >"$LOAD_CACHE/bin/step-ca.build-seconds"
	log "step-ca built in $((SECONDS - t0)) s"
}
# need_stepca: whether ONLY asks for any step-ca run.
need_stepca() {
	local n
	for n in pool-step-bbolt pool-step-badger acme-step-bbolt acme-step-badger; do
		wanted "$n" && return 0
	done
	return 1
}
if [ "$mode" = compare ] && need_stepca; then stepca_build; fi
cd "$LOAD_DIR" # certmaker runs on defaults but for cm.toml's ACME test ports

# --- processes -----------------------------------------------------------------
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; }

wait_http() { # URL
	for _ in $(seq 200); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.05
	done
	die "$1 did not answer"
}

# start_certmaker DB LOGFILE: starts serve on CM_ADDR, sets cm_pid and
# cm_start_ms (exec until /healthz answers).
start_certmaker() {
	port_free "$CM_ADDR" || die "$CM_ADDR is in use"
	local t0 t1
	t0=$(date +%s%N)
	# CM_CONFIG: compare's cm.toml lets ACME fetch http-01 from HTTP01_ADDR's port.
	./certmaker ${CM_CONFIG:+--config "$CM_CONFIG"} --db "$1" serve --listen "$CM_ADDR" --public-url "http://$CM_ADDR" 2>"$2" >/dev/null &
	cm_pid=$!
	pids+=("$cm_pid")
	wait_http "http://$CM_ADDR/healthz"
	t1=$(date +%s%N)
	cm_start_ms=$(((t1 - t0) / 1000000))
}

# start_stepca DBTYPE ADDR: a fresh step-ca with its store in
# step-DBTYPE/ (tools/acmeload writes the keys and ca.json); sets step_pid.
# --insecure only unlocks --acme-http-port, so that it fetches http-01
# answers from HTTP01_ADDR's port as certmaker does.
start_stepca() {
	local dir="$LOAD_DIR/step-$1"
	rm -rf "$dir"
	./acmeload stepca-init -dir "$dir" -addr "$2" -db "$1"
	port_free "$2" || die "$2 is in use"
	"$STEPCA_BIN" --insecure --acme-http-port "${HTTP01_ADDR##*:}" "$dir/ca.json" >"step-$1.log" 2>&1 &
	step_pid=$!
	pids+=("$step_pid")
	for _ in $(seq 200); do
		curl -s -o /dev/null --cacert "$dir/root.crt" "https://$2/health" && return 0
		kill -0 "$step_pid" 2>/dev/null || break
		sleep 0.05
	done
	tail -5 "step-$1.log" >&2
	die "step-ca ($1) did not start on $2"
}

sync_of() { awk -v n="$1" '$1==n{v=$2} END{print (v=="") ? "-" : v}' "$LOAD_DIR/syncs"; }

stop_pid() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# --- measuring -----------------------------------------------------------------
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# VmRSS and RssAnon: RSS counts the pages of the mmap'd database file that
# the process has touched (page cache, shared and reclaimable), RssAnon only
# the process's own memory.
rss_kb() { awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} END{print r, a}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/{print $2}' "/proc/$1/status"; }

# idle_pct: the machine's idle share over half a second. The load
# generator shares the machine, and so may other work; a run that starts
# on a busy machine says so in the table.
idle_pct() {
	local a b
	a=($(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8, $5+$6}' /proc/stat))
	sleep 0.5
	b=($(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8, $5+$6}' /proc/stat))
	echo $((100 * (b[1] - a[1]) / (b[0] - a[0] + 1)))
}

wait_quiet() {
	local i idle
	for i in $(seq 20); do
		idle=$(idle_pct)
		[ "$idle" -ge 85 ] && break
	done
	echo "$idle"
}

to_ms() { # wrk latency such as 812.00us, 18.04ms, 1.02s
	awk -v v="$1" 'BEGIN{
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v/1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
		else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v*60000 }
		else { sub(/s$/, "", v); printf "%.2f", v*1000 } }'
}

# disk_bytes FILE|DIR: the space a store takes (allocated blocks: bbolt grows
# its file by truncation, badger preallocates its value log, so the apparent
# size jumps by megabytes that hold nothing yet).
disk_bytes() { du -sB1 "$1" | cut -f1; }

# track_rss PID RSS_KB ANON_KB: certmaker's peaks over all runs, for the
# issue 6 verdicts.
track_rss() {
	[ "$1" = "${cm_pid:-}" ] || return 0
	[ "$2" -gt "$rss_peak_kb" ] && rss_peak_kb=$2
	[ "$3" -gt "$anon_peak_kb" ] && anon_peak_kb=$3
	return 0
}

# bench NAME URL LUA PID [DB]: one wrk run; appends
# "NAME rps p50 p99 cpu_us idle errors rss_kb db_bytes_per_cert" to results.
bench() {
	local name=$1 url=$2 lua=$3 pid=${4:-} db=${5:-} out idle c0=0 c1=0 rss_max=0 anon_max=0 sampler d0=0
	wanted "$name" || return 0
	idle=$(wait_quiet)
	out="$LOAD_DIR/wrk.$name.out"
	[ -n "$db" ] && d0=$(disk_bytes "$db")
	[ -n "$pid" ] && c0=$(cpu_ticks "$pid")
	if [ -n "$pid" ]; then
		(while kill -0 "$pid" 2>/dev/null; do rss_kb "$pid"; sleep 0.5; done) >"$LOAD_DIR/rss.$name" 2>/dev/null &
		sampler=$!
	fi
	if [ -n "$lua" ]; then
		wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s "$lua" "$url" >"$out"
	else
		wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$url" >"$out"
	fi
	local n rps p50 p99 errs cpu=-
	if [ -n "$pid" ]; then
		kill "$sampler" 2>/dev/null || true
		wait "$sampler" 2>/dev/null || true
		c1=$(cpu_ticks "$pid")
		rss_max=$(awk 'BEGIN{m=0} $1>m{m=$1} END{print m}' "$LOAD_DIR/rss.$name")
		anon_max=$(awk 'BEGIN{m=0} $2>m{m=$2} END{print m}' "$LOAD_DIR/rss.$name")
		track_rss "$pid" "$rss_max" "$anon_max"
	fi
	n=$(awk '/requests in/{print $1}' "$out")
	rps=$(awk '/^Requests\/sec/{printf "%.0f", $2}' "$out")
	p50=$(to_ms "$(awk '$1=="50%"{print $2}' "$out")")
	p99=$(to_ms "$(awk '$1=="99%"{print $2}' "$out")")
	errs=$(awk '/Non-2xx/{e+=$NF} /Socket errors/{gsub(",", ""); e+=$4+$6+$8+$10} END{print e+0}' "$out")
	local per_cert=-
	if [ -n "$pid" ] && [ "${n:-0}" -gt 0 ]; then
		cpu=$(((c1 - c0) * 1000000 / $(getconf CLK_TCK) / n))
	fi
	if [ -n "$db" ] && [ "${n:-0}" -gt 0 ]; then
		per_cert=$((($(disk_bytes "$db") - d0) / n))
	fi
	[ -n "$pid" ] || rss_max=-
	echo "$name $rps $p50 $p99 $cpu $idle $errs $rss_max $per_cert" >>"$LOAD_DIR/results"
	printf 'load:   %-18s %7s req/s  p50 %7s ms  p99 %8s ms  cpu/req %5s us  idle before %3s%%  errors %s\n' \
		"$name" "$rps" "$p50" "$p99" "$cpu" "$idle" "$errs" >&2
}

# gobench NAME PID DB acmeload-ARGS...: one run of tools/acmeload (sign or
# acme), which measures the server over its timed phase only (an ACME run
# registers its accounts first); appends to results like bench.
gobench() {
	local name=$1 pid=$2 db=$3 idle out line
	wanted "$name" || return 0
	shift 3
	idle=$(wait_quiet)
	out="$LOAD_DIR/go.$name.out"
	local dbarg=()
	[ -n "$db" ] && dbarg=(-db "$db")
	if ! ./acmeload "$@" -conns "$CONNS" -duration "$DURATION" -pid "$pid" "${dbarg[@]}" >"$out" 2>"$out.err"; then
		cat "$out.err" >&2
		die "$name: acmeload failed"
	fi
	line=$(tail -1 "$out")
	# key=value pairs into shell variables: n errors rate p50 p99 cpu_ms rss_kb anon_kb db_bytes_per_cert ...
	local n errors rate p50 p99 cpu_ms rss_kb anon_kb db_bytes_per_cert cpu
	eval "$(echo "$line" | tr ' ' '\n' | awk -F= '$1 ~ /^(n|errors|rate|p50|p99|cpu_ms|rss_kb|anon_kb|db_bytes_per_cert)$/{printf "%s=%s\n", $1, $2}')"
	cpu=$(awk -v c="$cpu_ms" 'BEGIN{ if (c == "-") print "-"; else printf "%.0f", c * 1000 }')
	track_rss "$pid" "$rss_kb" "$anon_kb"
	echo "$name $(printf '%.0f' "$rate") $p50 $p99 $cpu $idle $errors $rss_kb $db_bytes_per_cert" >>"$LOAD_DIR/results"
	printf 'load:   %-18s %7.0f /s     p50 %7s ms  p99 %8s ms  cpu/cert %5s us  idle before %3s%%  errors %s\n' \
		"$name" "$rate" "$p50" "$p99" "$cpu" "$idle" "$errors" >&2
	[ -s "$out.err" ] && sed 's/^/load:     /' "$out.err" >&2
	return 0
}

# syncs NAME PID acmeload-ARGS...: one untimed run under strace that counts
# the server's disk syncs; appends "NAME syncs_per_cert" to syncs.
syncs() {
	local name=$1 pid=$2 out per
	wanted "$name" || return 0
	shift 2
	out="$LOAD_DIR/syncs.$name.out"
	./acmeload "$@" -conns "$CONNS" -duration "$SYNC_DURATION" -pid "$pid" -count-syncs "$LOAD_DIR/strace.$name" >"$out" 2>"$out.err" ||
		{ cat "$out.err" >&2; die "$name: acmeload under strace failed"; }
	per=$(tail -1 "$out" | tr ' ' '\n' | awk -F= '$1=="syncs_per_cert"{print $2}')
	echo "$name ${per:--}" >>"$LOAD_DIR/syncs"
	log "  $name: ${per:--} disk syncs per certificate"
}

# med NAME COLUMN: the median over rounds (columns: 2 rps, 3 p50, 4 p99,
# 5 cpu us, 8 RSS kB, 9 database bytes per certificate).
med() {
	awk -v n="$1" -v c="$2" '$1==n && $c!="-"{print $c}' "$LOAD_DIR/results" | sort -g |
		awk '{v[NR]=$1} END{if (NR==0) print "-"; else if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'
}
span() {
	awk -v n="$1" '$1==n{print $2}' "$LOAD_DIR/results" | sort -n | awk 'NR==1{a=$1} {b=$1} END{printf "%s-%s", a, b}'
}
errsum() { awk -v n="$1" '$1==n{e+=$7} END{print e+0}' "$LOAD_DIR/results"; }

# divide VALUE DIVISOR DECIMALS: VALUE/DIVISOR, or "-".
divide() { awk -v v="$1" -v d="$2" -v p="$3" 'BEGIN{ if (v=="-" || v=="") print "-"; else printf "%.*f", p, v/d }'; }

row() { # NAME LABEL
	printf '| %-46s | %7s | %-11s | %7s | %8s | %7s | %5s | %6s | %6s |\n' "$2" "$(med "$1" 2)" "$(span "$1")" \
		"$(med "$1" 3)" "$(med "$1" 4)" "$(divide "$(med "$1" 5)" 1000 3)" "$(divide "$(med "$1" 8)" 1024 0)" \
		"$(divide "$(med "$1" 9)" 1 0)" "$(errsum "$1")"
}

header() {
	echo "| target | req/s (median) | req/s (min-max) | p50 ms | p99 ms | server CPU ms/req | RSS MB | DB bytes/cert | errors |"
	echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
}

# verdict LABEL VALUE OP LIMIT: prints one target line.
verdict() {
	local ok
	ok=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN{ if (v=="-" ) {print "n/a"; exit}
		if ((op==">=" && v+0>=l+0) || (op=="<=" && v+0<=l+0) || (op=="<" && v+0<l+0)) print "met"; else print "MISSED" }')
	printf '| %-58s | %10s | %s %s | %s |\n' "$1" "$2" "$3" "$4" "$ok"
}
# errors_note: runs whose requests failed measured nothing worth comparing.
errors_note() {
	local bad
	bad=$(awk '$7>0{print $1}' "$LOAD_DIR/results" | sort -u | tr '\n' ' ')
	if [ -n "$bad" ]; then
		echo
		echo "**Some requests failed in: $bad(see $LOAD_DIR/wrk.*.out); those figures are not valid.**"
	fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0==0 || a=="-" || b=="-") print "-"; else printf "%.2f", a/b }'; }

machine() {
	local cpu
	cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
	echo "$(nproc) cores ($cpu), $(awk '/MemTotal/{printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr), $($GO version | awk '{print $3}'), wrk $(wrk -v 2>&1 | awk 'NR==1{print $2}')"
}

# --- the cluster row -----------------------------------------------------------
# Three etcd members (Debian's etcd-server, as an operator runs it: fsync
# on, loopback ports) and three certmaker nodes on them, one key file, one
# public URL; the CSR pool's workers spread over the three nodes.
ETCD_PEER0=$((18910 + PORT_OFFSET))
ETCD_CLIENT0=$((18920 + PORT_OFFSET))
NODE_PORT0=$((18930 + PORT_OFFSET))
cluster_urls="" cluster_node_pids=() cluster_etcd_pids=()

start_cluster() {
	command -v etcd >/dev/null 2>&1 || die "the cluster row needs etcd (apt-get install etcd-server; make deps installs it)"
	rm -rf cluster
	mkdir -p cluster
	local i initial="" endpoints=""
	for i in 1 2 3; do
		initial+="m$i=http://127.0.0.1:$((ETCD_PEER0 + i)),"
		endpoints+="\"http://127.0.0.1:$((ETCD_CLIENT0 + i))\", "
	done
	for i in 1 2 3; do
		port_free "127.0.0.1:$((ETCD_CLIENT0 + i))" || die "port $((ETCD_CLIENT0 + i)) is in use"
		etcd --name "m$i" --data-dir "cluster/m$i" \
			--listen-client-urls "http://127.0.0.1:$((ETCD_CLIENT0 + i))" --advertise-client-urls "http://127.0.0.1:$((ETCD_CLIENT0 + i))" \
			--listen-peer-urls "http://127.0.0.1:$((ETCD_PEER0 + i))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PEER0 + i))" \
			--initial-cluster "${initial%,}" --initial-cluster-state new --initial-cluster-token certmaker-load \
			--logger zap --log-outputs "cluster/m$i.log" &
		cluster_etcd_pids+=($!)
		pids+=($!)
	done
	for i in 1 2 3; do
		local ok=no
		for _ in $(seq 200); do
			curl -s "http://127.0.0.1:$((ETCD_CLIENT0 + i))/health" | grep -q '"health":"true"' && { ok=yes; break; }
			sleep 0.1
		done
		[ $ok = yes ] || die "etcd member m$i is not healthy (cluster/m$i.log)"
	done
	head -c 32 /dev/urandom | base64 >cluster/seal.key
	chmod 600 cluster/seal.key
	for i in 1 2 3; do
		mkdir -p "cluster/n$i"
		cp cluster/seal.key "cluster/n$i/seal.key"
		cat >"cluster/n$i/certmaker.toml" <<-EOF
		[server]
		listen = "127.0.0.1:$((NODE_PORT0 + i))"
		public_url = "http://127.0.0.1:$((NODE_PORT0 + 1))"
		[store]
		backend = "etcd"
		key_file = "seal.key"
		[store.etcd]
		endpoints = [${endpoints%, }]
		EOF
		port_free "127.0.0.1:$((NODE_PORT0 + i))" || die "port $((NODE_PORT0 + i)) is in use"
		# One after the other: the first makes the root and the admin.
		(cd "cluster/n$i" && exec ../../certmaker serve 2>serve.log >/dev/null) &
		cluster_node_pids+=($!)
		pids+=($!)
		wait_http "http://127.0.0.1:$((NODE_PORT0 + i))/healthz"
		cluster_urls+="http://127.0.0.1:$((NODE_PORT0 + i))/api/certificate/request-with-csr,"
	done
	cluster_urls=${cluster_urls%,}
	(cd cluster/n1 && umask 077 && ../../certmaker user add loader >../token.txt)
	[ -s cluster/token.txt ] || die "no token from the cluster's user add"
	log "cluster: etcd members ${cluster_etcd_pids[*]}, certmaker nodes ${cluster_node_pids[*]}"
}

ticks_of() { local s=0 p; for p in "$@"; do s=$((s + $(cpu_ticks "$p"))); done; echo "$s"; }

# etcd_metric NAME: a counter summed over the members' /metrics.
etcd_metric() {
	local i s=0 v
	for i in 1 2 3; do
		v=$(curl -s "http://127.0.0.1:$((ETCD_CLIENT0 + i))/metrics" | awk -v n="$1" '$1==n{print $2}')
		s=$(awk -v a="$s" -v b="${v:-0}" 'BEGIN{printf "%.6f", a+b}')
	done
	echo "$s"
}

# cluster_bench NAME: one run of the CSR pool over the three nodes;
# appends to results like gobench, and to cluster-split where the
# certificate's time goes: certmaker's CPU (three nodes), etcd's CPU (three
# members), the WAL fsyncs and backend commits etcd made per certificate
# and how long each took.
cluster_bench() {
	local name=$1 idle out line
	wanted "$name" || return 0
	idle=$(wait_quiet)
	out="$LOAD_DIR/go.$name.out"
	local n0 c0 e0 f0 fs0 b0 bs0
	c0=$(ticks_of "${cluster_node_pids[@]}")
	e0=$(ticks_of "${cluster_etcd_pids[@]}")
	f0=$(etcd_metric etcd_disk_wal_fsync_duration_seconds_count)
	fs0=$(etcd_metric etcd_disk_wal_fsync_duration_seconds_sum)
	b0=$(etcd_metric etcd_disk_backend_commit_duration_seconds_count)
	bs0=$(etcd_metric etcd_disk_backend_commit_duration_seconds_sum)
	n0=$(du -sB1 cluster | cut -f1)
	if ! ./acmeload sign -target certmaker -url "$cluster_urls" -csrs csrs.pem -token-file cluster/token.txt \
		-conns "$CONNS" -duration "$DURATION" >"$out" 2>"$out.err"; then
		cat "$out.err" >&2
		die "$name: acmeload failed"
	fi
	local c1 e1 f1 fs1 b1 bs1 n1
	c1=$(ticks_of "${cluster_node_pids[@]}")
	e1=$(ticks_of "${cluster_etcd_pids[@]}")
	f1=$(etcd_metric etcd_disk_wal_fsync_duration_seconds_count)
	fs1=$(etcd_metric etcd_disk_wal_fsync_duration_seconds_sum)
	b1=$(etcd_metric etcd_disk_backend_commit_duration_seconds_count)
	bs1=$(etcd_metric etcd_disk_backend_commit_duration_seconds_sum)
	n1=$(du -sB1 cluster | cut -f1)
	line=$(tail -1 "$out")
	local n errors rate p50 p99
	eval "$(echo "$line" | tr ' ' '\n' | awk -F= '$1 ~ /^(n|errors|rate|p50|p99)$/{printf "%s=%s\n", $1, $2}')"
	local hz cm_us etcd_us
	hz=$(getconf CLK_TCK)
	cm_us=$(((c1 - c0) * 1000000 / hz / (n > 0 ? n : 1)))
	etcd_us=$(((e1 - e0) * 1000000 / hz / (n > 0 ? n : 1)))
	echo "$name $(printf '%.0f' "$rate") $p50 $p99 $((cm_us + etcd_us)) $idle $errors - $(((n1 - n0) / (n > 0 ? n : 1)))" >>"$LOAD_DIR/results"
	awk -v nm="$name" -v n="$n" -v cm="$cm_us" -v et="$etcd_us" -v f="$((${f1%.*} - ${f0%.*}))" -v fs="$(awk -v a="$fs1" -v b="$fs0" 'BEGIN{print a-b}')" \
		-v b="$((${b1%.*} - ${b0%.*}))" -v bs="$(awk -v a="$bs1" -v b="$bs0" 'BEGIN{print a-b}')" 'BEGIN{
		if (n == 0) n = 1
		printf "%s %d %d %.2f %.2f %.2f %.2f\n", nm, cm, et, f/n, (f ? 1000*fs/f : 0), b/n, (b ? 1000*bs/b : 0) }' >>"$LOAD_DIR/cluster-split"
	printf 'load:   %-18s %7.0f /s     p50 %7s ms  p99 %8s ms  cpu/cert %5s us (certmaker %s, etcd %s)  idle before %3s%%  errors %s\n' \
		"$name" "$rate" "$p50" "$p99" "$((cm_us + etcd_us))" "$cm_us" "$etcd_us" "$idle" "$errors" >&2
	return 0
}

# cluster_report: where a certificate's time goes on the cluster, medians.
cluster_report() {
	local col
	medsplit() { awk -v c="$1" '{print $c}' "$LOAD_DIR/cluster-split" | sort -g | awk '{v[NR]=$1} END{if (NR==0) print "-"; else print v[int((NR+1)/2)]}'; }
	echo
	echo "Where a certificate's time goes on the cluster (medians over rounds; the three nodes and three members"
	echo "share the machine's $(nproc) cores with the load generator): p50 $(med pool-cm-cluster 3) ms, p99 $(med pool-cm-cluster 4) ms per certificate"
	echo "against one bbolt node's p50 $(med pool-cm 3) ms, p99 $(med pool-cm 4) ms; cluster/one-node rate $(ratio "$(med pool-cm-cluster 2)" "$(med pool-cm 2)")."
	echo
	echo "| per certificate | certmaker CPU (3 nodes) | etcd CPU (3 members) | WAL fsyncs (all members) | ms per WAL fsync | backend commits | ms per commit |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	printf '| CSR pool over 3 nodes | %s ms | %s ms | %s | %s | %s | %s |\n' "$(divide "$(medsplit 2)" 1000 3)" "$(divide "$(medsplit 3)" 1000 3)" \
		"$(medsplit 4)" "$(medsplit 5)" "$(medsplit 6)" "$(medsplit 7)"
	echo
}

# --- the comparison --------------------------------------------------------------
compare() {
	rm -f results syncs cluster-split cm.db cm.db.sock cm.log cfssl.log static.log
	rss_peak_kb=0 anon_peak_kb=0

	# ACME's http-01 answers come from the load client on HTTP01_ADDR, an
	# unprivileged port, which certmaker accepts only when listed. Each
	# worker's account orders far more than a proxy's day of names.
	cat >cm.toml <<-EOF
	[challenge]
	allowed_ports = [80, ${HTTP01_ADDR##*:}]
	[acme]
	http01_port = ${HTTP01_ADDR##*:}
	max_account_identifiers = 1000000
	EOF
	CM_CONFIG=cm.toml
	log "starting certmaker on $CM_ADDR"
	start_certmaker cm.db cm.log
	local token
	token=$(./certmaker --db cm.db user add loader)
	[ -n "$token" ] || die "no token from certmaker user add"
	(umask 077 && echo "$token" >token.txt && ./certmaker --db cm.db user acme-eab loader >eab.env)
	grep -q '^EAB_KID=' eab.env || die "no EAB key from certmaker user acme-eab"

	log "starting cfssl serve on 127.0.0.1:$CFSSL_PORT"
	cat >cfssl-ca.json <<-'EOF'
	{"CN": "cfssl load root", "key": {"algo": "ecdsa", "size": 256}, "names": [{"C": "DE", "O": "load"}]}
	EOF
	cat >cfssl-config.json <<-'EOF'
	{"signing": {"default": {"expiry": "168h", "usages": ["digital signature", "key encipherment", "server auth", "client auth"]}}}
	EOF
	cfssl gencert -initca cfssl-ca.json 2>/dev/null | cfssljson -bare cfssl-ca
	port_free "127.0.0.1:$CFSSL_PORT" || die "port $CFSSL_PORT is in use"
	cfssl serve -address 127.0.0.1 -port "$CFSSL_PORT" -ca cfssl-ca.pem -ca-key cfssl-ca-key.pem \
		-config cfssl-config.json >cfssl.log 2>&1 &
	local cfssl_pid=$!
	pids+=("$cfssl_pid")
	wait_http "http://127.0.0.1:$CFSSL_PORT/api/v1/cfssl/info"

	# One CSR for both CSR routes; both check its signature.
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout app.key \
		-subj /CN=app.example.com -addext subjectAltName=DNS:app.example.com -out app.csr 2>/dev/null
	local csr_json
	csr_json=$(sed ':a;N;$!ba;s/\n/\\n/g' app.csr)

	cat >cm-simple.lua <<-EOF
	wrk.method = "POST"
	wrk.headers["X-Auth-Token"] = "$token"
	wrk.headers["Content-Type"] = "application/json"
	wrk.body = '{"domains": ["app.example.com"], "key_type": "ecdsa-p256"}'
	EOF
	cat >cfssl-newcert.lua <<-'EOF'
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
	wrk.body = '{"request": {"CN": "app.example.com", "hosts": ["app.example.com"], "key": {"algo": "ecdsa", "size": 256}}}'
	EOF
	{
		echo 'wrk.method = "POST"'
		echo "wrk.headers[\"X-Auth-Token\"] = \"$token\""
		echo 'wrk.headers["Content-Type"] = "application/pkcs10"'
		echo "wrk.body = [[$(cat app.csr)"
		echo "]]"
	} >cm-csr.lua
	# A Lua long string, so that the JSON's \n escapes reach cfssl as written.
	cat >cfssl-sign.lua <<-EOF
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
	wrk.body = [[{"certificate_request": "$csr_json"}]]
	EOF

	# Every request must work before it is timed.
	local code id
	code=$(curl -s -o id.txt -w '%{http_code}' -H "X-Auth-Token: $token" -d '{"domains": ["app.example.com"], "key_type": "ecdsa-p256"}' "http://$CM_ADDR/api/certificate/request")
	[ "$code" = 200 ] || die "certmaker simple request answered $code"
	id=$(tr -d '\n' <id.txt)
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $token" --data-binary @app.csr "http://$CM_ADDR/api/certificate/request-with-csr")
	[ "$code" = 200 ] || die "certmaker CSR request answered $code"
	curl -s -d '{"request": {"CN": "app.example.com", "hosts": ["app.example.com"], "key": {"algo": "ecdsa", "size": 256}}}' \
		"http://127.0.0.1:$CFSSL_PORT/api/v1/cfssl/newcert" | grep -q '"success":true' || die "cfssl newcert failed"
	curl -s -d "{\"certificate_request\": \"$csr_json\"}" "http://127.0.0.1:$CFSSL_PORT/api/v1/cfssl/sign" |
		grep -q '"success":true' || die "cfssl sign failed"

	# OCSP: one issued certificate, asked about by GET as RFC 5019 clients do.
	# The leaf is served with its intermediate, which signs its OCSP answers.
	curl -s -H "X-Auth-Token: $token" "http://$CM_ADDR/api/certificate/$id/obtain" >chain.pem
	openssl x509 -in chain.pem -out leaf.pem
	curl -s "http://$CM_ADDR/intermediate.pem" >issuer.pem
	curl -s -H "X-Auth-Token: $token" "http://$CM_ADDR/api/root-certificate/obtain" >root.pem
	openssl ocsp -issuer issuer.pem -cert leaf.pem -no_nonce -reqout ocsp-req.der >/dev/null 2>&1
	local ocsp_path
	ocsp_path="/api/ocsp/$(base64 -w0 ocsp-req.der | sed 's/+/%2B/g; s#/#%2F#g; s/=/%3D/g')"
	curl -s -o ocsp-resp.der "http://$CM_ADDR$ocsp_path"
	openssl ocsp -respin ocsp-resp.der -issuer issuer.pem -CAfile root.pem -cert leaf.pem 2>/dev/null |
		grep -q 'leaf.pem: good' || die "certmaker's OCSP answer does not say good"
	port_free "$STATIC_ADDR" || die "$STATIC_ADDR is in use"
	./staticsrv -listen "$STATIC_ADDR" -file ocsp-resp.der 2>static.log &
	local static_pid=$!
	pids+=("$static_pid")
	wait_http "http://$STATIC_ADDR/"

	local sb_pid=0 sg_pid=0
	if need_stepca; then
		log "starting step-ca $STEPCA_VERSION: bbolt on $STEP_BBOLT_ADDR, badgerv2 on $STEP_BADGER_ADDR"
		start_stepca bbolt "$STEP_BBOLT_ADDR"
		sb_pid=$step_pid
		start_stepca badgerv2 "$STEP_BADGER_ADDR"
		sg_pid=$step_pid
	fi
	if wanted pool-cm-cluster; then start_cluster; fi

	# One pool of P-256 CSRs for every CSR-signing target, and one naming
	# 127.0.0.2 for the ACME orders.
	./acmeload csrs -n 256 -out csrs.pem
	./acmeload csrs -n 64 -ip "${HTTP01_ADDR%:*}" -out acme-csrs.pem
	local sign_cm=(sign -target certmaker -url "http://$CM_ADDR/api/certificate/request-with-csr" -csrs csrs.pem -token-file token.txt)
	local sign_cfssl=(sign -target cfssl -url "http://127.0.0.1:$CFSSL_PORT/api/v1/cfssl/sign" -csrs csrs.pem)
	local sign_sb=(sign -target stepca -url "https://$STEP_BBOLT_ADDR/1.0/sign" -csrs csrs.pem -stepca-dir "$LOAD_DIR/step-bbolt" -root step-bbolt/root.crt)
	local sign_sg=(sign -target stepca -url "https://$STEP_BADGER_ADDR/1.0/sign" -csrs csrs.pem -stepca-dir "$LOAD_DIR/step-badgerv2" -root step-badgerv2/root.crt)
	local acme_cm=(acme -directory "http://$CM_ADDR/acme/directory" -http01 "$HTTP01_ADDR" -csrs acme-csrs.pem -eab-file eab.env)
	local acme_sb=(acme -directory "https://$STEP_BBOLT_ADDR/acme/acme/directory" -http01 "$HTTP01_ADDR" -csrs acme-csrs.pem -root step-bbolt/root.crt)
	local acme_sg=(acme -directory "https://$STEP_BADGER_ADDR/acme/acme/directory" -http01 "$HTTP01_ADDR" -csrs acme-csrs.pem -root step-badgerv2/root.crt)
	local sdb_b="$LOAD_DIR/step-bbolt/ca.db" sdb_g="$LOAD_DIR/step-badgerv2/db"

	log "running $ROUNDS rounds of wrk -t1 -c$CONNS -d$DURATION, each pair alternately"
	local r
	for r in $(seq "$ROUNDS"); do
		log "round $r"
		if [ $((r % 2)) = 1 ]; then
			bench cm-simple "http://$CM_ADDR/api/certificate/request" cm-simple.lua "$cm_pid" cm.db
			bench cfssl-newcert "http://127.0.0.1:$CFSSL_PORT/api/v1/cfssl/newcert" cfssl-newcert.lua "$cfssl_pid"
			bench cm-csr "http://$CM_ADDR/api/certificate/request-with-csr" cm-csr.lua "$cm_pid" cm.db
			bench cfssl-sign "http://127.0.0.1:$CFSSL_PORT/api/v1/cfssl/sign" cfssl-sign.lua "$cfssl_pid"
			bench cm-ocsp "http://$CM_ADDR$ocsp_path" "" "$cm_pid"
			bench static-ocsp "http://$STATIC_ADDR$ocsp_path" "" "$static_pid"
			gobench pool-cm "$cm_pid" cm.db "${sign_cm[@]}"
			cluster_bench pool-cm-cluster
			gobench pool-cfssl "$cfssl_pid" "" "${sign_cfssl[@]}"
			gobench pool-step-bbolt "$sb_pid" "$sdb_b" "${sign_sb[@]}"
			gobench pool-step-badger "$sg_pid" "$sdb_g" "${sign_sg[@]}"
			gobench acme-cm "$cm_pid" cm.db "${acme_cm[@]}"
			gobench acme-step-bbolt "$sb_pid" "$sdb_b" "${acme_sb[@]}"
			gobench acme-step-badger "$sg_pid" "$sdb_g" "${acme_sg[@]}"
		else
			bench cfssl-newcert "http://127.0.0.1:$CFSSL_PORT/api/v1/cfssl/newcert" cfssl-newcert.lua "$cfssl_pid"
			bench cm-simple "http://$CM_ADDR/api/certificate/request" cm-simple.lua "$cm_pid" cm.db
			bench cfssl-sign "http://127.0.0.1:$CFSSL_PORT/api/v1/cfssl/sign" cfssl-sign.lua "$cfssl_pid"
			bench cm-csr "http://$CM_ADDR/api/certificate/request-with-csr" cm-csr.lua "$cm_pid" cm.db
			bench static-ocsp "http://$STATIC_ADDR$ocsp_path" "" "$static_pid"
			bench cm-ocsp "http://$CM_ADDR$ocsp_path" "" "$cm_pid"
			gobench acme-step-badger "$sg_pid" "$sdb_g" "${acme_sg[@]}"
			gobench acme-step-bbolt "$sb_pid" "$sdb_b" "${acme_sb[@]}"
			gobench acme-cm "$cm_pid" cm.db "${acme_cm[@]}"
			gobench pool-step-badger "$sg_pid" "$sdb_g" "${sign_sg[@]}"
			gobench pool-step-bbolt "$sb_pid" "$sdb_b" "${sign_sb[@]}"
			gobench pool-cfssl "$cfssl_pid" "" "${sign_cfssl[@]}"
			cluster_bench pool-cm-cluster
			gobench pool-cm "$cm_pid" cm.db "${sign_cm[@]}"
		fi
	done

	log "counting disk syncs per certificate under strace ($SYNC_DURATION each; not timed)"
	syncs pool-cm "$cm_pid" "${sign_cm[@]}"
	syncs pool-step-bbolt "$sb_pid" "${sign_sb[@]}"
	syncs pool-step-badger "$sg_pid" "${sign_sg[@]}"
	syncs acme-cm "$cm_pid" "${acme_cm[@]}"
	syncs acme-step-bbolt "$sb_pid" "${acme_sb[@]}"
	syncs acme-step-badger "$sg_pid" "${acme_sg[@]}"

	# A revocation shows in the very next OCSP answer, cache or not.
	local revoked=no
	curl -s -o /dev/null -H "X-Auth-Token: $token" -d '{"reason": "keyCompromise"}' "http://$CM_ADDR/api/certificate/$id/revoke"
	curl -s -o ocsp-after.der "http://$CM_ADDR$ocsp_path"
	openssl ocsp -respin ocsp-after.der -issuer issuer.pem -CAfile root.pem -cert leaf.pem 2>/dev/null |
		grep -q 'leaf.pem: revoked' && revoked=yes
	local hwm issued
	hwm=$(hwm_kb "$cm_pid")
	issued=$(./certmaker --db cm.db user list | awk '$1=="loader"{print $NF}')

	echo
	echo "## certmaker load test ($(date -u +%Y-%m-%d))"
	echo
	echo "Machine: $(machine)."
	echo "wrk -t1 -c$CONNS -d$DURATION --latency on loopback, the load generator on the same machine;"
	echo "$ROUNDS rounds, each pair run alternately; medians. certmaker: a fresh store, request log to a file,"
	echo "every 200 after its fsync'd commit. cfssl: Debian golang-cfssl \`cfssl serve\`, ECDSA P-256 CA, no database."
	echo "step-ca $STEPCA_VERSION (${STEPCA_BIN:-not run}), P-256 root and intermediate, a JWK provisioner (a one-time"
	echo "token signed by the client per /1.0/sign) and an ACME provisioner, logging to a file, HTTPS"
	echo "(HTTP/1.1). \"CSR pool\" and \"ACME\" rows: tools/acmeload, $CONNS workers on a keep-alive connection"
	echo "each, -d$DURATION; the pool is 256 P-256 CSRs for all three; ACME is autocert's sequence (newOrder,"
	echo "authorization, http-01 answered by the client on $HTTP01_ADDR, wait, order, finalize, certificate)"
	echo "with one account per worker registered before the clock starts; its rate is whole orders/s."
	echo "Server CPU per request or certificate: /proc/PID/stat utime+stime over the run; RSS: peak"
	echo "VmRSS sampled; DB bytes/cert: growth of the store's allocated blocks over the run / certificates."
	echo "The cluster row: three certmaker nodes on three members of Debian's etcd $(etcd --version 2>/dev/null | awk '/^etcd Version/{print $3}') (fsync on), all on"
	echo "this machine, the CSR pool's workers spread over the nodes; its CPU is the nodes' and the members' together."
	echo
	header
	row cm-simple "certmaker simple request (P-256, durable)"
	row cfssl-newcert "cfssl newcert (P-256)"
	row cm-csr "certmaker request-with-csr (durable)"
	row cfssl-sign "cfssl sign"
	row cm-ocsp "certmaker OCSP GET"
	row static-ocsp "bare Go HTTP server, same bytes"
	row pool-cm "CSR pool: certmaker request-with-csr"
	row pool-cm-cluster "CSR pool: certmaker, 3 nodes on 3 etcd members"
	row pool-cfssl "CSR pool: cfssl sign"
	row pool-step-bbolt "CSR pool: step-ca /1.0/sign, bbolt"
	row pool-step-badger "CSR pool: step-ca /1.0/sign, badgerv2"
	row acme-cm "ACME whole orders: certmaker"
	row acme-step-bbolt "ACME whole orders: step-ca, bbolt"
	row acme-step-badger "ACME whole orders: step-ca, badgerv2"
	echo
	if wanted pool-cm-cluster; then cluster_report; fi
	echo "| disk syncs per certificate (strace -f -c, fsync fdatasync sync_file_range msync) | certmaker | step-ca bbolt | step-ca badgerv2 |"
	echo "|---|---:|---:|---:|"
	echo "| CSR pool | $(sync_of pool-cm) | $(sync_of pool-step-bbolt) | $(sync_of pool-step-badger) |"
	echo "| ACME whole order | $(sync_of acme-cm) | $(sync_of acme-step-bbolt) | $(sync_of acme-step-badger) |"
	echo
	echo "badger v2 (SyncWrites) opens its value log with O_DSYNC: each of its writes waits for the disk"
	echo "without a sync call, so these counts do not see them."
	echo
	echo "| issue 17 | certmaker | best step-ca | |"
	echo "|---|---:|---:|---|"
	local best_rate best_cpu
	# grep finds no line when ONLY left the step-ca runs out.
	best_rate=$(printf '%s\n' "$(med acme-step-bbolt 2)" "$(med acme-step-badger 2)" | { grep -v '^-$' || true; } | sort -g | tail -1)
	best_cpu=$(printf '%s\n' "$(med acme-step-bbolt 5)" "$(med acme-step-badger 5)" | { grep -v '^-$' || true; } | sort -g | head -1)
	printf '| %-58s | %10s | %10s | %s |\n' "ACME whole orders/s" "$(med acme-cm 2)" "${best_rate:--}" \
		"$(awk -v a="$(med acme-cm 2)" -v b="${best_rate:-0}" 'BEGIN{print (a+0 >= b+0) ? "ahead" : "BEHIND"}')"
	printf '| %-58s | %10s | %10s | %s |\n' "ACME server CPU per certificate (ms)" "$(divide "$(med acme-cm 5)" 1000 2)" \
		"$(divide "${best_cpu:--}" 1000 2)" "$(awk -v a="$(med acme-cm 5)" -v b="${best_cpu:-0}" 'BEGIN{print (a+0 <= b+0) ? "less" : "MORE"}')"
	printf '| %-58s | %10s | %10s | %s |\n' "ACME orders/s / certmaker CSR-pool certificates/s" \
		"$(ratio "$(med acme-cm 2)" "$(med pool-cm 2)")" "" "the token API's speed is the goal"
	echo
	echo "| issue 6 target | measured | wanted | |"
	echo "|---|---:|---|---|"
	verdict "simple requests / cfssl newcert" "$(ratio "$(med cm-simple 2)" "$(med cfssl-newcert 2)")" ">=" 1.5
	verdict "CSR requests / cfssl sign" "$(ratio "$(med cm-csr 2)" "$(med cfssl-sign 2)")" ">=" 1.2
	verdict "OCSP GET / bare Go server" "$(ratio "$(med cm-ocsp 2)" "$(med static-ocsp 2)")" ">=" 0.7
	echo "| the same per server CPU-second (robust to other load on the machine) | | | |"
	verdict "  simple requests / cfssl newcert, by CPU" "$(ratio "$(med cfssl-newcert 5)" "$(med cm-simple 5)")" ">=" 1.5
	verdict "  CSR requests / cfssl sign, by CPU" "$(ratio "$(med cfssl-sign 5)" "$(med cm-csr 5)")" ">=" 1.2
	verdict "  OCSP GET / bare Go server, by CPU" "$(ratio "$(med static-ocsp 5)" "$(med cm-ocsp 5)")" ">=" 0.7
	verdict "p99 simple (ms) vs cfssl newcert's $(med cfssl-newcert 4)" "$(med cm-simple 4)" "<=" "$(med cfssl-newcert 4)"
	verdict "p99 CSR (ms) vs cfssl sign's $(med cfssl-sign 4)" "$(med cm-csr 4)" "<=" "$(med cfssl-sign 4)"
	verdict "certmaker RSS under load, peak sampled (MB)" "$((rss_peak_kb / 1024))" "<" 150
	verdict "  of which its own (RssAnon), peak sampled (MB)" "$((anon_peak_kb / 1024))" "<" 150
	verdict "certmaker VmHWM after all runs (MB)" "$((hwm / 1024))" "<" 150
	printf '| %-58s | %10s | %s | %s |\n' "revocation in the next OCSP answer" "$revoked" "yes" "$([ $revoked = yes ] && echo met || echo MISSED)"
	echo
	errors_note
	echo "certmaker issued ${issued:-?} certificates for the load user; its log: $LOAD_DIR/cm.log."
	echo "\"idle before\" in the per-run lines above is the machine's idle share just before each run;"
	echo "a low one means other work was running and that run's rate is unreliable. RSS counts the"
	echo "database file's pages the server has touched through bbolt's mmap (page cache: shared,"
	echo "reclaimable, growing with the file); RssAnon is the server's own memory."
}

# --- scale: a million certificates ---------------------------------------------------
scale() {
	rm -f results
	rss_peak_kb=0 anon_peak_kb=0
	local big="$LOAD_DIR/prefill.db"
	if [ "$FRESH" = 1 ] || [ ! -e "$big.done" ]; then
		log "filling $big with $PREFILL_N certificates"
		rm -f "$big" "$big.sock" "$big.token" "$big.done"
		local t0=$SECONDS
		./prefill -db "$big" -n "$PREFILL_N"
		echo "$((SECONDS - t0))" >"$big.done"
	fi
	big_n=$(./certmaker --db "$big" status | awk '/^certificates:/{print $2}')
	if [ "$FRESH" = 1 ]; then
		# On the store as filled, before the rounds below add to it.
		operations "$big"
	fi
	rm -f empty.db empty.db.sock empty.token

	cat >scale.lua.in <<-'EOF'
	wrk.method = "POST"
	wrk.headers["X-Auth-Token"] = "TOKEN"
	wrk.body = '{"domains": ["app.example.com"], "key_type": "ecdsa-p256"}'
	EOF

	local r start_big=() start_empty=() hwm_big=0 hwm_empty=0 anon_big=0 anon_empty=0 token
	for r in $(seq "$ROUNDS"); do
		log "round $r"
		for which in big empty; do
			local db=$big
			[ $which = empty ] && db=empty.db
			# Start time is measured on every start; the big file's pages
			# may or may not be in the page cache, as after any restart.
			start_certmaker "$db" "scale-$which.log"
			if [ $which = big ]; then
				start_big+=("$cm_start_ms")
				token=$(tr -d '\n' <"$big.token")
			else
				start_empty+=("$cm_start_ms")
				[ -s empty.token ] || ./certmaker --db empty.db user add loader >empty.token
				token=$(tr -d '\n' <empty.token)
			fi
			sed "s/TOKEN/$token/" scale.lua.in >"scale-$which.lua"
			rss_peak_kb=0 anon_peak_kb=0
			bench "simple-$which" "http://$CM_ADDR/api/certificate/request" "scale-$which.lua" "$cm_pid"
			local h
			h=$(hwm_kb "$cm_pid")
			if [ $which = big ]; then
				[ "$h" -gt "$hwm_big" ] && hwm_big=$h
				[ "$anon_peak_kb" -gt "$anon_big" ] && anon_big=$anon_peak_kb
			else
				[ "$h" -gt "$hwm_empty" ] && hwm_empty=$h
				[ "$anon_peak_kb" -gt "$anon_empty" ] && anon_empty=$anon_peak_kb
			fi
			stop_pid "$cm_pid"
		done
	done
	local sb se
	sb=$(printf '%s\n' "${start_big[@]}" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
	se=$(printf '%s\n' "${start_empty[@]}" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
	echo
	echo "## certmaker at scale ($(date -u +%Y-%m-%d))"
	echo
	echo "Machine: $(machine)."
	echo "Store: $big, ${big_n:-?} certificates ($(du -m "$big" | cut -f1) MB), filled by tools/prefill in $(cat "$big.done") s."
	echo "Simple requests (P-256, durable), wrk -t1 -c$CONNS -d$DURATION; $ROUNDS rounds alternating the full and an empty store; medians."
	echo
	header
	row simple-big "simple request, store of ${big_n:-?}"
	row simple-empty "simple request, empty store"
	echo
	echo "| issue 6 target | measured | wanted | |"
	echo "|---|---:|---|---|"
	verdict "issuance rate, full / empty store" "$(ratio "$(med simple-big 2)" "$(med simple-empty 2)")" ">=" 0.8
	verdict "server start on the full store (ms, median of ${#start_big[@]})" "$sb" "<" 1000
	verdict "server start on an empty store (ms)" "$se" "<" 1000
	verdict "RSS on the full store, VmHWM (MB)" "$((hwm_big / 1024))" "<" 150
	verdict "  its own memory (RssAnon) on the full store, peak (MB)" "$((anon_big / 1024))" "<" 150
	verdict "RSS on the empty store, VmHWM (MB)" "$((hwm_empty / 1024))" "<" 150
	verdict "  its own memory (RssAnon) on the empty store, peak (MB)" "$((anon_empty / 1024))" "<" 150
	echo
	echo "VmHWM counts the pages of the mmap'd file the server touched; each random read maps the"
	echo "kernel's fault-around window (64 KiB) from the page cache, so it grows with the pages"
	echo "touched, up to the file's size, and is reclaimable cache, not heap. RssAnon is the"
	echo "process's own memory."
	errors_note
}

# --- operations: what an operator and the dashboard do, 1k store vs full ------------
# Every figure is the median of OPS_ROUNDS runs (default 3) of one command
# or request against a running server (warm cache), in ms.
OPS_ROUNDS=${OPS_ROUNDS:-3}

ms_of() { # CMD...: median wall time of running CMD (a shell string), in ms
	local r t0 t1 v=()
	for r in $(seq "$OPS_ROUNDS"); do
		t0=$(date +%s%N)
		bash -c "$1" >/dev/null 2>&1 || true
		t1=$(date +%s%N)
		v+=($(((t1 - t0) / 1000000)))
	done
	printf '%s\n' "${v[@]}" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'
}

# measure_ops DB TAG: starts certmaker on DB and writes "TAG op ms" lines.
measure_ops() {
	local db=$1 tag=$2 cm="./certmaker --db $1" tok adm jar id hex serial_cmd cur i
	start_certmaker "$db" "ops-$tag.log"
	echo "$tag start $cm_start_ms" >>ops.results
	tok=$(tr -d '\n' <"$db.token")
	adm=$(tr -d '\n' <"$db.token.admin")
	jar="ops-$tag.cookies"
	rm -f "$jar"
	# A dashboard session for the admin user.
	local csrf
	csrf=$(curl -s -c "$jar" -b "$jar" "http://$CM_ADDR/signin" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
	curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf=$csrf" --data-urlencode "token=$adm" "http://$CM_ADDR/signin"
	local dash="curl -s -o /dev/null -b $jar http://$CM_ADDR"
	id=$($cm cert list --limit 1 2>/dev/null | awk 'NR==2{print $1}')
	op() { echo "$tag $1 $(ms_of "$2")" >>ops.results; }
	op "cert_show" "$cm cert show $id"
	op "cert_list_head" "$cm cert list | head -5"
	op "cert_list_expiring" "$cm cert list --expiring 14d"
	op "cert_list_expiring_head" "$cm cert list --expiring 14d | head -5"
	op "cert_list_revoked" "$cm cert list --revoked"
	op "cert_list_revoked_head" "$cm cert list --revoked | head -5"
	op "cert_list_user_json_head" "$cm cert list --user user0001 --json | head"
	op "cert_list_name" "$cm cert list --name host123.user0003.home.lan"
	op "cert_list_suffix_head" "$cm cert list --name .user0003.home.lan | head -5"
	op "cert_list_name_none" "$cm cert list --name nothere.example.org"
	op "status" "$cm status"
	op "api_page" "curl -sf -H 'X-Auth-Token: $adm' 'http://$CM_ADDR/api/certificates?limit=100'"
	op "api_revoked_first" "curl -sf -H 'X-Auth-Token: $adm' 'http://$CM_ADDR/api/certificates?revoked=true&limit=100'"
	op "api_revoked_10" "c=; for i in \$(seq 10); do c=\$(curl -sf -H 'X-Auth-Token: $adm' \"http://$CM_ADDR/api/certificates?revoked=true&limit=100&cursor=\$c\" | sed -n 's/.*\"next_cursor\": *\"\\([0-9a-f]*\\)\".*/\\1/p'); [ -n \"\$c\" ] || break; done"
	op "api_issue" "curl -sf -H 'X-Auth-Token: $tok' -d '{\"domains\": [\"app.example.com\"]}' http://$CM_ADDR/api/certificate/request"
	op "dash_revoked_none" "$dash'/certificates?owner=user0000&status=revoked'"
	op "dash_search_none" "$dash'/certificates?owner=*&q=nothere.example.org'"
	op "dash_search_suffix" "$dash'/certificates?owner=*&q=.user0003.home.lan'"
	op "dash_expired" "$dash'/certificates?owner=*&status=expired'"
	op "dash_admin" "$dash/admin"
	op "dash_all" "$dash'/certificates?owner=*'"
	op "dash_users" "$dash/admin/users"
	# The whole listing, once: its time, and the CLI's peak memory.
	local t0 t1 kb
	t0=$(date +%s%N)
	kb=$( { /usr/bin/time -f '%M' $cm cert list >/dev/null; } 2>&1 | tail -1)
	t1=$(date +%s%N)
	echo "$tag cert_list_all $(((t1 - t0) / 1000000))" >>ops.results
	echo "$tag cli_rss_mb $((kb / 1024))" >>ops.results
	echo "$tag n_all $($cm status | awk '/^certificates:/{print $2}')" >>ops.results
	echo "$tag n_revoked $($cm cert list --revoked | tail -n +2 | wc -l)" >>ops.results
	echo "$tag n_expiring $($cm cert list --expiring 14d | tail -n +2 | wc -l)" >>ops.results
	stop_pid "$cm_pid"
}

operations() {
	local big=$1 small=ops-1k.db
	rm -f ops.results "$small" "$small.sock" "$small.token" "$small.token.admin"
	log "filling $small with 1000 certificates"
	./prefill -db "$small" -n 1000 -revoked 10 2>/dev/null
	log "measuring operations on $small and $big"
	measure_ops "$small" small
	measure_ops "$big" big
	get() { awk -v t="$1" -v o="$2" '$1==t && $2==o{print $3}' ops.results; }
	echo
	echo "## Listing, filtering, searching and counting: 1,000 against ${big_n:-?} certificates"
	echo
	echo "Same machine, same run, warm cache, a running server; medians of $OPS_ROUNDS runs, ms."
	echo "Target: within 3x the 1k time or 100 ms, whichever is larger."
	echo
	echo "| operation | 1k | full | target | |"
	echo "|---|---:|---:|---:|---|"
	local o label a b lim ok
	while IFS='|' read -r o label; do
		a=$(get small "$o") b=$(get big "$o")
		lim=$(awk -v a="$a" 'BEGIN{l=3*a; if (l<100) l=100; print l}')
		ok=$(awk -v b="$b" -v l="$lim" 'BEGIN{print (b+0<=l+0) ? "met" : "MISSED"}')
		printf '| %s | %s | %s | %s | %s |\n' "$label" "$a" "$b" "$lim" "$ok"
	done <<-'EOF'
	start|server start (exec to /healthz)
	cert_show|`cert show ID`
	api_page|API one page of 100 (everyone's)
	api_issue|API issuance (one durable request)
	cert_list_head|`cert list \| head -5`
	cert_list_expiring_head|`cert list --expiring 14d \| head -5`
	cert_list_revoked_head|`cert list --revoked \| head -5`
	cert_list_user_json_head|`cert list --user U --json \| head`
	cert_list_name|`cert list --name host123.user0003.home.lan` (exact)
	cert_list_suffix_head|`cert list --name .user0003.home.lan \| head -5` (suffix)
	cert_list_name_none|`cert list --name nothere.example.org` (no such name)
	api_revoked_first|API `revoked=true`, first page of 100
	dash_revoked_none|dashboard `?status=revoked` for a user with none
	dash_search_none|dashboard search across everyone, name not found
	dash_search_suffix|dashboard search across everyone, `.user0003.home.lan`
	dash_expired|dashboard everyone's expired
	dash_all|admin `/certificates?owner=*`
	dash_admin|`/admin`
	dash_users|`/admin/users` (certificates per user)
	status|`status`
	EOF
	echo
	echo "Whole listings grow with what they list, not with the store (rows listed in brackets):"
	echo
	echo "| operation | 1k | full |"
	echo "|---|---:|---:|"
	printf '| `cert list --revoked` | %s (%s) | %s (%s) |\n' "$(get small cert_list_revoked)" "$(get small n_revoked)" "$(get big cert_list_revoked)" "$(get big n_revoked)"
	printf '| `cert list --expiring 14d` | %s (%s) | %s (%s) |\n' "$(get small cert_list_expiring)" "$(get small n_expiring)" "$(get big cert_list_expiring)" "$(get big n_expiring)"
	printf '| API `revoked=true`, 10 pages of 100 (or all there are) | %s | %s |\n' "$(get small api_revoked_10)" "$(get big api_revoked_10)"
	printf '| `cert list` (to /dev/null) | %s (%s) | %s (%s) |\n' "$(get small cert_list_all)" "$(get small n_all)" "$(get big cert_list_all)" "$(get big n_all)"
	echo
	echo "| memory | 1k | full | target | |"
	echo "|---|---:|---:|---:|---|"
	printf '| `cert list` (all of them): the CLI'"'"'s peak RSS (MB) | %s | %s | < 50 | %s |\n' "$(get small cli_rss_mb)" "$(get big cli_rss_mb)" \
		"$(awk -v b="$(get big cli_rss_mb)" 'BEGIN{print (b+0<50) ? "met" : "MISSED"}')"
}

ops() {
	local big="$LOAD_DIR/prefill.db"
	[ -e "$big.done" ] || die "no filled store in $LOAD_DIR: run --prefill first"
	big_n=$(./certmaker --db "$big" status | awk '/^certificates:/{print $2}')
	operations "$big"
}

$mode
