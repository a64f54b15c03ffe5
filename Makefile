# Ghost ID Analytics API — developer commands. `make serve` runs the product locally; `make test` tests it all.
SHELL := /bin/bash
PY312 := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12.*/bin/python3.12) $(shell command -v python3.12 2>/dev/null) $(shell command -v python3))
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 3000
DDB_PORT ?= 8000
export PORT DDB_PORT

.PHONY: setup web serve test test-unit test-integration lint format bench bench-scale validate build deploy deploy-web clean routes

setup: $(VENV)/.installed node_modules/.installed ## create .venv and install Python and npm dependencies

$(VENV)/.installed: pyproject.toml
	@command -v java >/dev/null || { echo "Java 17 is needed for DynamoDB Local: apt-get install -y openjdk-17-jre-headless"; exit 1; }
	@[ -x $(PY) ] || $(PY312) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/build.mjs

web: web/dist/index.html ## build the dashboard (web/) into web/dist when its sources changed

web/dist/index.html: node_modules/.installed $(WEB_SOURCES)
	node web/build.mjs

routes: setup ## write layers/shared/ghostid/api_routes.json from template.yaml (the $default function's 405s)
	$(PY) -m ghostid_local.routes

serve: setup web routes ## run the whole stack on http://127.0.0.1:$(PORT) (DynamoDB Local on $(DDB_PORT) unless DDB_ENDPOINT is set)
	$(PY) -m ghostid_local.serve

test: setup web ## every test: unit (moto, in-process) and integration (DynamoDB Local, stream consumer, HTTP gateway)
	$(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadfile

test-unit: setup
	$(PY) -m pytest -q tests/unit

test-integration: setup web
	$(PY) -m pytest -q tests/integration

lint: setup ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/shared/ghostid local/ghostid_local functions tests bench web/dev

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup ## cost of every read route and of ingest on small, 200k-event and ingest sites, and the peers; writes bench/results.json
	$(PY) -m bench.run

bench-scale: setup ## the same on a 10M-event site loaded in bulk (about 30 min of CPU); merges its keys into bench/results.json
	$(PY) -m bench.scale

validate: ## sam validate --lint (SAM CLI lives in its own .venv-sam)
	bash scripts/sam.sh validate --lint

build: routes ## sam build (python3.12, arm64 layer)
	bash scripts/sam.sh build

deploy: build ## deploy to prod (use `bash scripts/sam.sh deploy --config-env dev` for dev)
	bash scripts/sam.sh deploy --config-env prod

deploy-web: web ## upload web/dist to a deployed stack's bucket (STACK=ghostid-analytics-prod by default)
	bash scripts/deploy_web.sh $(STACK)

clean:
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache web/dist
