# Plansync. `make run` serves the seeded demo; `make test` installs what the
# tests need and runs them; `make bench` prints the benchmark figures.

GO        ?= go
BIN       := $(CURDIR)/bin
TOOLS     := $(CURDIR)/.tmp/bin
DATA      ?= $(CURDIR)/data
ADDR      ?= 127.0.0.1:8080
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/plansync/plansync/server/app.Version=$(VERSION)
STATICCHECK_VERSION := v0.8.2

.PHONY: run build test lint tools bench clean

## run: build the server and serve the seeded demo on $(ADDR), data in $(DATA)
run: build
	$(BIN)/plansync serve --addr $(ADDR) --data $(DATA) --seed

## build: bin/plansync (server, admin commands, bench-serve) and bin/loadgen
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/plansync ./server/cmd/plansync
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/loadgen ./client/cmd/loadgen

tools: $(TOOLS)/staticcheck

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## lint: gofmt, go vet (native and wasm), staticcheck
lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./shared/... ./client/ ./client/memstore/
	$(TOOLS)/staticcheck ./...

## test: install test tools, lint, then every test (race detector on)
test: lint
	GOOS=js GOARCH=wasm $(GO) build ./shared/... ./client/ ./client/memstore/
	$(GO) test -race -count=1 -timeout 15m ./...

## bench: go test benchmarks, then the load generator's workloads against bench-serve
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./shared/... ./server/store/
	./.ci/bench $(BIN)

clean:
	rm -rf $(BIN) $(CURDIR)/.tmp
