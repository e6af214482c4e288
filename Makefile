# certmaker: `make run` starts the CA on its defaults, `make test` passes the tests.
GO      ?= go
BIN     ?= bin/certmaker
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build run test deps axe bench load prefill lint fuzz crash-test powercut-test clean install man
PREFIX  ?= /usr/local

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

run: build
	./$(BIN) serve

# The binary to $(PREFIX)/bin, its manual page and bash completion.
install: build man
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/certmaker
	install -D -m 0644 bin/certmaker.8 $(DESTDIR)$(PREFIX)/share/man/man8/certmaker.8
	./$(BIN) completion bash | install -D -m 0644 /dev/stdin $(DESTDIR)$(PREFIX)/share/bash-completion/completions/certmaker

# The manual page, made from the commands themselves.
man: build
	./$(BIN) man > bin/certmaker.8

# deps installs what the tests need and a fresh machine may lack.
deps:
	@./scripts/deps.sh

# axe re-vendors axe-core (the browser tests' accessibility checker, MPL-2.0,
# its license header kept) at AXE_VERSION from the npm registry; npm checks
# the package's integrity. The browser tests refuse a file of another version.
AXE_VERSION ?= 4.14.1
axe:
	rm -rf bin/axe && mkdir -p bin/axe
	cd bin/axe && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && tar xzf axe-core-$(AXE_VERSION).tgz
	head -c 20 bin/axe/package/axe.min.js | grep -q 'axe v$(AXE_VERSION)'
	cp bin/axe/package/axe.min.js e2e/testdata/axe.min.js

# The unit and binary tests, then the end-to-end tests (ACME clients, a
# browser, zlint, a light crash test: e2e/ is a module of its own, which
# `go test ./...` here does not reach), the etcd backend's tests and its
# cluster kill test (e2e/etcd, a module of its own so that etcd's server
# and the bbolt it needs stay out of the others' builds), then every fuzz target briefly on
# top of its seeds: a count of inputs, not a duration, since a time limit
# can end a run mid-input and go test then reports "context deadline
# exceeded" as a failure.
test: deps lint
	$(GO) test -race -count=1 ./...
	cd e2e && $(GO) test -race -count=1 ./...
	cd e2e/etcd && $(GO) test -race -count=1 ./...
	@./scripts/fuzz.sh 2000x

# Short runs of every fuzz target on top of the checked-in seeds;
# FUZZTIME=1m make fuzz for a longer hunt.
fuzz:
	@./scripts/fuzz.sh $(or $(FUZZTIME),5s)

# SIGKILL the real server under heavier load, several kill/restart rounds,
# and prove that every acknowledged certificate survived (make test runs
# one light round).
crash-test:
	cd e2e && CERTMAKER_CRASH_ROUNDS=5 CERTMAKER_CRASH_CLIENTS=16 $(GO) test -count=1 -run '^TestCrash' -v .

# Power cuts, not just kills: the server runs with its file on a FUSE file
# system that loses unsynced writes at the cut (e2e/powercut/); ROUNDS cuts (5)
# under CLIENTS clients (16: simple, CSR, ACME, revocation), each restarted
# on what the disk kept; then the negative control, a server that never
# syncs, which must lose writes. Needs root and /dev/fuse, and fails without
# them (make test runs one light round, and skips it there unless CI=true).
powercut-test:
	cd e2e && CERTMAKER_POWERCUT_REQUIRE=1 CERTMAKER_POWERCUT_ROUNDS=$(or $(ROUNDS),5) CERTMAKER_POWERCUT_CLIENTS=$(or $(CLIENTS),16) \
		$(GO) test -count=1 -run '^Test(LazyFS|PowerCut)' -v ./powercut/

# Go benchmarks with -benchmem and -count 6, for benchstat:
#   make bench > old.txt; (change); make bench > new.txt; benchstat old.txt new.txt
# BENCH=regexp, BENCH_COUNT and BENCH_TIME narrow or lengthen a run.
bench:
	$(GO) test -run '^$$' -bench '$(or $(BENCH),.)' -benchmem -count $(or $(BENCH_COUNT),6) -benchtime $(or $(BENCH_TIME),300ms) ./...

# certmaker against cfssl (newcert, sign), step-ca v0.30.2 with bbolt and
# badgerv2 (CSR signing from one pool of P-256 CSRs, whole ACME orders) and a
# bare Go HTTP server (OCSP), on loopback, alternately; installs wrk,
# golang-cfssl and strace if missing and builds step-ca once into
# ~/.cache/certmaker-load (minutes on 2 cores).
# DURATION, CONNS, ROUNDS, LOAD_DIR, STEPCA_BIN: see scripts/load.sh.
load:
	@./scripts/load.sh

# Fills a new store with a million certificates (PREFILL_N) through the store
# package, then measures certmaker on it against an empty store: start time,
# issuance rate, RSS. scripts/load.sh --scale reuses the filled store.
prefill:
	@./scripts/load.sh --prefill

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd e2e && $(GO) vet ./...
	cd e2e/etcd && $(GO) vet ./...

clean:
	rm -rf bin
