# `make test` and `make demo` build their own virtual environment on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "jixiao needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/jixiao demo -o demo-out

# make bench                      the full run (N = 100, 1,000, 3,000 and the large unit)
# make bench ARGS=--quick         N = 100 and the large unit
# make bench ARGS="--profile 1000"  cProfile + pyinstrument of check and merge at N = 1,000
bench: $(STAMP)
	$(BIN)/python -c 'import pyinstrument' 2>/dev/null || $(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/run.py $(ARGS)

clean:
	rm -rf $(VENV) demo-out .pytest_cache
