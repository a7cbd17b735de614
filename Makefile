# The README's two commands: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
REQ_STAMP := $(VENV)/.req-$(shell cat requirements-production.txt requirements-dev.txt requirements-training.txt pyproject.toml | sha256sum | cut -c1-16)

.PHONY: run run-detached stop test test-unit test-integration lint typecheck bench system-deps test-system-deps install install-dev clean

run: system-deps install  ## install everything, start Redis + worker + API, OCR a sample; Ctrl-C stops
	deploy/local/run.sh

run-detached: system-deps install  ## same as run, but leave the stack running (stop with `make stop`)
	DETACH=1 deploy/local/run.sh

stop:  ## stop what `make run` started
	deploy/local/stop.sh

test: test-system-deps install-dev  ## install what the tests need and run the whole suite
	VENV=$(VENV) deploy/local/ensure-redis.sh
	$(MAKE) lint typecheck
	PYTHONPATH=$(CURDIR) $(PY) -m pytest

test-unit: install-dev
	PYTHONPATH=$(CURDIR) $(PY) -m pytest tests/unit

lint: install-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: install-dev
	$(PY) -m mypy engines ensemble documents jobs workers

bench: install-dev  ## needs a running stack (make run-detached)
	PYTHONPATH=$(CURDIR) $(PY) bench/api_latency.py

system-deps:
	deploy/local/system-deps.sh

# Debian packages first: creating the virtual environment needs python3-venv.
test-system-deps:
	deploy/local/system-deps.sh test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(VENV)/bin/pip install --quiet --upgrade pip

$(VENV)/.prod-installed: requirements-production.txt pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r requirements-production.txt
	touch $@

install: $(VENV)/.prod-installed
	@$(VENV)/bin/pip install --quiet --no-deps -e . >/dev/null 2>&1 || \
		echo "note: 'ocr' console script not installed; use '$(PY) -m app.cli'"

install-dev: $(REQ_STAMP)

$(REQ_STAMP): | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.req-*
	touch $@

clean:
	rm -rf .run .pytest_cache .mypy_cache .ruff_cache
