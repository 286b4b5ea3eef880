# greenstream: `make demo` runs the main job, `make test` runs every test.
# Each target installs what it needs into .venv from pyproject.toml + uv.lock (uv is bootstrapped
# with pip when the machine has none).
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen
DEMO := out/demo
DEMO_SHIPMENTS ?= 120000

.PHONY: demo test lint bench sync clean

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen
	@touch $@

sync: .venv/.synced

demo: .venv/.synced
	$(RUN) greenstream synth --out $(DEMO) --shipments $(DEMO_SHIPMENTS) --seed 11
	$(RUN) greenstream footprint $(DEMO)/legs.parquet --tocs $(DEMO)/tocs.parquet \
	  --hocs $(DEMO)/hocs.parquet --trips $(DEMO)/trips.parquet \
	  -o $(DEMO)/footprints.parquet --shipments $(DEMO)/shipments.parquet
	$(RUN) greenstream explain $(DEMO)/legs.parquet --tocs $(DEMO)/tocs.parquet \
	  --hocs $(DEMO)/hocs.parquet --trips $(DEMO)/trips.parquet --shipment P00000001

lint: .venv/.synced
	$(RUN) ruff check src tests bench tools
	$(RUN) ruff format --check src tests bench tools
	$(RUN) mypy

test: .venv/.synced lint
	$(RUN) pytest -q -n 2

bench: .venv/.synced
	$(RUN) python bench/run.py

clean:
	rm -rf out bench/data bench/results.json .pytest_cache .mypy_cache .ruff_cache
