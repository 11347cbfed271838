# One command per chore; CI runs `make test` through .ci/run.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_CORE := $(VENV)/.core-installed
STAMP_DEV := $(VENV)/.dev-installed
# Arize Phoenix, the OTLP receiver of the end-to-end test, in a venv of its own: its pins
# (anthropic<2 among them) must not constrain hakaru's. About 3.5 min and 850 MB here.
PHOENIX_VENV := .venv-phoenix
STAMP_PHOENIX := $(PHOENIX_VENV)/.phoenix-installed

.PHONY: demo test lint typecheck bench setup phoenix clean hbpo-repro neural-repro

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_CORE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev,train,ray]"
	touch $@ $(STAMP_CORE)

$(STAMP_PHOENIX):
	$(PY) -m venv $(PHOENIX_VENV)
	$(PHOENIX_VENV)/bin/python -m pip install -q "arize-phoenix>=20,<21"
	touch $@

setup: $(STAMP_DEV)

phoenix: $(STAMP_PHOENIX)

demo: $(STAMP_CORE)
	$(BIN)/hakaru demo

test: $(STAMP_DEV) $(STAMP_PHOENIX)
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

# The Chromium test of issue 21 on the 18-disk MAKER run's report (about 800,000 calls; 10-20
# min on two cores) instead of the 11-disk run that `make test` opens.
.PHONY: browser-18
browser-18: $(STAMP_DEV)
	HAKARU_BROWSER_DISKS=18 HAKARU_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -p no:cacheprovider \
		tests/report/test_report_browser.py -k big_runs -v

# The tiny neural models (a few minutes): experiments/neural/decomposition.{json,md,png}, voting.
neural-repro: $(STAMP_DEV)
	nice -n 19 $(BIN)/python experiments/neural/decomposition.py --runs 20
	nice -n 19 $(BIN)/python experiments/neural/voting.py --runs 40

clean:
	rm -rf $(VENV) $(PHOENIX_VENV) .hakaru build *.egg-info
