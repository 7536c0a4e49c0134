# citybrain — the two set-up commands are `make demo` and `make test`; the rest are their parts.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
SCALE ?= small
SEED ?= 7
DEMO_DIR ?= demo
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: help demo test env uv system-deps npm-deps lint typecheck importcheck pytest test-cluster clean

help:
	@echo "make demo   build the environment, generate a $(SCALE) synthetic district, run the pipeline, serve the web app"
	@echo "make test   install everything the tests need (PyPI, npm, Debian) and run the whole suite"
	@echo "make test-cluster   the same city on a Spark standalone cluster + PostgreSQL as on DuckDB (about 4 min on a quiet machine)"

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		python3 -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Bytecode is compiled once at install: environments that set PYTHONDONTWRITEBYTECODE (this project's
# build machine does)
# would otherwise compile every imported library from source in every process — about 7 s of CPU
# for each test worker, CLI call and pipeline subprocess that imports the data stack.
env: uv
	$(UV) sync --frozen --compile-bytecode

system-deps:
	bash scripts/install-system-deps.sh

npm-deps:
	bash scripts/install-npm-deps.sh

lint: env
	$(UV) run ruff check src tests benchmarks
	$(UV) run ruff format --check src tests benchmarks

typecheck: env
	$(UV) run mypy

importcheck: env
	$(UV) run lint-imports

pytest: env
	bash scripts/run-tests.sh $(PYTEST_ARGS)

test: system-deps env npm-deps lint typecheck importcheck pytest

# The same city on a Spark standalone cluster + PostgreSQL as on DuckDB + SQLite (about 4 minutes quiet, 10+ under load)
test-cluster: system-deps env npm-deps
	PYTEST_MARK=cluster PYTEST_WORKERS=1 bash scripts/run-tests.sh $(PYTEST_ARGS)

demo: env npm-deps
	bash scripts/demo.sh "$(SCALE)" "$(SEED)" "$(DEMO_DIR)" "$(PORT)"

clean:
	rm -rf $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache test-artifacts
