# cloudpos — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := src/cloudpos/web/static/vendor
export CLOUDPOS_PORT ?= 8000

.PHONY: demo test install install-dev assets browser lint bench clean

## make demo: install everything, migrate the embedded SQLite database, seed the demo merchant, serve.
demo: install assets
	$(BIN)/cloudpos migrate
	$(BIN)/cloudpos demo seed
	$(BIN)/cloudpos serve

## make test: install what the tests need and run the whole suite on SQLite and PostgreSQL.
test: install-dev assets browser
	$(BIN)/ruff check .
	$(BIN)/python tests/pgcheck.py
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps --no-build-isolation -e . 2>/dev/null || $(BIN)/pip install -q --no-deps -e .

install-dev: install
	$(BIN)/pip install -q -r requirements-dev.txt

## Front-end libraries come from npm (pinned in package.json / package-lock.json) into the static folder.
assets:
	@if [ ! -d node_modules/htmx.org ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
		npm ci --no-audit --no-fund --loglevel=error; fi
	@mkdir -p $(VENDOR)/bootstrap $(VENDOR)/bootstrap-icons
	@cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	@cp node_modules/alpinejs/dist/cdn.min.js $(VENDOR)/alpine.min.js
	@cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	@cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/js/bootstrap.bundle.min.js $(VENDOR)/bootstrap/
	@cp -r node_modules/bootstrap-icons/font/bootstrap-icons.min.css node_modules/bootstrap-icons/font/fonts $(VENDOR)/bootstrap-icons/

## Debian's Chromium drives the browser tests (Playwright's own browser download does not work here).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium for browser tests..."; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "WARNING: could not install chromium; browser tests will be skipped"; fi
	@# Without a CJK font every Chinese string in a screenshot is a row of empty boxes.
	@if command -v fc-list >/dev/null && [ -z "$$(fc-list :lang=zh)" ]; then \
		echo "Installing a Chinese font for browser screenshots..."; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null) \
		|| echo "WARNING: could not install fonts-wqy-microhei; Chinese text in screenshots shows as boxes"; fi

lint: install-dev
	$(BIN)/ruff check .

bench: install-dev
	$(BIN)/python bench/foundation_bench.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR)
