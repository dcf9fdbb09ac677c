# corscope: the two commands in README.md are `make demo` and `make test`.
# Swift lives outside Debian; its usual place is added in case the shell profile was not read.
export PATH := $(PATH):/opt/swift/usr/bin
SWIFT ?= swift
SHELL := /bin/bash
# SwiftPM's build folder (the default .build; another one keeps parallel builds apart).
SCRATCH ?= .build
CORSCOPE := $(SCRATCH)/release/corscope
DEMO_CAPTURE ?= Captures/nginx-cors.pcap

# `make install` (DESTDIR for staging, e.g. a package build).
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MAN1DIR ?= $(PREFIX)/share/man/man1
BASH_COMPLETIONS ?= $(PREFIX)/share/bash-completion/completions
ZSH_COMPLETIONS ?= $(PREFIX)/share/zsh/site-functions
FISH_COMPLETIONS ?= $(PREFIX)/share/fish/vendor_completions.d

.PHONY: demo test build deps bench soak captures variants reports clean man install install-files uninstall docs fuzz fuzz-smoke

deps:
	@scripts/install-deps.sh

build: deps
	@scripts/build-info.sh
	$(SWIFT) build --scratch-path $(SCRATCH) -c release --product corscope

# The main job on a bundled capture: the per-origin CORS report, as it would go into a ticket.
demo: build
	$(CORSCOPE) analyze --fail-on never $(DEMO_CAPTURE)

# Every test: unit tests per stage, the tshark differential suite, end-to-end CLI tests.
# The man page comes from the debug build, for the install test (InstallTests); the docs check
# fails on a DocC link to a symbol that no longer exists.
test:
	@scripts/install-deps.sh test
	@scripts/build-info.sh
	$(SWIFT) build --scratch-path $(SCRATCH) --build-tests
	@scripts/man.sh --configuration debug --scratch-path $(SCRATCH) $(SCRATCH)/debug/corscope.1
	@scripts/docs.sh --scratch-path $(SCRATCH) --check
	@set -o pipefail; $(SWIFT) test --scratch-path $(SCRATCH) --skip-build --disable-swift-testing 2>&1 | tee $(SCRATCH)/test.log
	@scripts/test-summary.sh $(SCRATCH)/test.log
	@$(MAKE) --no-print-directory fuzz-smoke

# Coverage-guided fuzzing (README "Fuzzing"): builds every target in Fuzz/Targets with libFuzzer
# and AddressSanitizer in .build-fuzz and runs each for FUZZ_SECONDS (FUZZ_TARGETS: some of
# them); prints executions, exec/s, crashes, leaks, timeouts per target; findings go to
# Fuzz/crashes/<target>/. fuzz-smoke, part of `make test`, shares FUZZ_SMOKE_SECONDS of fuzzing
# among the targets (at least 3 s each; the budget stays the same as targets are added) and fails
# on any finding.
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz:
	Fuzz/run.sh --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke:
	Fuzz/run.sh --total-seconds $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

# corscope(1), from the release build: argument-parser's GenerateManual plugin, then
# scripts/man.sh's EXIT STATUS, EXAMPLES and SEE ALSO.
man: build
	scripts/man.sh --configuration release --scratch-path $(SCRATCH) $(SCRATCH)/release/corscope.1

# The release binary, its man page, and bash, zsh and fish completions (file arguments complete
# file names), under $(DESTDIR)$(PREFIX).
install: man
	@$(MAKE) --no-print-directory install-files BIN=$(CORSCOPE) MAN=$(SCRATCH)/release/corscope.1

# Installs an already built binary and man page, building nothing:
#   make install-files BIN=path/to/corscope MAN=path/to/corscope.1 [PREFIX=…] [DESTDIR=…]
install-files:
	@test -x "$(BIN)" || { echo "install-files: BIN=$(BIN) is not an executable (make install builds one)" >&2; exit 2; }
	@test -f "$(MAN)" || { echo "install-files: MAN=$(MAN) is not a file (make man writes one)" >&2; exit 2; }
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MAN1DIR)" "$(DESTDIR)$(BASH_COMPLETIONS)" "$(DESTDIR)$(ZSH_COMPLETIONS)" "$(DESTDIR)$(FISH_COMPLETIONS)"
	install -m 755 "$(BIN)" "$(DESTDIR)$(BINDIR)/corscope"
	install -m 644 "$(MAN)" "$(DESTDIR)$(MAN1DIR)/corscope.1"
	"$(BIN)" --generate-completion-script bash >"$(DESTDIR)$(BASH_COMPLETIONS)/corscope"
	"$(BIN)" --generate-completion-script zsh >"$(DESTDIR)$(ZSH_COMPLETIONS)/_corscope"
	"$(BIN)" --generate-completion-script fish >"$(DESTDIR)$(FISH_COMPLETIONS)/corscope.fish"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/corscope" "$(DESTDIR)$(MAN1DIR)/corscope.1" "$(DESTDIR)$(BASH_COMPLETIONS)/corscope" \
	      "$(DESTDIR)$(ZSH_COMPLETIONS)/_corscope" "$(DESTDIR)$(FISH_COMPLETIONS)/corscope.fish"

# The BrowserRules library's DocC documentation (Sources/BrowserRules/BrowserRules.docc), built
# with the toolchain's docc into $(SCRATCH)/docs/BrowserRules.doccarchive (static hosting).
docs:
	scripts/docs.sh --scratch-path $(SCRATCH)

# Throughput against tshark on a large generated capture (see scripts/bench.sh), then the
# hostile-input suite at full size (scripts/hostile/run.sh; HOSTILE_SCALE=0.1 for a tenth).
bench:
	@scripts/install-deps.sh bench
	@scripts/build-info.sh
	$(SWIFT) build -c release --product corscope
	scripts/bench.sh
	CORSCOPE=.build/release/corscope scripts/hostile/run.sh $(or $(HOSTILE_SCALE),1)

# watch for an hour (SOAK_SECONDS) of mixed real traffic with hostile bursts, replayed in a
# network namespace, then SIGINT and SIGKILLs (scripts/watch-soak.sh; as root). `make test` runs
# the same for 30 s (WatchSoakTests).
soak:
	@scripts/install-deps.sh test
	$(SWIFT) build -c release --product corscope
	mkdir -p .build/soak && CORSCOPE=.build/release/corscope scripts/watch-soak.sh $(or $(SOAK_SECONDS),3600) .build/soak > .build/soak/summary.json

# Re-record the sample captures of real traffic, and the edge-case variants derived from them.
captures:
	Captures/record.sh
	python3 Captures/make-variants.py

variants:
	python3 Captures/make-variants.py

# Regenerate Reports/ from the bundled captures (a test fails when it is stale).
reports:
	$(SWIFT) build --product corscope
	scripts/make-reports.sh .build/debug/corscope

clean:
	rm -rf .build
