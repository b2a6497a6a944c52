# Plansync. `make run` serves the seeded demo; `make test` installs what the
# tests need and runs them; `make bench` and `make soak` print figures.

GO        ?= go
BIN       := $(CURDIR)/bin
TMP       := $(CURDIR)/.tmp
TOOLS     := $(TMP)/bin
DATA      ?= $(CURDIR)/data
ADDR      ?= 127.0.0.1:8080
DURATION  ?= 10m
# Counted, not timed: a timed -fuzztime can fail with a bare "context
# deadline exceeded" and no crasher in Go 1.26 (golang/go#75804, fixed in 1.27).
FUZZTIME  ?= 100000x
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/plansync/plansync/server/app.Version=$(VERSION)
STATICCHECK_VERSION := v0.8.2

# Browser-side packages, tested under Node with fake-indexeddb.
WASM_PKGS := ./wasm/ ./client/idbstore/ ./client/jsws/ ./shared/protocol/
NODE_DIR  := $(TMP)/node
FAKE_IDB  := $(NODE_DIR)/node_modules/fake-indexeddb/auto/index.js
# axe-core for the browser tests' accessibility checks; the version is
# pinned in server/browser/screens_test.go (axeVersion) too.
AXE_VERSION := 4.10.3
AXE       := $(NODE_DIR)/node_modules/axe-core/axe.min.js
WASM_ENV  := PATH="$$($(GO) env GOROOT)/lib/wasm:$$PATH" NODE_OPTIONS="--require=$(FAKE_IDB) --experimental-websocket" GOOS=js GOARCH=wasm

# Every fuzz target (go test fuzzes one target per package run).
FUZZ_TARGETS := shared/protocol:FuzzDecode shared/protocol:FuzzDecodeRoundTrip \
  shared/record:FuzzUnmarshal shared/record:FuzzOpValidate shared/wire:FuzzCheckShape \
  shared/plan:FuzzValidateFields shared/plan:FuzzValidateEncoded \
  client:FuzzUnmarshalPending client:FuzzUnmarshalMeta shared/prose:FuzzMerge

.PHONY: run build wasm test lint tools browser node apertium test-wasm fuzz bench soak clean

## run: build the wasm and the server, then serve the seeded demo on $(ADDR), data in $(DATA)
run: build
	$(BIN)/plansync serve --addr $(ADDR) --data $(DATA) --seed

## wasm: web/dist (hashed wasm and wasm_exec.js, .br/.gz, assets.json); prints the sizes
wasm:
	$(GO) run ./server/cmd/wasmbuild -out web/dist

## build: bin/plansync (server with the app embedded, admin commands, bench-serve) and bin/loadgen
build: wasm
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/plansync ./server/cmd/plansync
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/loadgen ./client/cmd/loadgen

tools: $(TOOLS)/staticcheck

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## browser: Debian's Chromium and axe-core for the browser tests, installed when missing
browser: $(AXE)
	@command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }

$(AXE):
	npm install --no-audit --no-fund --prefix $(NODE_DIR) axe-core@$(AXE_VERSION)

## apertium: Debian's apertium and its English-Spanish pair for the translation tests, installed when missing
apertium:
	@{ command -v apertium >/dev/null && apertium -l | grep -q eng-spa; } || { apt-get update && apt-get install -y apertium apertium-eng-spa; }

## node: fake-indexeddb for the wasm tests under Node
node: $(FAKE_IDB)

$(FAKE_IDB):
	npm install --no-audit --no-fund --prefix $(NODE_DIR) fake-indexeddb@6

## lint: gofmt, go vet (native, no_ui and wasm), staticcheck (native and wasm)
lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags no_ui ./web/ ./server/cmd/...
	GOOS=js GOARCH=wasm $(GO) vet ./shared/... ./client/ ./client/memstore/ $(WASM_PKGS)
	$(TOOLS)/staticcheck ./...
	GOOS=js GOARCH=wasm $(TOOLS)/staticcheck ./shared/... ./client/ ./client/memstore/ $(WASM_PKGS)

## test-wasm: the browser-side packages under Node
test-wasm: node
	$(WASM_ENV) $(GO) test -count=1 $(WASM_PKGS)

## fuzz: every fuzz target for $(FUZZTIME) executions
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$pkg $$name"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$pkg/ || exit 1; done

## test: install what the tests need, lint, build the wasm, run every test (race detector on), the wasm tests and the fuzzers briefly
test: browser node apertium lint wasm
	$(GO) test -race -count=1 -timeout 15m ./...
	$(MAKE) --no-print-directory test-wasm fuzz

## bench: go test benchmarks, then the load generator's workloads against bench-serve
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./shared/... ./server/store/
	./.ci/bench $(BIN)

## soak: the long proofs for DURATION in all (default 10m), one JSON line per scenario
soak:
	GO=$(GO) ./.ci/soak $(DURATION)

clean:
	rm -rf $(BIN) $(TMP) web/dist
