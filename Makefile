# Vigil: `make demo` and `make test` work on a fresh clone with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SHARED ?= ../shared/data
# checkov lives in its own venv: in .venv it would downgrade boto3 and pull in ~60 packages.
SCAN_VENV := .venv-scan
CHECKOV_VERSION := 3.3.30
SCAN_STAMP := $(SCAN_VENV)/.installed-$(CHECKOV_VERSION)

.PHONY: demo test lint eval bench clean deploy build topics

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(SCAN_STAMP):
	@test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	@$(SCAN_VENV)/bin/python -m pip install --quiet --upgrade pip
	@$(SCAN_VENV)/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	@touch $(SCAN_STAMP)

demo: $(STAMP)
	@$(PY) -m vigil.entrypoints.demo

test: $(STAMP) $(SCAN_STAMP)
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports --no-cache --no-logo
	CHECKOV=$(SCAN_VENV)/bin/checkov $(PY) -m pytest -q

lint: $(STAMP) $(SCAN_STAMP)
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports --no-cache --no-logo
	$(VENV)/bin/cfn-lint template.yaml
	$(SCAN_VENV)/bin/checkov -f template.yaml --framework cloudformation --skip-download --quiet --compact

eval: $(STAMP)
	@$(PY) -m vigil.entrypoints.evaluate $(or $(ITEMS),$(SHARED)/dev-items.jsonl) \
		--stories $(or $(STORIES),$(SHARED)/stories-dev.jsonl)

bench: $(STAMP)
	@$(PY) bench/run.py

# The shipped topics validated once, at build time (a test fails while it is stale).
topics: $(STAMP)
	@$(PY) -m vigil.adapters.config.topics

build: topics
	sam build

deploy: build
	sam deploy --guided

clean:
	rm -rf $(VENV) $(SCAN_VENV) .vigil .pytest_cache .ruff_cache .import_linter_cache .aws-sam
