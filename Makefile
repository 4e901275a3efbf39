# The two commands of the README, `make demo` and `make test`, work on a fresh machine with Python 3.11+
# and make: each creates its virtualenv when missing and installs what it needs, with the pins of the
# Airflow leg kept in constraints/ (Airflow's own constraint files live on a host CI cannot reach).

PYTHON ?= python3
AIRFLOW_VERSION ?= 3.3.2
VENV ?= .venv
CONSTRAINTS := constraints/airflow-$(AIRFLOW_VERSION).txt
STAMP := $(VENV)/.installed-airflow-$(AIRFLOW_VERSION)
BIN := $(VENV)/bin
OLDEST_AIRFLOW := 3.0.0

.PHONY: install test test-oldest test-deployment test-oracle dist docs lint typecheck pytest demo bench clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) "apache-airflow==$(AIRFLOW_VERSION)" -e ".[dev]"
	@touch $@

install: $(STAMP)

# sphinx-lint reads the reST itself (unbalanced backticks, single-backtick roles, stray whitespace), so a
# page also reads right where no Sphinx renders it (GitHub); tests/test_docs_pages.py checks the rest.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sphinx-lint --enable default-role docs

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test: lint typecheck pytest

# The gate against its oracle (tests/reliability/test_gate_oracle.py) with thousands of random examples
# instead of `make test`'s fixed seed: about 2 minutes per 2,000 examples on the project's 2-core machine.
ORACLE_EXAMPLES ?= 2000

test-oracle: $(STAMP)
	ORACLE_EXAMPLES=$(ORACLE_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider -o timeout=0 tests/reliability/test_gate_oracle.py

# The oldest Airflow we declare (apache-airflow>=3.0.0), so the declared range is true.
test-oldest:
	$(MAKE) pytest AIRFLOW_VERSION=$(OLDEST_AIRFLOW) VENV=.venv-airflow-$(OLDEST_AIRFLOW)

# Real Airflow deployments (api-server, scheduler, dag-processor, triggerers) driven through the REST API
# and a headless browser; see tests/deployment/.
# The browser driver is its own extra (a 50 MB wheel `make test` does not need); the browser is Debian's
# chromium (`apt-get install chromium`; .ci/run installs it when missing).
# Two legs, one after the other: standalone (LocalExecutor, SQLite, one triggerer) and production
# (CeleryExecutor with one worker, two triggerers, throwaway PostgreSQL and Redis from Debian's packages:
# `apt-get install postgresql redis-server`, which .ci/run does when they are missing). LEGS=production
# runs one leg only.
DEPLOYMENT_CONSTRAINTS := constraints/deployment-production-$(AIRFLOW_VERSION).txt
DEPLOYMENT_STAMP := $(VENV)/.installed-deployment-$(AIRFLOW_VERSION)
LEGS ?= standalone production

$(DEPLOYMENT_STAMP): $(STAMP) pyproject.toml $(DEPLOYMENT_CONSTRAINTS)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -c $(DEPLOYMENT_CONSTRAINTS) -e ".[deployment]"
	@touch $@

test-deployment: $(DEPLOYMENT_STAMP)
	$(BIN)/python scripts/deployment.py test --legs $(LEGS) $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))

# Build the sdist and the wheel, check them, and prove the wheel in a fresh virtualenv.
dist: $(STAMP)
	$(BIN)/python scripts/check_dist.py

# The Sphinx site in docs/ (into docs/_build/html), warnings as errors, nitpicky: a broken reference,
# include or docstring fails the build. The docs extra (Sphinx) is installed on first use.
DOCS_STAMP := $(VENV)/.installed-docs-$(AIRFLOW_VERSION)

$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[docs]"
	@touch $@

docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -E -W --keep-going -n -q -b html docs docs/_build/html

demo: $(STAMP)
	$(BIN)/python scripts/demo.py
	$(BIN)/python scripts/demo_event_driven.py

bench: $(STAMP)
	$(BIN)/python benchmarks/import_cost.py
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/faults.py
	$(BIN)/python benchmarks/triggerer_scale.py

clean:
	rm -rf .venv .venv-airflow-* .demo .pytest_cache .mypy_cache .ruff_cache docs/_build
