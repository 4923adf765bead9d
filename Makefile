# autodl_solver — set-up, demo and tests. Everything runs from a local .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
# Debian packages the tests and benchmarks use (installed when missing and apt-get exists).
APT_PACKAGES := espeak-ng sox fortune-mod fortunes fortunes-min fortunes-de fortunes-es fortunes-it fortunes-br fortunes-pl fortunes-ru fortunes-cs

.PHONY: setup demo lint test test-fast bench-tabular clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements.lock pyproject.toml
	@if [ -n "$(APT_PACKAGES)" ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; fi; fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -r requirements.txt -r requirements-dev.txt -c requirements.lock
	$(PIP) install -q --no-deps -e .
	touch $(STAMP)

# Build a small real dataset (sklearn's breast cancer data, shipped inside scikit-learn) in AutoDL format,
# run the solver on it through ingestion + scoring, print the ALC, write the learning-curve PNG and HTML report.
demo: setup
	$(VENV)/bin/autodl-solver demo --output_dir demo_output

# ruff, then mypy on the public API (both pinned in requirements-dev.txt and configured in pyproject.toml:
# mypy checks the `files` of [tool.mypy]); make test runs it first, so a violation or type error fails CI.
lint: setup
	$(VENV)/bin/ruff check autodl_solver benchmarks tests
	$(VENV)/bin/mypy

test: setup lint
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

clean:
	rm -rf demo_output .pytest_cache
