# Install order matters: CPU torch first, then torch-scatter built from source against it
# (--no-build-isolation, about 6 minutes on 2 cores, cached by pip afterwards), then mcts_crn in editable mode.
PYTHON ?= python3
VENV ?= .venv
# Pinned so that pip takes the CPU build; on a machine without a local CPU wheel, point
# PIP_EXTRA_INDEX_URL at PyTorch's CPU wheel index before `make install`.
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
EXAMPLE ?= michaelis_menten
TIME_LIMIT ?= 480
# fitting processes of the demo's search (this project's machines have 2 cores)
WORKERS ?= 2

.PHONY: install demo test test-all bench clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip setuptools wheel
	$(BIN)/python -m pip install "$(TORCH)"
	$(BIN)/python -m pip install --no-build-isolation torch-scatter
	$(BIN)/python -m pip install --no-build-isolation -e ".[dev]"
	touch $@

demo: install
	$(BIN)/python -m mcts_crn.search --example $(EXAMPLE) --time-limit $(TIME_LIMIT) --workers $(WORKERS)

test: install
	$(BIN)/python -m pytest -q

test-all: install
	$(BIN)/python -m pytest -q -m "slow or not slow"

bench: install
	$(BIN)/python experiments/bench_simulate.py

clean:
	rm -rf $(VENV) build *.egg-info
