# weijian: `make run` serves the demo county, `make test` runs the whole suite on SQLite and PostgreSQL.
PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
ASSETS    := src/weijian/static/vendor/.built
DEMO_RESIDENTS ?= 40000
DEMO_SEED ?= 1
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench setup assets system-deps lock clean serve

run: setup
	$(BIN)/weijian db upgrade
	$(BIN)/weijian demo-data --residents $(DEMO_RESIDENTS) --seed $(DEMO_SEED) --if-empty
	$(BIN)/weijian demo-logins
	$(BIN)/weijian serve --host $(HOST) --port $(PORT)

test: setup system-deps
	$(BIN)/python scripts/run_tests.py

bench: setup system-deps
	$(BIN)/python bench/run_all.py

setup: $(STAMP) $(ASSETS)

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# ECharts and htmx come from the npm registry at set-up and are served from /static: no CDN at run time.
$(ASSETS): package.json package-lock.json scripts/build_assets.py
	npm ci --no-audit --no-fund --loglevel=error
	$(PY) scripts/build_assets.py
	touch $@

assets: $(ASSETS)

# PostgreSQL (second database engine of the suite) and Chromium (browser tests) from Debian's packages.
system-deps:
	sh scripts/ensure_system_deps.sh

lock:
	rm -rf /tmp/weijian-lock && $(PY) -m venv /tmp/weijian-lock
	/tmp/weijian-lock/bin/pip install --quiet . && /tmp/weijian-lock/bin/pip freeze | grep -v '^weijian' > /tmp/weijian-rt.txt
	/tmp/weijian-lock/bin/pip install --quiet '.[dev]' && /tmp/weijian-lock/bin/pip freeze | grep -v '^weijian' > /tmp/weijian-all.txt
	{ echo "# Runtime pins (pip freeze of a clean install of pyproject.toml). Regenerate with: make lock"; cat /tmp/weijian-rt.txt; } > requirements.lock
	{ echo "# Test and benchmark tools, on top of requirements.lock. Regenerate with: make lock"; echo "-r requirements.lock"; comm -13 /tmp/weijian-rt.txt /tmp/weijian-all.txt; } > requirements-dev.lock

clean:
	rm -rf $(VENV) node_modules src/weijian/static/vendor
