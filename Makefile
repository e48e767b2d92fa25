# The two commands of the README: `make run` and `make test`. Both set up everything they need.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv run test test-postgres lint browser-deps

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

venv: $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"

browser-deps: venv
	scripts/install-browser-deps
	scripts/install-perf-deps

run: venv
	scripts/run-demo

test: venv browser-deps
	$(BIN)/pytest

test-postgres: venv browser-deps
	scripts/test-postgres

lint: venv
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
