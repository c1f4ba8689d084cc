# Vprime: `make dev` brings the whole system up with a demo; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen

.DEFAULT_GOAL := help
.PHONY: help install system-deps infra-up infra-down up down dev demo status test test-unit bench bench-router reliability asyncapi clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

system-deps: ## JDK and Maven (local Kafka), Chromium (dashboard tests), Node.js (the chain's tools): installed with apt-get when missing and allowed
	@missing=""; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jdk-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "[vprime] installing$$missing (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "[vprime] error: missing$$missing (the local Kafka needs a JDK 17+ and Maven; the dashboard tests need Chromium; the chain tools need Node.js)" >&2; exit 1; \
	  fi; \
	fi

install: system-deps ## install uv (if missing), the locked Python dependencies (.venv) and the chain tools (npm)
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	@$(UV) sync --frozen --quiet
	@command -v npm >/dev/null || { echo "[vprime] error: npm (Node.js) is missing: the local chain's tools come from npm" >&2; exit 1; }
	@if [ ! -f chain/node_modules/.package-lock.json ] || ! cmp -s chain/package-lock.json chain/node_modules/.vprime-lock; then \
	  echo "[vprime] installing the local chain's tools (anvil, solc, Uniswap V3 artifacts: npm ci in chain/)"; \
	  npm ci --prefix chain --legacy-peer-deps --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null && \
	  cp chain/package-lock.json chain/node_modules/.vprime-lock; \
	fi
	@if [ ! -f services/query/web/node_modules/.package-lock.json ] || ! cmp -s services/query/web/package-lock.json services/query/web/node_modules/.vprime-lock; then \
	  echo "[vprime] installing the web app's charting library (uPlot: npm ci in services/query/web/)"; \
	  npm ci --prefix services/query/web --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null && \
	  cp services/query/web/package-lock.json services/query/web/node_modules/.vprime-lock; \
	fi

infra-up: install ## start Kafka (KRaft) and Postgres on loopback
	@$(RUN) python -m vprime_local infra-up

infra-down: install ## stop Kafka and Postgres (data is kept in .vprime/)
	@$(RUN) python -m vprime_local infra-down

up: install ## start infra and every service in the background, wait until healthy
	@$(RUN) python -m vprime_local up

down: install ## stop every service, then the infra
	@$(RUN) python -m vprime_local down

dev: install ## up + load a short demo (agent, deployment, signals) and print where to look
	@$(RUN) python -m vprime_local dev

demo: install ## load the demo into a running system
	@$(RUN) python -m vprime_local demo

status: install ## what is running
	@$(RUN) python -m vprime_local status

test: install ## every test: unit, then integration and end to end on real Kafka and Postgres
	@$(RUN) pytest

test-unit: install ## unit tests only (no infrastructure)
	@$(RUN) pytest shared services

reliability: install ## stream signals while killing services, Kafka and Postgres; report lost and duplicated (RELIABILITY_SIGNALS=2000)
	@$(RUN) python -m vprime_local.reliability

bench: install ## end-to-end latency at fixed rates, throughput, stop reaction, router, bare-Kafka ceiling, scaling (BENCH_RUNS=1)
	@$(RUN) python -m vprime_local.bench

bench-router: install ## in-process routing decision latency (p50/p99) over full catalogs, both strategies
	@$(RUN) python services/router/bench/decision_latency.py

asyncapi: install ## write each service's AsyncAPI document to docs/asyncapi/
	@mkdir -p docs/asyncapi
	@for s in control signal policy router executor query; do \
	  $(RUN) python -c "import json, vprime_$$s.app as a; print(json.dumps(a.runtime.asyncapi(), indent=2))" > docs/asyncapi/$$s.json; \
	done; echo "[vprime] wrote docs/asyncapi/*.json"

clean: down ## stop everything and delete local state (.vprime/)
	rm -rf .vprime
