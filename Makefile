# Pôles 2.0: the two commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
LOCAL := deploy/local

.PHONY: help setup up down demo bench chaos test lint unit status

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: ## install what is missing (virtualenv, Kafka jars, FerretDB binary, kcat, prometheus)
	@$(LOCAL)/setup.sh

up: setup ## start Kafka (KAFKA_BROKERS=3: three brokers), the store, the services, Prometheus, Jaeger
	@$(LOCAL)/kafka.sh start
	@$(LOCAL)/ferretdb.sh start
	@$(LOCAL)/jaeger.sh start || echo "jaeger: did not start; the services run without traces"
	@$(PY) -m shared.topics create --bootstrap "$$($(LOCAL)/kafka.sh bootstrap)"
	@$(LOCAL)/services.sh start
	@$(LOCAL)/prometheus.sh start

down: ## stop Prometheus, the services, Jaeger, the document store and Kafka
	@$(LOCAL)/prometheus.sh stop
	@$(LOCAL)/services.sh stop
	@$(LOCAL)/jaeger.sh stop
	@$(LOCAL)/ferretdb.sh stop
	@$(LOCAL)/kafka.sh stop

status: ## say what runs
	@$(LOCAL)/kafka.sh status || true
	@$(LOCAL)/ferretdb.sh status || true
	@$(LOCAL)/services.sh status || true
	@$(LOCAL)/prometheus.sh status || true
	@$(LOCAL)/jaeger.sh status || true

demo: setup ## start the platform, replay phase 2 (2008-2012) from outside, report, leave it running
	@$(PY) -m tests.story

bench: setup ## end-to-end benchmark against raw Kafka on its own stack (prints a table; never fails on time)
	@$(PY) -m tests.bench

chaos: setup ## kill services, brokers (of three) and the store under load; nothing lost or doubled
	@$(PY) -m tests.chaos --brokers $${KAFKA_BROKERS:-3}

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
