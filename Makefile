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

.PHONY: install
install: $(VENV)/.installed $(SAM_VENV)/.installed ## create .venv (and .venv-sam) and install everything

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

.PHONY: build
build: $(SAM_VENV)/.installed ## sam build (python builder, no Docker)
	$(SAM_ENV) $(SAM) build --template template.yaml

.PHONY: test
test: $(VENV)/.installed $(SAM_VENV)/.installed ## the whole suite: lint, unit, integration, e2e, template, sam validate
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(SAM_ENV) $(SAM) validate --lint --template template.yaml
	SAM_CLI=$(abspath $(SAM)) $(VENV)/bin/pytest -n 2 --dist loadgroup

.PHONY: bench
bench: $(VENV)/.installed ## benchmarks; figures land in benchmarks/results/
	$(PY) benchmarks/sync_latency.py

.PHONY: bench-ingest
bench-ingest: $(VENV)/.installed ## ingest's import time vs a minimal SQS handler -> benchmarks/results/ingest-import.json
	$(PY) benchmarks/ingest_import.py

.PHONY: openapi
openapi: $(VENV)/.installed ## regenerate docs/openapi.json from the JSON endpoint's models
	$(PY) -m sf_bigtime.inbound.openapi > docs/openapi.json.tmp && mv docs/openapi.json.tmp docs/openapi.json

.PHONY: clean
clean: ## remove build output and the local stack's state (keeps the venvs)
	rm -rf .aws-sam .local .pytest_cache .ruff_cache .hypothesis
