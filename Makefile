# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint unit integration bench clean compose-plugin

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Run the main job: local broker (unless KAFKA_BOOTSTRAP_SERVERS is set), workers, the example.
demo: install
	$(BIN)/codegen demo examples

## Run the whole test suite: lint, types, unit and integration tests (starts the broker it needs).
test: install lint compose-plugin
	$(BIN)/pytest

# `docker compose config` checks docker-compose.yml wherever a docker client is installed.
compose-plugin:
	bash scripts/install-compose.sh

lint: install
	$(BIN)/ruff check pipeline tests bench
	$(BIN)/mypy
	$(BIN)/codegen catalogue render --check

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .codegen output .pytest_cache .mypy_cache .ruff_cache
