# docker-authz: see README.md. `make demo` shows it working; `make test` runs every test.
GO        ?= go
BIN       ?= bin/docker-authz
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.Version=$(VERSION)
PKGS      := ./...
FUZZTIME  ?= 10s

.PHONY: all build test deps unit e2e demo lint fuzz clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/docker-authz

# Everything CI runs: static checks, unit tests with the race detector, short
# fuzzing, policy examples, and the end-to-end suite against a real dockerd.
test: deps lint unit fuzz check-examples bench-smoke e2e

# The real parts the tests use (dockerd, busybox, PostgreSQL, Chromium,
# rsyslog, systemd-analyze), installed from Debian when missing.
deps:
	bash test/deps.sh

lint:
	@out="$$(gofmt -l .)"; \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags e2e ./test/...

unit:
	$(GO) test -race -count=1 $(PKGS)

# Each fuzz target runs briefly; a crash found here fails the build and the
# input lands in testdata/fuzz for a regression test.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

check-examples: build
	@set -e; for d in examples/*/; do $(BIN) check $$d; done

# Needs root, dockerd (Debian's docker.io) and busybox-static.
e2e:
	$(GO) test -tags e2e -count=1 -v -timeout 20m ./test/e2e/

# A throwaway dockerd with the plugin, TLS users alice and root-admin, and
# the commands that show what the plugin allows and refuses.
demo:
	@command -v dockerd >/dev/null && command -v busybox >/dev/null || \
	  (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io busybox-static)
	DEMO=1 $(GO) test -tags e2e -count=1 -run '^TestDemo$$' -v ./test/e2e/

# The benchmark of issue 7 (BENCHMARKS.md): docker-authz (example policy,
# durable audit trail) side by side with an allow-all plugin over unix
# sockets at 1, 8 and 64 connections, RSS over a soak, the Docker API round
# trip through a real dockerd, and the decision-path Go benchmarks. Writes a
# table to stdout, bench-results/results.json and bench-results/latency.svg.
# BENCHFLAGS='-soak 1000000' for the 1M-decision RSS target.
BENCHFLAGS ?=
.PHONY: bench bench-smoke
bench: build
	@command -v dockerd >/dev/null && command -v busybox >/dev/null || \
	  (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io busybox-static)
	$(GO) run ./test/bench/cmd/authzbench -bin $(BIN) -out bench-results $(BENCHFLAGS)

# CI: the same harness for a few seconds, without dockerd; fails unless both
# plugins answer, docker-authz allows the whole mix and the results are written.
bench-smoke: build
	@d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	  $(GO) run ./test/bench/cmd/authzbench -smoke -bin $(BIN) -out "$$d"

# Install the binary, the systemd units, the manual page and, only when
# there is no policy yet, the example policy. PREFIX, DESTDIR, BINDIR,
# SYSCONFDIR, UNITDIR, MANDIR and POLICY_EXAMPLE can be overridden.
PREFIX         ?= /usr/local
BINDIR         ?= $(PREFIX)/bin
MANDIR         ?= $(PREFIX)/share/man
SYSCONFDIR     ?= /etc
UNITDIR        ?= /etc/systemd/system
POLICY_EXAMPLE ?= examples/shared-build-host

.PHONY: install
install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR)/docker.service.d $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/docker-authz
	sed -e 's#/usr/local/bin/docker-authz#$(BINDIR)/docker-authz#g' -e 's#/etc/docker-authz#$(SYSCONFDIR)/docker-authz#g' \
	  systemd/docker-authz.service > $(DESTDIR)$(UNITDIR)/docker-authz.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/docker-authz.service
	install -m 0644 systemd/docker.service.d/10-docker-authz.conf $(DESTDIR)$(UNITDIR)/docker.service.d/
	{ echo '.TH DOCKER-AUTHZ 8 "" "docker-authz $(VERSION)" "System Administration"'; echo '.nf'; \
	  $(BIN) help serve | sed -e 's/\\/\\e/g' -e "s/^[.']/\\\\\&&/"; echo '.fi'; } > $(DESTDIR)$(MANDIR)/man8/docker-authz.8
	chmod 0644 $(DESTDIR)$(MANDIR)/man8/docker-authz.8
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/docker-authz/policy.csv ]; then \
	  echo "keeping the existing policy in $(DESTDIR)$(SYSCONFDIR)/docker-authz"; \
	else \
	  install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/docker-authz && \
	  for f in policy.csv model.conf cases.yaml; do \
	    if [ -f $(POLICY_EXAMPLE)/$$f ]; then install -m 0644 $(POLICY_EXAMPLE)/$$f $(DESTDIR)$(SYSCONFDIR)/docker-authz/; fi; \
	  done && echo "installed the example policy $(POLICY_EXAMPLE) to $(DESTDIR)$(SYSCONFDIR)/docker-authz"; \
	fi
	@echo "next: edit $(SYSCONFDIR)/docker-authz/policy.csv, docker-authz check $(SYSCONFDIR)/docker-authz,"
	@echo "      systemctl daemon-reload && systemctl enable --now docker-authz, then add the plugin to /etc/docker/daemon.json (README: Running it as a service)"

# Managed (v2) plugin, for hosts that prefer `docker plugin`: a rootfs with
# only the static binary and its config.json, turned into a local plugin by
# `docker plugin create` (no registry). systemd stays the recommended way
# (README: Managed plugin).
PLUGIN_DIR  ?= bin/managed-plugin
PLUGIN_NAME ?= docker-authz:latest

.PHONY: plugin plugin-create
plugin: build
	rm -rf $(PLUGIN_DIR)
	install -d $(PLUGIN_DIR)/rootfs/etc/docker-authz $(PLUGIN_DIR)/rootfs/var/log/docker-authz \
	  $(PLUGIN_DIR)/rootfs/run/docker/plugins $(PLUGIN_DIR)/rootfs/tmp
	install -m 0755 $(BIN) $(PLUGIN_DIR)/rootfs/docker-authz
	install -m 0644 packaging/managed-plugin/config.json $(PLUGIN_DIR)/config.json
	@echo "built $(PLUGIN_DIR); make plugin-create (or: docker plugin create $(PLUGIN_NAME) $(PLUGIN_DIR))"

plugin-create: plugin
	docker plugin create $(PLUGIN_NAME) $(PLUGIN_DIR)

clean:
	rm -rf bin
