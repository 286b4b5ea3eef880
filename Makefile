# greenstream: `make demo` runs the main job, `make test` runs every test.
# Each target installs what it needs into .venv from pyproject.toml + uv.lock (uv is bootstrapped
# with pip when the machine has none).
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen
DEMO := out/demo
DEMO_SHIPMENTS ?= 120000

.PHONY: demo test lint bench sync pyc clean web browser report-deps

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

# Reports: Chinese PDFs need a CJK font (else Chinese renders as empty boxes) and the report
# tests read PDFs with poppler-utils (pdftotext, pdftoppm). Both from Debian, installed when absent.
report-deps:
	@if ! ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 \
	    || ! command -v pdftotext >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q fonts-noto-cjk poppler-utils >/dev/null 2>&1 \
	    || { apt-get update -q >/dev/null && apt-get install -y -q fonts-noto-cjk poppler-utils >/dev/null; }; \
	fi

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

# The dashboard's browser tests (tests/e2e) drive Debian's Chromium (Playwright cannot download
# a browser here); fonts-noto-cjk lets it draw Chinese place names.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

# --dist loadgroup: the browser tests (xdist_group "browser") run on one worker, so the session
# starts one demo server and one Chromium for all of them
test: pyc lint browser report-deps
	$(RUN) pytest -q -n 2 --dist loadgroup

# Rebuild the dashboard bundle (src/greenstream/web/dist, committed) from web/ with the npm
# packages of web/package-lock.json and the basemap layers of tools/build_basemap.py.
web: .venv/.synced
	cd web && npm ci --no-audit --no-fund
	$(RUN) python tools/build_basemap.py
	cd web && npx vite build

bench: pyc report-deps browser
	$(RUN) python bench/run.py

clean:
	rm -rf out bench/data bench/results.json .pytest_cache .mypy_cache .ruff_cache
