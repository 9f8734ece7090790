# precert: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEV    := $(VENV)/.dev-installed

WHEEL  := build/wheel/.built
# The compiled codec is tested from the wheel's own files, unpacked here.
COMPILED := build/compiled

.PHONY: run test test-compiled wheel lint bench fuzz clean

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

## test: install dev dependencies, lint, type-check and run the whole suite (and the
## X12 suite again on the mypyc-compiled codec where a C compiler is present)
test: lint
	$(VENV)/bin/pytest -n 2 --dist loadgroup
	@if command -v cc >/dev/null 2>&1 || [ "$$CI" = true ]; then \
		$(MAKE) --no-print-directory test-compiled; \
	else echo "no C compiler: the mypyc-compiled codec was neither built nor tested"; fi

## test-compiled: the X12 tests against the compiled codec in the wheel
test-compiled: $(WHEEL)
	PYTHONPATH=$(COMPILED) PRECERT_EXPECT_COMPILED=1 $(VENV)/bin/pytest -n 2 -q \
		tests/unit/x12 tests/acceptance/test_x12_corpus.py

## wheel: build/wheel/precert-*.whl with the X12 codec compiled by mypyc (needs a C compiler)
wheel: $(WHEEL)

$(WHEEL): $(DEV) setup.py pyproject.toml $(shell find src/precert -type f -not -path '*/__pycache__/*')
	rm -rf build
	PRECERT_COMPILE=1 $(PY) -m pip wheel --quiet --no-build-isolation --no-deps -w build/wheel .
	$(PY) -m zipfile -e build/wheel/precert-*.whl $(COMPILED)
	@touch $@

lint: $(DEV)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy src

## bench: run every benchmark in bench/; each prints absolute figures and a ratio to a peer
## (bench/x12.py measures the pure and, when built, the compiled codec)
bench: $(DEV)
	-@command -v cc >/dev/null 2>&1 && $(MAKE) --no-print-directory wheel
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

## fuzz: the property-based fuzzers at full strength (100,000 cases each)
fuzz: $(DEV)
	PRECERT_FUZZ_CASES=100000 $(VENV)/bin/pytest -m fuzz -p no:randomly

clean:
	rm -rf $(VENV) var build .pytest_cache .mypy_cache .ruff_cache .hypothesis
