# certmaker: `make run` starts the CA on its defaults, `make test` passes the tests.
GO      ?= go
BIN     ?= bin/certmaker
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build run test deps bench lint fuzz clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

run: build
	./$(BIN) serve

# deps installs what the tests need and a fresh machine may lack.
deps:
	@./scripts/deps.sh

test: deps lint
	$(GO) test -race -count=1 ./...

# Short runs of every fuzz target on top of the checked-in seeds.
fuzz:
	@./scripts/fuzz.sh 5s

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
