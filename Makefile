# Everything a fresh machine needs: `make demo` and `make test` create the
# virtual environment on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench bench-async clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/core.py
	$(BIN)/python bench/sqlite.py
	$(BIN)/python bench/postgres.py
	$(BIN)/python bench/async.py
	$(BIN)/python bench/worker.py
	$(BIN)/python bench/values.py
	$(BIN)/python bench/dashboard.py

bench-async: $(STAMP)
	$(BIN)/python bench/async.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache waku.db*
