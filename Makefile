# corscope: the two commands in README.md are `make demo` and `make test`.
# Swift lives outside Debian; its usual place is added in case the shell profile was not read.
export PATH := $(PATH):/opt/swift/usr/bin
SWIFT ?= swift
SHELL := /bin/bash
CORSCOPE := .build/release/corscope
DEMO_CAPTURE ?= Captures/nginx-cors.pcap

.PHONY: demo test build deps bench captures variants reports clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release --product corscope

# The main job on a bundled capture: the per-origin CORS report, as it would go into a ticket.
demo: build
	$(CORSCOPE) analyze --fail-on never $(DEMO_CAPTURE)

# Every test: unit tests per stage, the tshark differential suite, end-to-end CLI tests.
test:
	@scripts/install-deps.sh test
	$(SWIFT) build --build-tests
	@set -o pipefail; $(SWIFT) test --skip-build --disable-swift-testing 2>&1 | tee .build/test.log
	@scripts/test-summary.sh .build/test.log

# Throughput against tshark on a large generated capture (see scripts/bench.sh).
bench:
	@scripts/install-deps.sh bench
	$(SWIFT) build -c release --product corscope
	scripts/bench.sh

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
