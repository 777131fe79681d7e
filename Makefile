# Developer tasks. Everything runs from the virtualenv the README's test command creates
# (`make install` does the same set-up step by step).
PY := .venv/bin/python

.PHONY: install lint format type test test-fast check emulator dev

install:  ## the venv with the dev extra, and Chromium for the UI test
	python3 -m venv .venv
	.venv/bin/pip install -e '.[dev]'
	$(PY) -m hf_croissant_assets_tests.browser

lint:  ## ruff (pinned): lint rules and formatting, nothing changed
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:  ## apply ruff's formatting and safe fixes
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

type:  ## mypy on the package
	.venv/bin/mypy

test:  ## the whole suite (what CI runs after lint and type)
	$(PY) -m pytest

test-fast:  ## unit and definition tests only: no browser, no Node, no slow servers
	$(PY) -m pytest -m "not slow and not ui and not node"

check: lint type test  ## the quality gate of .ci/run

emulator:  ## the Hub emulator on 127.0.0.1:8080 (5,000 datasets)
	$(PY) -m hf_croissant_assets_tests.hub_emulator --datasets 5000 --port 8080

dev:  ## the Dagster UI on http://127.0.0.1:3000
	DAGSTER_HOME=$(CURDIR) .venv/bin/dagster dev
