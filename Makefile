# certmaker: `make run` starts the CA on its defaults, `make test` passes the tests.
GO      ?= go
BIN     ?= bin/certmaker
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build run test deps bench lint fuzz crash-test clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

run: build
	./$(BIN) serve

# deps installs what the tests need and a fresh machine may lack.
deps:
	@./scripts/deps.sh

# The unit and binary tests (with a light crash test), then every fuzz
# target briefly on top of its seeds.
test: deps lint
	$(GO) test -race -count=1 ./...
	@./scripts/fuzz.sh 2s

# Short runs of every fuzz target on top of the checked-in seeds;
# FUZZTIME=1m make fuzz for a longer hunt.
fuzz:
	@./scripts/fuzz.sh $(or $(FUZZTIME),5s)

# SIGKILL the real server under heavier load, several kill/restart rounds,
# and prove that every acknowledged certificate survived (make test runs
# one light round).
crash-test:
	CERTMAKER_CRASH_ROUNDS=5 CERTMAKER_CRASH_CLIENTS=16 $(GO) test -count=1 -run '^TestCrash' -v .

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
