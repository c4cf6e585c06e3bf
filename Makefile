# mptcp-bpf-pm build, demo and test entry points. Every target that touches
# the kernel (demo, test, bench) needs root.

GO       ?= go
BIN      := bin
STATICCHECK_VERSION := v0.8.2
# Debian packages the build and the tests use; deps installs the missing ones.
DEBIAN_PACKAGES := clang llvm libbpf-dev bpftool iproute2 nftables libcap2-bin util-linux jq

.PHONY: all
all: build

# deps installs the toolchain for make generate (clang, llvm, bpftool) and
# the tools the tests drive (ip, ss, nft) when any of them is missing.
.PHONY: deps
deps:
	@need=; for c in clang llvm-strip bpftool ip ss nft capsh setpriv jq; do \
		command -v $$c >/dev/null 2>&1 || need=1; done; \
	if [ -n "$$need" ]; then \
		echo "installing $(DEBIAN_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq $(DEBIAN_PACKAGES) >/dev/null; \
	fi

# generate compiles the BPF C sources with bpf2go. Its output is committed,
# so go build works without clang.
.PHONY: generate
generate: deps
	$(GO) generate ./bpf/...

VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS  := -X main.version=$(VERSION)

.PHONY: build
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/mptcp-bpf-pm ./cmd/mptcp-bpf-pm
	$(GO) build -o $(BIN)/mptcp-traffic ./tools/traffic
	$(GO) build -o $(BIN)/mptcp-lab ./tools/lab

# demo builds everything and runs the netns lab: the daemon manages a real
# MPTCP bulk transfer over two paths.
.PHONY: demo
demo: deps build
	./$(BIN)/mptcp-lab -bin $(BIN)

# test runs vet and every unit and integration test against the running
# kernel. Integration tests create and delete their own namespaces.
.PHONY: test
test: deps build
	$(GO) vet ./...
	CI=$${CI:-} $(GO) test -count=1 -timeout 40m ./...

.PHONY: lint
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

.PHONY: clean
clean:
	rm -rf $(BIN)

# --- bench (tools/bench) ---
# bench installs mptcpd (Debian package, with its plugins) when missing,
# builds the binaries and runs every benchmark figure against the
# in-kernel PM and mptcpd. It writes docs/bench/results.json and
# docs/BENCHMARKS.md. BENCHFLAGS=-quick runs a short version that writes
# neither.
BENCHFLAGS ?=
.PHONY: bench
bench: build
	@test -x /usr/libexec/mptcpd && \
	test -f /usr/lib/x86_64-linux-gnu/mptcpd/sspi.so || { \
		echo "installing mptcpd"; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			mptcpd mptcpd-plugins >/dev/null; }
	$(GO) build -o $(BIN)/mptcp-bench ./tools/bench
	./$(BIN)/mptcp-bench -bin $(BIN) $(BENCHFLAGS)
# --- end bench ---
