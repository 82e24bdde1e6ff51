# sf-bigtime: two commands do all the set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# pip warns about every missing entry of this machine's local package indexes; keep the output readable.
QUIET_PIP := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
.DEFAULT_GOAL := help

VENV      := .venv
SAM_VENV  := .venv-sam
PY        := $(VENV)/bin/python
SAM       := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
# Static scanners of template.yaml, pinned; `make scan` runs them (part of `make test`).
SCAN_VENV := .venv-scan
CHECKOV_VERSION  := 3.3.30
CFN_LINT_VERSION := 1.58.0
# checkov offline: no download of Prisma Cloud guidelines (--skip-download), no PyPI update check.
CHECKOV_ENV := CKV_SKIP_PACKAGE_UPDATE_CHECK=true
# sam validate needs a region and credentials-shaped values even offline; nothing talks to AWS.
SAM_ENV   := AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
             SAM_CLI_TELEMETRY=0 SAM_CLI_DISABLE_TELEMETRY=1

# The Lambda runtime is python3.13. Find a 3.13 interpreter that actually runs: pyenv's shim for
# `python3.13` fails unless PYENV_VERSION is set, so try the pyenv install path first.
PYTHON313 ?= $(shell for p in "$$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python3 \
                      "$$HOME"/.pyenv/versions/3.13*/bin/python3 \
                      "$$(command -v python3.13 2>/dev/null)" "$$(command -v python3 2>/dev/null)"; do \
                 [ -x "$$p" ] && "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null \
                 && { echo "$$p"; break; }; done)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: python313
python313:
	@if [ -z "$(PYTHON313)" ]; then \
	  echo "error: Python 3.13 (the Lambda runtime) was not found." >&2; \
	  echo "  install it with:  pyenv install 3.13.0   (or your OS package manager)" >&2; \
	  echo "  or point to one:  make PYTHON313=/path/to/python3.13 <target>" >&2; \
	  exit 1; fi

$(VENV)/.installed: pyproject.toml layers/common/requirements.txt requirements-cli.txt | python313
	@[ -x $(PY) ] || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip $(QUIET_PIP)
	$(PY) -m pip install --quiet -e '.[dev]' $(QUIET_PIP)
	$(PY) -c 'import sf_bigtime, sf_bigtime_local, moto'
	@touch $@

# aws-sam-cli lives in a venv of its own: next to moto and Powertools pip back-solves to old releases.
$(SAM_VENV)/.installed: Makefile | python313
	@[ -x $(SAM_VENV)/bin/python ] || $(PYTHON313) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip $(QUIET_PIP)
	$(SAM_VENV)/bin/python -m pip install --quiet 'aws-sam-cli==$(SAM_CLI_VERSION)' $(QUIET_PIP)
	$(SAM) --version
	@touch $@

# checkov pins much of its dependency tree (boto3, pydantic, ...), so the scanners get a venv of their own.
$(SCAN_VENV)/.installed: Makefile | python313
	@[ -x $(SCAN_VENV)/bin/python ] || $(PYTHON313) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --upgrade pip $(QUIET_PIP)
	$(SCAN_VENV)/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)' 'cfn-lint==$(CFN_LINT_VERSION)' $(QUIET_PIP)
	$(SCAN_VENV)/bin/cfn-lint --version
	@touch $@

.PHONY: install
install: $(VENV)/.installed $(SAM_VENV)/.installed $(SCAN_VENV)/.installed ## create .venv (and .venv-sam, .venv-scan) and install everything

.PHONY: demo
demo: $(VENV)/.installed ## run the whole path on the local stack: Closed Won -> BigTime project -> write-back
	$(VENV)/bin/sf-bigtime demo

.PHONY: local
local: $(VENV)/.installed ## start the local stack until Ctrl-C
	$(VENV)/bin/sf-bigtime local up

.PHONY: lint
lint: $(VENV)/.installed ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: validate
validate: $(SAM_VENV)/.installed ## sam validate --lint
	$(SAM_ENV) $(SAM) validate --lint --template template.yaml

# Every finding is fixed or suppressed next to its resource with the reason (Metadata: cfn-lint / checkov).
.PHONY: scan
scan: $(SCAN_VENV)/.installed ## static scans of template.yaml: cfn-lint with informational rules, checkov
	$(SCAN_VENV)/bin/cfn-lint --include-checks I -- template.yaml
	$(CHECKOV_ENV) $(SCAN_VENV)/bin/checkov --file template.yaml --framework cloudformation --skip-download \
	  --compact --quiet

# The layer and the functions build with make (layers/common/Makefile, functions/Makefile), no Docker: their
# recipes call python3.13, which the SAM venv provides, so it goes first on PATH.
.PHONY: build
build: $(SAM_VENV)/.installed ## sam build: the layer (locked dependencies, byte code) and the functions, no Docker
	PATH="$(abspath $(SAM_VENV))/bin:$$PATH" $(SAM_ENV) $(SAM) build --template template.yaml

# The layer's dependencies, locked for the Lambda platform (python3.13 on arm64: manylinux, glibc 2.34) with
# the hash of every file: run `make lock` after editing layers/common/requirements.txt (tests fail until
# the lock matches it); `make lock LOCK_ARGS=--upgrade` moves every transitive pin to its newest release.
# The layer build installs exactly this file, with `pip install --require-hashes`.
# LAYER_NOT_SHIPPED: dependencies of our dependencies that no code path of ours imports, left out of the
# lock and so of the layer (tests/unit/test_layer_lock.py imports every module of the layer without them):
#   platformdirs, requests-toolbelt: zeep imports them only for its WSDL cache and multipart SOAP replies,
#     which simple-salesforce reaches only through its Metadata API (Salesforce.mdapi), never used here;
#   pycparser: cffi parses C declarations with it only for FFI.cdef() at run time; cryptography loads its
#     compiled bindings through _cffi_backend and never calls it.
LAYER_LOCK        := layers/common/requirements.lock
LAYER_NOT_SHIPPED := platformdirs pycparser requests-toolbelt
LOCK_ARGS ?=

.PHONY: lock
lock: $(VENV)/.installed ## re-lock the layer's dependencies (every transitive package, with hashes) after editing layers/common/requirements.txt
	cd layers/common && ../../$(VENV)/bin/uv pip compile requirements.txt --quiet --generate-hashes \
	  --python-version 3.13 --python-platform aarch64-manylinux_2_34 \
	  $(addprefix --no-emit-package ,$(LAYER_NOT_SHIPPED)) \
	  --custom-compile-command 'make lock' --output-file requirements.lock $(LOCK_ARGS)
	{ echo "# requirements.txt sha256: $$(sha256sum layers/common/requirements.txt | cut -d' ' -f1)"; \
	  echo "# not shipped (Makefile, LAYER_NOT_SHIPPED): $(LAYER_NOT_SHIPPED)"; \
	  grep -v -e '^# requirements.txt sha256: ' -e '^# not shipped ' $(LAYER_LOCK); } > $(LAYER_LOCK).tmp
	mv $(LAYER_LOCK).tmp $(LAYER_LOCK)

.PHONY: typecheck
typecheck: $(VENV)/.installed ## mypy: --strict on the layer package (it ships py.typed), and the operator package
	$(VENV)/bin/mypy --strict -p sf_bigtime
	$(VENV)/bin/mypy -p sf_bigtime_ops

.PHONY: test-unit
test-unit: $(VENV)/.installed ## the unit tests only (seconds): no moto server, no fakes over HTTP, no local stack
	$(VENV)/bin/pytest -n 2 -q tests/unit

.PHONY: test
test: $(VENV)/.installed $(SAM_VENV)/.installed $(SCAN_VENV)/.installed ## the whole suite: lint, typecheck, sam validate, template scans, unit, integration, e2e, template
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MAKE) --no-print-directory typecheck
	$(SAM_ENV) $(SAM) validate --lint --template template.yaml
	$(MAKE) --no-print-directory scan
	SAM_CLI=$(abspath $(SAM)) $(VENV)/bin/pytest -n 2 --dist loadgroup

# The chaos run (docs/chaos.md): loopback only, bounded, stops by itself; SEED=N replays a run.
SEED ?=
CHAOS_ARGS ?=

.PHONY: chaos
chaos: $(VENV)/.installed ## 300 Opportunities won at once under every fault; prints and checks the figures (SEED=N replays)
	$(PY) -m chaos $(if $(SEED),--seed $(SEED)) $(CHAOS_ARGS)

.PHONY: bench
bench: $(VENV)/.installed ## every benchmark, side by side with its target (about 30 minutes; BENCH_ARGS=--quick: smaller sizes) -> benchmarks/results/
	$(PY) -m benchmarks $(BENCH_ARGS)

.PHONY: bench-pull
bench-pull: $(VENV)/.installed ## Salesforce and BigTime calls per pull run, 500 projects -> benchmarks/results/pull-calls.json
	$(PY) -m benchmarks --only pull-calls

.PHONY: bench-ingest
bench-ingest: $(VENV)/.installed ## only the cold-import and ingest-latency benchmarks
	$(PY) -m benchmarks --only cold-import ingest-latency

.PHONY: bench-hostile
bench-hostile: $(VENV)/.installed ## ingest's time to refuse each hostile-corpus request -> benchmarks/results/hostile-ingest.json
	$(PY) -m benchmarks --only hostile-ingest

.PHONY: openapi
openapi: $(VENV)/.installed ## regenerate docs/openapi.json from the JSON endpoint's models
	$(PY) -m sf_bigtime_ops.openapi > docs/openapi.json.tmp && mv docs/openapi.json.tmp docs/openapi.json

# The Salesforce CLI is not needed by `make test` (which parses and cross-checks salesforce/ itself): it is
# a 300 MB npm install. These targets run the real CLI offline against salesforce/ and the guide.
SF_CLI_DIR := .sf-cli
SF        := $(SF_CLI_DIR)/node_modules/.bin/sf
SF_ENV    := SF_DISABLE_TELEMETRY=true SF_AUTOUPDATE_DISABLE=true SF_SKIP_NEW_VERSION_CHECK=true

$(SF_CLI_DIR)/.installed: tools/sf-cli/package.json
	@command -v npm >/dev/null || { echo "error: npm (Node.js 20 or later) is needed for the Salesforce CLI" >&2; exit 1; }
	mkdir -p $(SF_CLI_DIR)
	cp tools/sf-cli/package.json $(SF_CLI_DIR)/package.json
	cd $(SF_CLI_DIR) && npm install --no-audit --no-fund --loglevel=error
	$(SF_ENV) $(SF) --version
	@touch $@

.PHONY: sf-cli
sf-cli: $(SF_CLI_DIR)/.installed ## install a pinned Salesforce CLI into .sf-cli (runs on Node.js 20+)

.PHONY: salesforce-validate
salesforce-validate: $(VENV)/.installed $(SF_CLI_DIR)/.installed ## check salesforce/ and the guide's sf commands with the real Salesforce CLI (offline)
	$(PY) tools/sf_cli_check.py --sf $(abspath $(SF))

.PHONY: salesforce-snapshot
salesforce-snapshot: $(VENV)/.installed $(SF_CLI_DIR)/.installed ## rewrite tests/docs/sf_cli_commands.json from the real Salesforce CLI
	$(PY) tools/sf_cli_check.py --sf $(abspath $(SF)) --write-snapshot

.PHONY: clean
clean: ## remove build output and the local stack's state (keeps the venvs)
	rm -rf .aws-sam .local .pytest_cache .ruff_cache .hypothesis
