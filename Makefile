# Waybill — every target sets itself up: a fresh machine needs only Python 3.11, pip and gcc.
#   make demo [SEED=42] [SHIPMENTS=2000] [DAYS=2] [FAULTS=0]   whole pipeline through Airflow, day by day
#   make test                              lint + the whole suite (what CI runs)
#   make test-fast                         lint + the suite without the e2e pipeline runs
#   make airflow [EXECUTOR=local|celery]   Airflow UI on http://127.0.0.1:8080: these DAGs, the sandbox
#                                          wired in (unless AIRFLOW_CONN_* are set), the dbt docs
#   make bench                             benchmarks -> build/bench/results.json

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SEED ?= 42
SHIPMENTS ?= 2000
FAULTS ?= 0
DAYS ?= 2
EXECUTOR ?= local
PYTEST_ARGS ?=
STAMP := $(VENV)/.installed

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo test test-fast lint format airflow bench manifest clean

setup: $(STAMP) dbt_project/target/manifest.json

# pip -qq: errors only, so a fresh clone's `make demo` stays a screenful (pip check speaks only on failure).
$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --quiet --upgrade pip
	$(BIN)/pip install --quiet --quiet -r requirements.txt
	$(BIN)/pip install --quiet --quiet --no-deps -e .
	@$(BIN)/pip check >/dev/null || $(BIN)/pip check
	@touch $@

# cosmos renders transform_warehouse from the manifest, so DAG parsing never runs dbt.
manifest dbt_project/target/manifest.json: $(STAMP) $(shell find dbt_project -name '*.sql' -o -name '*.yml' -o -name '*.csv' 2>/dev/null | grep -v '/target/')
	$(BIN)/waybill dbt parse --quiet --no-version-check

demo: setup
	$(BIN)/waybill demo --seed $(SEED) --shipments $(SHIPMENTS) --faults $(FAULTS) --days $(DAYS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/waybill exec sqlfluff lint dbt_project

test: setup lint
	$(BIN)/python -m pytest --durations=15 $(PYTEST_ARGS)

# The developer's fast lane: everything but the whole-pipeline (e2e) runs.
test-fast: setup lint
	$(BIN)/python -m pytest -m "not e2e" --durations=10 $(PYTEST_ARGS)

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/waybill exec sqlfluff fix dbt_project

airflow: setup
	$(BIN)/waybill ui --executor $(EXECUTOR) --seed $(SEED) --shipments $(SHIPMENTS)

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf build dbt_project/target dbt_project/logs
