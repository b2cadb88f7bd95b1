# `make serve` and `make test` set up .venv themselves on a fresh machine (Python 3.11+).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export MNIST_PATH ?= $(wildcard ../shared/data/mnist.npz)

.PHONY: serve test test-fast lint format bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

serve: $(VENV)/.installed
	$(VENV)/bin/dcgan-serve

# Everything: lint, unit tests, and the slow layer (trainer processes, servers, the browser).
test: lint
	$(PY) -m pytest

# The unit layer only: no trainer, server or browser process (under a minute).
test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not slow"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.installed
	$(PY) benchmarks/train_speed.py
	$(PY) benchmarks/serve_load.py
	$(PY) benchmarks/overload.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
