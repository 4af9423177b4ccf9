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
TEST_ENV := PAYSTREAM_RUN_DIR=$(REPO)/.run/test PAYSTREAM_KAFKA_PORT=29092 \
	PAYSTREAM_KAFKA_CONTROLLER_PORT=29093 PAYSTREAM_PG_PORT=25432 \
	PAYSTREAM_STRIPE_MOCK_PORT=22111 PAYSTREAM_STRIPE_MOCK_HTTPS_PORT=22112 \
	PAYSTREAM_PORT_BASE=18000
BENCH_ENV := PAYSTREAM_RUN_DIR=$(REPO)/.run/bench PAYSTREAM_KAFKA_PORT=39092 \
	PAYSTREAM_KAFKA_CONTROLLER_PORT=39093 PAYSTREAM_PG_PORT=35432 \
	PAYSTREAM_STRIPE_MOCK_PORT=32111 PAYSTREAM_STRIPE_MOCK_HTTPS_PORT=32112 \
	PAYSTREAM_PORT_BASE=28000

PY_SRC := shared/src devtools/src cli/src services/checkout/src services/webhook-ingest/src \
	services/ledger/src services/invoicing/src

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv $(REPO)/.run/tools/uv-$(UV_VERSION)
	$(REPO)/.run/tools/uv-$(UV_VERSION)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.run/.synced: $(UV) uv.lock pyproject.toml shared/pyproject.toml devtools/pyproject.toml cli/pyproject.toml $(wildcard services/*/pyproject.toml)
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
run: bootstrap ## the whole stack on ports 8001-8004; Ctrl-C stops everything it started
	$(WITH_INFRA) $(UV) run python -m paystream.devtools.stack

.PHONY: demo
demo: bootstrap ## with `make run` up: buy `standard` and pay it (METHOD=..., REFUND=30.00|all)
	eval "$$(deploy/local/infra.sh env)" && $(UV) run python -m paystream.devtools.demo \
		--method $(or $(METHOD),stripe_checkout) $(if $(REFUND),--refund $(REFUND)) \
		$(if $(CURRENCY),--currency $(CURRENCY))

.PHONY: test
test: lint ## unit, integration and end-to-end tests on real Kafka/PostgreSQL/stripe-mock
	$(TEST_ENV) $(WITH_INFRA) $(UV) run pytest $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: bootstrap ## unit tests only (no infrastructure)
	$(UV) run pytest -m "not integration and not e2e" $(PYTEST_ARGS)

.PHONY: bench
bench: bootstrap ## benchmarks; prints figures and writes docs/benchmarks.md
	@# Every run starts from empty Kafka and PostgreSQL, so no earlier backlog skews the figures.
	$(BENCH_ENV) deploy/local/infra.sh down --wipe
	$(BENCH_ENV) $(WITH_INFRA) $(UV) run python -m paystream.devtools.bench $(BENCH_ARGS)

.PHONY: clean
clean: ## stop every environment and delete .run/ (keeps the download caches)
	-deploy/local/infra.sh down
	-$(TEST_ENV) deploy/local/infra.sh down
	-$(BENCH_ENV) deploy/local/infra.sh down
	rm -rf .run
