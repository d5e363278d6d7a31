# Maillage — the two commands: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
export PYTHONPATH := $(CURDIR)/src

.PHONY: demo test install chromium lint bench serve load clean lock

# Dependencies come from requirements.lock: every package pinned and its hash checked. After a
# change to pyproject.toml's dependencies, refresh it with `make lock`.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet --require-hashes -r requirements.lock
	$(PIP) install --quiet --no-deps -e .
	touch $(STAMP)

lock:
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet pip-tools
	.lock-venv/bin/pip-compile --quiet --generate-hashes --extra dev --strip-extras \
		--allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

install: $(STAMP)

# Browser tests drive Debian's chromium (no browser download at run time).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; \
	fi

demo: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_reference
	$(PY) manage.py load_demo --seed 1
	$(PY) manage.py load_demo_marketplace --seed 1
	$(PY) manage.py detect_synergies
	$(PY) manage.py build_boundaries
	$(PY) manage.py demo_logins
	@echo "Processus de calcul (détections lancées depuis le web) : journal dans var/worker.log"
	$(PY) manage.py db_worker > var/worker.log 2>&1 & \
	trap 'kill $$!' EXIT INT TERM; \
	$(PY) manage.py runserver --insecure 127.0.0.1:8000

# Production processes: gunicorn + WhiteNoise + task workers (docs/operations.md).
serve: $(STAMP)
	PY=$(PY) bin/serve

# The suite runs in TEST_WORKERS processes (pytest-xdist), each with its own test database.
TEST_WORKERS ?= 2
test: $(STAMP) chromium
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	MAILLAGE_STRICT_TEMPLATES=1 $(VENV)/bin/pytest -q -n $(TEST_WORKERS)

lint: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Benchmarks are not tests: they print figures for docs/benchmarks.md.
bench: $(STAMP)
	$(PY) bench/engine.py
	$(PY) bench/quality.py
	$(PY) bench/postgis.py
	$(PY) bench/consortia.py
	$(PY) bench/marketplace_quality.py
	$(PY) bench/meetings.py
	$(PY) bench/sirene.py
	$(PY) bench/api.py
	$(PY) bench/pages.py

# Load, fault and robustness benches on PostgreSQL (minutes each; figures in docs/benchmarks.md).
load: $(STAMP)
	$(PY) bench/load.py
	$(PY) bench/faults_pg.py
	$(PY) bench/bad_input.py

clean:
	rm -rf $(VENV) .lock-venv var .pytest_cache .ruff_cache .mypy_cache
