# Every target bootstraps .venv from nothing but python3.11; the install is skipped when
# pyproject.toml and constraints.txt have not changed since the last one.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

COMPAT_VENV  := .venv-compat
COMPAT_STAMP := $(COMPAT_VENV)/.installed

FLOORS_VENV  := .venv-floors
FLOORS_STAMP := $(FLOORS_VENV)/.installed

DEMO_VENV  := .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed
# The extras a user installs; tooling comes from the PEP 735 dependency groups (pip >= 25.1).
EXTRAS := emulator,s3,openlineage,parquet,postgres

.PHONY: help install test test-fast test-compat test-floors lint format demo airflow docs docs-serve bench emulator clean

help:
	@echo "make demo       run the backfill example DAG against the bundled Marketo emulator (own .venv-demo)"
	@echo "                KIND=leads|activities|custom_objects: that kind's example DAG instead"
	@echo "make airflow    a real Airflow on this machine (UI on :8080, emulator, example DAGs); Ctrl-C stops it"
	@echo "make test       lint + type-check + the whole test suite (slow suites included)"
	@echo "make test-fast  the test suite without the suites marked slow"
	@echo "make test-compat  unit tests and one example DAG on the oldest supported Airflow (3.0.x)"
	@echo "make test-floors  the built wheel with every dependency at its declared floor (fast suites)"
	@echo "make lint       ruff check, ruff format --check, mypy"
	@echo "make docs       the documentation site from docs/, built strictly into site/ (docs-serve: live)"
	@echo "make bench      benchmarks (prints ratios and figures, see bench/RESULTS.md)"
	@echo "make emulator   serve the Marketo emulator on 127.0.0.1:8766"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS),celery]" --group dev
	touch $(STAMP)

install: $(STAMP)

# The demo's own environment: Airflow and the provider with its emulator extra, nothing else (no s3,
# openlineage or celery extras, no test or lint tools), so the first export comes after the smallest install.
$(DEMO_STAMP): pyproject.toml constraints.txt
	test -x $(DEMO_VENV)/bin/python || $(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet -c constraints.txt -e ".[emulator]"
	touch $(DEMO_STAMP)

$(COMPAT_STAMP): pyproject.toml constraints-compat.txt
	test -x $(COMPAT_VENV)/bin/python || $(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	$(COMPAT_VENV)/bin/python -m pip install --quiet -c constraints-compat.txt -e ".[$(EXTRAS)]" --group dev
	touch $(COMPAT_STAMP)

# The wheel as a user gets it (not an editable checkout), each dependency at exactly its declared floor:
# constraints-floors.txt pins them (tests/test_floors.py checks it against pyproject.toml). On Airflow 3.0.6,
# not the newest: the floors must hold on the oldest Airflow we claim, where the compat fallbacks that set
# the highest floors (common-compat's mask_secret) run, and newer Airflow requires newer providers anyway.
$(FLOORS_STAMP): pyproject.toml constraints-floors.txt $(shell find airflow_provider_marketo_pm -name '*.py')
	test -x $(FLOORS_VENV)/bin/python || $(PYTHON) -m venv $(FLOORS_VENV)
	$(FLOORS_VENV)/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	rm -rf $(FLOORS_VENV)/dist
	$(FLOORS_VENV)/bin/python -m pip wheel --quiet --no-deps -w $(FLOORS_VENV)/dist .
	$(FLOORS_VENV)/bin/python -m pip install --quiet --force-reinstall --no-deps $(FLOORS_VENV)/dist/*.whl
	$(FLOORS_VENV)/bin/python -m pip install --quiet -c constraints-floors.txt \
		"$$(ls $(FLOORS_VENV)/dist/*.whl)[$(EXTRAS)]" --group test
	touch $(FLOORS_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# The package claims apache-airflow>=3.0: prove it on the oldest 3.0.x with the fast suites.
test-compat: $(COMPAT_STAMP)
	$(COMPAT_VENV)/bin/python -m pytest -m "not slow or compat" $(PYTEST_ARGS)

# Run by the pytest script (not `python -m pytest`, which puts the checkout first on sys.path), so the
# tests import the installed wheel. Subset: the fast suites minus tests/testing (the emulator's own
# behaviour does not depend on our floors; it is a test tool exercised by every other suite anyway).
test-floors: $(FLOORS_STAMP)
	$(FLOORS_VENV)/bin/pytest -m "not slow" -p no:cacheprovider --ignore=tests/testing $(PYTEST_ARGS)

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/python scripts/demo.py$(if $(KIND), --kind $(KIND))

# A local Airflow without Docker (scripts/local_airflow.py): SQLite in .airflow-local/, or
# `make airflow AIRFLOW_ARGS=--postgres` for a PostgreSQL metadata DB; `--port N`, `--home DIR`.
AIRFLOW_ARGS ?=
airflow: $(STAMP)
	$(BIN)/python scripts/local_airflow.py $(AIRFLOW_ARGS)

# The documentation site (mkdocs.yml; the docs group of the dev environment). --strict: a broken link, anchor
# or API reference fails the build, as it fails tests/test_docs_site.py in `make test`.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8000

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

emulator: $(STAMP)
	$(BIN)/python -m airflow_provider_marketo_pm.testing.emulator --port 8766

clean:
	rm -rf $(VENV) $(COMPAT_VENV) $(FLOORS_VENV) $(DEMO_VENV) .airflow-home .airflow-local demo-output bench/out site .pytest_cache .mypy_cache .ruff_cache
