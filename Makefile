# greenstream: `make demo` runs the main job, `make test` runs every test.
# Each target installs what it needs into .venv from pyproject.toml + uv.lock (uv is bootstrapped
# with pip when the machine has none).
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen
DEMO := out/demo
DEMO_SHIPMENTS ?= 120000

.PHONY: demo test lint bench sync pyc clean

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --all-extras --compile-bytecode
	@touch $@

sync: .venv/.synced

# Byte-compile our own modules too (a no-op when they are up to date): where PYTHONDONTWRITEBYTECODE
# is set, every command would otherwise compile them again at import. With the dependencies
# compiled at sync, `import greenstream.cli` takes 1.1 s instead of 3.1 s on the CI machine.
pyc: .venv/.synced
	@$(RUN) python -m compileall -q src >/dev/null

demo: pyc
	$(RUN) greenstream synth --out $(DEMO) --shipments $(DEMO_SHIPMENTS) --seed 11
	$(RUN) greenstream energy demo-hocs --dir $(DEMO) --seed 11
	$(RUN) greenstream footprint $(DEMO)/legs.parquet --tocs $(DEMO)/tocs.parquet \
	  --hocs $(DEMO)/hocs.parquet --trips $(DEMO)/trips.parquet \
	  -o $(DEMO)/footprints.parquet --shipments $(DEMO)/shipments.parquet
	$(RUN) greenstream explain $(DEMO)/legs.parquet --tocs $(DEMO)/tocs.parquet \
	  --hocs $(DEMO)/hocs.parquet --trips $(DEMO)/trips.parquet --shipment P00000001

lint: .venv/.synced
	$(RUN) ruff check src tests bench tools
	$(RUN) ruff format --check src tests bench tools
	$(RUN) mypy

test: pyc lint
	$(RUN) pytest -q -n 2

bench: pyc
	$(RUN) python bench/run.py

clean:
	rm -rf out bench/data bench/results.json .pytest_cache .mypy_cache .ruff_cache
