# Pôles 2.0: the two commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
LOCAL := deploy/local

.PHONY: help setup up down demo test lint unit status topics

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: ## install what is missing (virtualenv, Kafka jars, FerretDB binary, kcat, prometheus)
	@$(LOCAL)/setup.sh

up: setup ## start Kafka, the document store and the four services in the background
	@$(LOCAL)/kafka.sh start
	@$(LOCAL)/ferretdb.sh start
	@$(PY) -m shared.topics create
	@$(LOCAL)/services.sh start

down: ## stop the services, the document store and Kafka
	@$(LOCAL)/services.sh stop
	@$(LOCAL)/ferretdb.sh stop
	@$(LOCAL)/kafka.sh stop

status: ## say what runs
	@$(LOCAL)/kafka.sh status || true
	@$(LOCAL)/ferretdb.sh status || true
	@$(LOCAL)/services.sh status || true

demo: up ## bring the platform up and run its main job
	@$(LOCAL)/where.sh

lint: setup ## ruff and mypy (strict)
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy shared services tests

unit: setup ## the fast tests only (no servers)
	@.venv/bin/pytest -q -m "not integration and not e2e"

test: setup ## install everything, start the test servers, run the whole suite, stop them
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy shared services tests
	@$(LOCAL)/test-stack.sh .venv/bin/pytest -q
