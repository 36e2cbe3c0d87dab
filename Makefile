# adk-pg: every target does its own set-up (venv, install, database) from nothing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help install lint typecheck test test-citus migrate demo bench bench-citus fmt clean

help:
	@echo "make demo     run the demo agent twice: its session survives the restart"
	@echo "make test     lint, type-check and run the tests against a real PostgreSQL"
	@echo "make migrate  create the database if needed and apply the migrations (SCHEMA=name: not adk)"
	@echo "make bench    adk-pg vs ADK's DatabaseSessionService, side by side"
	@echo "make test-citus / bench-citus   the same against a Citus coordinator (ADK_PG_CITUS_DSN)"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The tests find PostgreSQL as ADK_PG_TEST_DSN, else Docker (testcontainers), else a local
# server; without the first two, ensure-postgres.sh makes sure a local one answers.
test: lint typecheck
	@if [ -z "$${ADK_PG_TEST_DSN:-}" ] && ! timeout 5 docker info >/dev/null 2>&1; then \
	  ADK_PG_TEST_DSN="$$(bash scripts/ensure-postgres.sh --print-dsn)" || exit 1; \
	  export ADK_PG_TEST_DSN; \
	fi; \
	$(PY) -m pytest

# The whole suite on a Citus cluster: the run's database is made on every node, migrated and
# distributed (see README, "Scaling out"). Needs a coordinator with its workers added.
test-citus: $(STAMP)
	@test -n "$${ADK_PG_CITUS_DSN:-}" || { 	  echo "set ADK_PG_CITUS_DSN to a Citus coordinator, e.g. postgresql://postgres@127.0.0.1:9700/postgres"; exit 2; }
	$(PY) -m pytest

# One server (ADK_PG_BENCH_DSN or the local one) against the Citus coordinator, same run.
bench-citus: $(STAMP)
	@test -n "$${ADK_PG_CITUS_DSN:-}" || { 	  echo "set ADK_PG_CITUS_DSN to a Citus coordinator, e.g. postgresql://postgres@127.0.0.1:9700/postgres"; exit 2; }
	$(PY) -m bench.citus $(BENCH_ARGS)

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# ensure-postgres.sh prints the DSN that answers (it may have started a local cluster).
migrate: $(STAMP)
	@dsn="$$(bash scripts/ensure-postgres.sh --print-dsn)" && \
	  $(VENV)/bin/adk-pg migrate --create-database --dsn "$$dsn" $(if $(SCHEMA),--schema $(SCHEMA))

demo: $(STAMP)
	@bash scripts/demo.sh

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
