# paystream: two commands on a fresh machine, `make run` and `make test`.
# Everything installs itself idempotently into git-ignored .run/ (downloads cached in ~/.m2,
# the Go module cache and uv's cache), and each target stops what it started.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

REPO := $(CURDIR)
UV_VERSION := 0.13.9
UV := $(REPO)/.run/tools/uv-$(UV_VERSION)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system

WITH_INFRA := scripts/with-infra.sh

# The test and bench environments get their own run dirs and ports, so they run beside `make run`.
# TEST_SLOT=N (default 0) moves the test environment to its own run dir and ports, so several
# checkouts of the repository (git worktrees) can run `make test` on one machine at once.
TEST_SLOT ?= 0
TEST_RUN_DIR := $(REPO)/.run/test$(if $(filter-out 0,$(TEST_SLOT)),-$(TEST_SLOT))
TEST_ENV := PAYSTREAM_RUN_DIR=$(TEST_RUN_DIR) \
	PAYSTREAM_KAFKA_PORT=$(shell echo $$((29092 + 100 * $(TEST_SLOT)))) \
	PAYSTREAM_KAFKA_CONTROLLER_PORT=$(shell echo $$((29093 + 100 * $(TEST_SLOT)))) \
	PAYSTREAM_PG_PORT=$(shell echo $$((25432 + 100 * $(TEST_SLOT)))) \
	PAYSTREAM_STRIPE_MOCK_PORT=$(shell echo $$((16111 + 100 * $(TEST_SLOT)))) \
	PAYSTREAM_STRIPE_MOCK_HTTPS_PORT=$(shell echo $$((16112 + 100 * $(TEST_SLOT)))) \
	PAYSTREAM_PORT_BASE=$(shell echo $$((18000 + 1000 * $(TEST_SLOT))))
# BENCH_SLOT=N does the same for `make bench` (figures are only comparable on a quiet machine).
BENCH_SLOT ?= 0
BENCH_ENV := PAYSTREAM_RUN_DIR=$(REPO)/.run/bench$(if $(filter-out 0,$(BENCH_SLOT)),-$(BENCH_SLOT)) \
	PAYSTREAM_KAFKA_PORT=$(shell echo $$((39092 + 100 * $(BENCH_SLOT)))) \
	PAYSTREAM_KAFKA_CONTROLLER_PORT=$(shell echo $$((39093 + 100 * $(BENCH_SLOT)))) \
	PAYSTREAM_PG_PORT=$(shell echo $$((35432 + 100 * $(BENCH_SLOT)))) \
	PAYSTREAM_STRIPE_MOCK_PORT=$(shell echo $$((32111 + 100 * $(BENCH_SLOT)))) \
	PAYSTREAM_STRIPE_MOCK_HTTPS_PORT=$(shell echo $$((32112 + 100 * $(BENCH_SLOT)))) \
	PAYSTREAM_PORT_BASE=$(shell echo $$((28000 + 1000 * $(BENCH_SLOT))))

PY_SRC := shared/src notifications/src devtools/src cli/src services/checkout/src \
	services/webhook-ingest/src services/ledger/src services/invoicing/src web/src \
	clients/python/src

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv $(REPO)/.run/tools/uv-$(UV_VERSION)
	$(REPO)/.run/tools/uv-$(UV_VERSION)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.run/.synced: $(UV) uv.lock pyproject.toml shared/pyproject.toml notifications/pyproject.toml devtools/pyproject.toml cli/pyproject.toml $(wildcard services/*/pyproject.toml) clients/python/pyproject.toml web/pyproject.toml
	$(UV) sync --frozen --all-packages
	@touch $@

.PHONY: bootstrap
bootstrap: .run/.synced ## install uv and the Python workspace (idempotent)

.PHONY: lint
lint: bootstrap ## ruff (lint + format check) and mypy --strict
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy $(PY_SRC)

.PHONY: infra-up
infra-up: ## start Kafka, PostgreSQL and stripe-mock for `make run` (.run/dev)
	deploy/local/infra.sh up

.PHONY: infra-down
infra-down: ## stop them
	deploy/local/infra.sh down

.PHONY: infra-status
infra-status:
	deploy/local/infra.sh status

.PHONY: run
run: bootstrap ## the web app on 8000 and the services on 8001-8004; Ctrl-C stops everything it started
	deploy/local/desktop.sh fonts
	$(WITH_INFRA) $(UV) run python -m paystream.devtools.stack

.PHONY: demo
demo: bootstrap ## with `make run` up: buy `standard` and pay it (METHOD=..., REFUND=30.00|all, QUANTITY=20, PLAN=pro)
	eval "$$(deploy/local/infra.sh env)" && $(UV) run python -m paystream.devtools.demo \
		--method $(or $(METHOD),stripe_checkout) $(if $(REFUND),--refund $(REFUND)) \
		$(if $(CURRENCY),--currency $(CURRENCY)) $(if $(QUANTITY),--quantity $(QUANTITY)) \
		$(if $(PLAN),--plan $(PLAN))

.PHONY: test
test: lint ## unit, integration, end-to-end and browser tests on real Kafka/PostgreSQL/stripe-mock/Chromium
	deploy/local/desktop.sh fonts browser
	deploy/local/tools.sh install
	eval "$$(deploy/local/tools.sh env)" && $(TEST_ENV) PAYSTREAM_TEST_CONTAINERS=auto \
		$(WITH_INFRA) $(UV) run pytest $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: bootstrap ## unit tests only (no infrastructure)
	$(UV) run pytest -m "not integration and not e2e" $(PYTEST_ARGS)

.PHONY: screenshots
screenshots: bootstrap ## with the test infrastructure: drive the web app in Chromium, write docs/screenshots/
	deploy/local/desktop.sh fonts browser pdftools
	$(TEST_ENV) $(WITH_INFRA) $(UV) run python -m paystream.devtools.screenshots docs/screenshots

.PHONY: bench
bench: bootstrap ## benchmarks; prints figures and writes docs/benchmarks.md
	@# Every run starts from empty Kafka and PostgreSQL, so no earlier backlog skews the figures.
	$(BENCH_ENV) deploy/local/infra.sh down --wipe
	$(BENCH_ENV) $(WITH_INFRA) $(UV) run python -m paystream.devtools.bench $(BENCH_ARGS)

.PHONY: asyncapi
asyncapi: bootstrap ## the services' AsyncAPI documents, generated from their consumers and publishers
	$(UV) run python -m paystream.devtools.asyncapi

.PHONY: openapi
openapi: bootstrap ## docs/api/<service>.json from the services' routes, and the client generated from them (clients/python)
	$(UV) run python -m paystream.devtools.openapi

.PHONY: env-example
env-example: bootstrap ## .env.example: every setting with its meaning, from the settings classes
	$(UV) run python -m paystream.devtools.envfile

.PHONY: clean
clean: ## stop every environment and delete .run/ (keeps the download caches)
	-deploy/local/infra.sh down
	-$(TEST_ENV) deploy/local/infra.sh down
	-$(BENCH_ENV) deploy/local/infra.sh down
	rm -rf .run
