# Two commands on a fresh machine: `make test` and `make demo`. Everything else builds on .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: help venv test test-fast demo check lint fmt typecheck regen check-generated check-facade audit bench bench-import clean

help:
	@echo "make test             set up .venv if needed, run the whole suite under coverage, print it"
	@echo "make demo             run the walk-through against a local sandbox"
	@echo "make check            lint, format check, mypy --strict, check-generated, check-facade, audit, tests"
	@echo "make regen            regenerate generated/cflow_openapi from openapi/cflow.yaml"
	@echo "make regen SPEC=path  take a new upstream document, regenerate, print the API change report"
	@echo "make check-generated  fail with a diff when generated/ is stale"
	@echo "make check-facade     fail, naming the methods, when the spec breaks openapi/facade.yaml"
	@echo "make bench            benchmark against raw aiohttp and raw httpx, and the sandbox"
	@echo "                      (BENCH_ARGS='--quick --only sandbox' for a short subset)"
	@echo "make bench-import     import ROWS (default 1000000) generated rows into a sandbox"
	@echo "                      (= make bench BENCH_ARGS='--only import --import-rows ROWS')"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,sandbox,aiohttp]'
	touch $(STAMP)

venv: $(STAMP)

# The suite under coverage.py (branch coverage of cflow_async, [tool.coverage] in
# pyproject.toml), then the total: the whole package, and without the sandbox server.
test: $(STAMP)
	@$(PY) -m coverage erase
	$(PY) -m coverage run -m pytest -q
	@$(PY) -m coverage combine -q
	@$(PY) -m coverage report
	@$(PY) -m coverage report --omit='cflow_async/sandbox/*' --format=total \
		| sed 's/^/cflow_async without sandbox\/: /; s/$$/%/'

demo: $(STAMP)
	$(PY) scripts/run_demo.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy cflow_async

regen: $(STAMP)
	$(PY) scripts/regen.py $(if $(SPEC),--spec "$(SPEC)")

check-generated: $(STAMP)
	bash scripts/check_generated.sh

check-facade: $(STAMP)
	$(PY) scripts/check_facade.py

audit: $(STAMP)
	$(PY) scripts/audit.py

check: lint typecheck check-generated check-facade audit test

# From the repository root, so `scripts.bench` imports without installing scripts/.
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m scripts.bench $(BENCH_ARGS)

# An alias of the bench's import section (issue 14), kept for the README's instructions.
ROWS ?= 1000000
bench-import: $(STAMP)
	$(PY) -m scripts.bench --only import --import-rows $(ROWS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist .coverage
