# Two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run seed test lint typecheck pytest test-postgres ctk bench snapshot clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/lumen serve

seed: install
	$(BIN)/lumen seed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# The suite runs in one process per core (pytest-xdist), a test file to a process.
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

pytest: install
	$(PYTEST)

test: lint typecheck pytest

# The suite against a PostgreSQL server named by LUMEN_TEST_DATABASE_URL (.ci/run starts one).
test-postgres: install
	@test -n "$$LUMEN_TEST_DATABASE_URL" || (echo "set LUMEN_TEST_DATABASE_URL" && exit 2)
	$(PYTEST)

# TM Forum's conformance kits (../shared/ctk) against the app as `make run` serves it; newman
# is installed into .ci/node_modules. CTK_ONLY=TMF622 runs one kit.
ctk: install
	.ci/ctk

# Compare every served API with its snapshot and write the snapshots anew (see docs/versioning.md).
snapshot: install
	$(BIN)/lumen snapshot

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .ci/node_modules governance/tools/node_modules .pytest_cache .mypy_cache .ruff_cache lumen.db lumen.db-shm lumen.db-wal
