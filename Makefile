# One command per chore; CI runs `make test` through .ci/run.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_CORE := $(VENV)/.core-installed
STAMP_DEV := $(VENV)/.dev-installed

.PHONY: demo test lint typecheck bench setup clean hbpo-repro

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_CORE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev,train,ray]"
	touch $@ $(STAMP_CORE)

setup: $(STAMP_DEV)

demo: $(STAMP_CORE)
	$(BIN)/hakaru demo

test: $(STAMP_DEV)
	$(BIN)/python -m pytest

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy

bench: $(STAMP_DEV)
	$(BIN)/python benchmarks/engine_overhead.py
	$(BIN)/python benchmarks/sim_throughput.py
	$(BIN)/python benchmarks/fit_accuracy.py
	$(BIN)/python benchmarks/proxy_overhead.py
	$(BIN)/python benchmarks/capture_overhead.py
	$(BIN)/python benchmarks/mdap_scale.py --disks 14
	$(BIN)/python benchmarks/ray_scaling.py

# The HBPO reproduction (about 30-55 min on two cores; resumable): results and plots are
# written to experiments/hbpo/ and committed.
hbpo-repro: $(STAMP_DEV)
	$(BIN)/python experiments/hbpo/run.py

clean:
	rm -rf $(VENV) .hakaru build *.egg-info
