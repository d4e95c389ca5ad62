# Two commands on a fresh clone: `make demo` and `make test`. Both create .venv as needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= demo.duckdb

.PHONY: demo test lint bench install clean rules-test

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python >= 3.11) on PATH, or set PYTHON=..."; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -f $(DEMO_DB)
	$(BIN)/signals --db $(DEMO_DB) extract data/sample/wallstreetcn-2026-01-29.xml --format table
	$(BIN)/signals --db $(DEMO_DB) prices load data/sample/prices/
	$(BIN)/signals --db $(DEMO_DB) backtest --window 5d --offline --format table --plot demo-car.png

test: $(STAMP)
	$(BIN)/python -m pytest -q

rules-test: $(STAMP)
	$(BIN)/signals rules test

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(DEMO_DB) .pytest_cache .hypothesis
