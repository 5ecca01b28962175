# Two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run seed test lint typecheck pytest test-postgres ctk bench bench-scale snapshot clean

# Each step says what it does; pip shows each package as it comes, so no minute passes silently.
$(STAMP): pyproject.toml
	@echo "==> creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> upgrading pip"
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> installing the platform and its dependencies (a minute or two the first time)"
	$(BIN)/python -m pip install --progress-bar on -e '.[dev,browser]'
	touch $(STAMP)
	@echo "==> installed"

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

# Every face under 32 clients over loopback HTTP, against floors served by the same process;
# writes bench/results.json and bench/results.png (LUMEN_DATABASE_URL may name PostgreSQL).
bench: install
	$(BIN)/python -m benchmarks

# Get-one and list-a-page on every face at a thousand and at a million orders (seeded in bulk,
# kept in $(SCALE_DB) for the next run); writes bench/scale.json. Not part of `make test`.
SCALE_DB ?= .bench-scale
bench-scale: install
	$(BIN)/python -m benchmarks.scale --keep $(SCALE_DB)

clean:
	rm -rf $(VENV) .ci/node_modules governance/tools/node_modules .pytest_cache .mypy_cache .ruff_cache lumen.db lumen.db-shm lumen.db-wal
