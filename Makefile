# exhunt developer commands. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= build/demo
SIZE ?= 1024
JOBS ?= auto

SHELLS ?=
BENIGN ?=
N ?= 1000

.PHONY: demo test lint bench bench-webshells bench-fleet venv clean

$(BIN)/exhunt: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/exhunt

venv: $(BIN)/exhunt

## Write two example servers (one clean, one compromised) and scan both.
demo: $(BIN)/exhunt
	$(BIN)/python -m exhunt.testing.demo $(DEMO_DIR)
	@echo "== exhunt scan $(DEMO_DIR)/clean-server"
	@$(BIN)/exhunt scan $(DEMO_DIR)/clean-server
	@echo "== exhunt scan $(DEMO_DIR)/compromised-server   (exit code 3: high findings)"
	@$(BIN)/exhunt scan $(DEMO_DIR)/compromised-server || [ $$? -eq 3 ]

## The whole test suite.
test: $(BIN)/exhunt
	$(BIN)/python -m pytest -n $(JOBS) tests

lint: $(BIN)/exhunt
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## Speed: logs against ripgrep (SIZE MB), files against bare yara-x, EVTX against a
## SQLite Sigma evaluation and the bare parser.
bench: $(BIN)/exhunt
	$(BIN)/python bench/bench_logs.py --size-mb $(SIZE)
	$(BIN)/python bench/bench_files.py
	$(BIN)/python bench/bench_evtx.py

## Fleet speed: N small servers into one store, 1 against 2 Dask workers: make bench-fleet N=<servers>
bench-fleet: $(BIN)/exhunt
	$(BIN)/python bench/bench_fleet.py --servers $(N)

## Web shell detection quality: make bench-webshells SHELLS=<dir> BENIGN=<dir>
bench-webshells: $(BIN)/exhunt
	SHELLS="$(SHELLS)" BENIGN="$(BENIGN)" $(BIN)/python bench/bench_webshells.py

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
