# precert: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEV    := $(VENV)/.dev-installed

.PHONY: run test lint bench fuzz clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

$(DEV): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

## run: install, migrate the SQLite database under var/, load demo data if empty, serve app + sandbox payer
run: $(STAMP)
	$(VENV)/bin/precert run

## test: install dev dependencies, lint, type-check and run the whole suite
test: $(DEV)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy src
	$(VENV)/bin/pytest -n 2 --dist loadgroup

lint: $(DEV)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy src

## bench: run every benchmark in bench/; each prints absolute figures and a ratio to a peer
bench: $(DEV)
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

## fuzz: the property-based fuzzers at full strength (100,000 cases each)
fuzz: $(DEV)
	PRECERT_FUZZ_CASES=100000 $(VENV)/bin/pytest -m fuzz -p no:randomly

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
