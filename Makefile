# Vigil: `make demo` and `make test` work on a fresh clone with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SHARED ?= ../shared/data

.PHONY: demo test lint eval bench clean deploy build

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	@$(PY) -m vigil.demo

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check . || true
	$(VENV)/bin/cfn-lint template.yaml

eval: $(STAMP)
	@$(PY) -m vigil.evaluate $(or $(ITEMS),$(SHARED)/dev-items.jsonl)

bench: $(STAMP)
	@$(PY) bench/run.py

build:
	sam build

deploy: build
	sam deploy --guided

clean:
	rm -rf $(VENV) .vigil .pytest_cache .ruff_cache .aws-sam
