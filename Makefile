# imagelint — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
TVENV := .venv-triton
BIN := $(VENV)/bin
MODEL := model_repository/image_encoder/1/model.onnx
PORT ?= 8000
# `make run` lets file:// URIs read this folder (where `make demo` writes its dataset).
IMAGELINT_DATA_ROOT ?= $(CURDIR)/demo-data
export IMAGELINT_DATA_ROOT
TRITON_GRPC_PORT ?= 8001
TRITON_HTTP_PORT ?= 8002
TRITON_METRICS_PORT ?= 8003
export TRITON_GRPC_PORT TRITON_HTTP_PORT TRITON_METRICS_PORT

.PHONY: FORCE setup run test unit integration lint bench demo model proto proto-breaking proto-snapshot clean fashion-mnist openapi-assets chromium compare-venv postgres

# --- environments --------------------------------------------------------------------------
$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q -e ".[dev,export]"
	$(BIN)/pip install -q -e clients/python
	touch $@

$(TVENV)/.installed: model_repository/requirements-triton.txt
	$(PY) -m venv $(TVENV)
	$(TVENV)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(TVENV)/bin/pip install -q -r model_repository/requirements-triton.txt
	touch $@

# --- model (a build output: rebuilt when missing, when the export script changes or when ENCODER
# names another variant) ----------------------------------------------------------------------
# ENCODER: the EfficientNet-Lite variant Triton serves as `image_encoder` — lite0 (default),
# lite1 or lite2 (measured in README "The encoder"). A non-default variant also gets its own
# embedding-cache namespace, so vectors of another network are never reused.
ENCODER ?= lite0
ENCODER_STAMP := model_repository/image_encoder/1/.encoder
IMAGELINT_EMBEDDING_CACHE_NAMESPACE ?= $(filter-out lite0,$(ENCODER))
export IMAGELINT_EMBEDDING_CACHE_NAMESPACE
$(ENCODER_STAMP): FORCE
	@mkdir -p $(@D); [ "$$(cat $@ 2>/dev/null)" = "$(ENCODER)" ] || echo "$(ENCODER)" > $@

$(MODEL): model_repository/export_image_encoder.py $(ENCODER_STAMP) | $(VENV)/.installed
	$(BIN)/python model_repository/export_image_encoder.py --force --variant $(ENCODER)

model: $(MODEL)

# promtool (for the /metrics lint test), taken from Debian's prometheus package without installing it.
PROMTOOL := .tools/promtool
$(PROMTOOL):
	mkdir -p .tools/deb
	cd .tools/deb && (apt-get download prometheus >/dev/null 2>&1 || (apt-get update -qq && apt-get download prometheus))
	dpkg-deb -x .tools/deb/prometheus_*.deb .tools/deb/x
	cp .tools/deb/x/usr/bin/promtool $(PROMTOOL)
	rm -rf .tools/deb

# The API docs' UIs (Swagger UI, ReDoc, Scalar), vendored from the npm registry: /schema loads offline.
OPENAPI_ASSETS := service/api/openapi_assets/.vendored
$(OPENAPI_ASSETS): deploy/openapi_assets.sh
	@command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null)
	bash deploy/openapi_assets.sh service/api/openapi_assets
	touch $@

openapi-assets: $(OPENAPI_ASSETS)

# Headless Chromium for the browser tests (review page, API docs): Debian's package, driven by
# Playwright for Python with executable_path (no browser download).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null)


# PostgreSQL 15 server binaries (jobs, results, embedding cache): the system's when Debian's
# postgresql-15 is installed, else unpacked from its .deb (plus libpq5) without installing.
PG_SYSTEM_BIN := /usr/lib/postgresql/15/bin
PG_TOOLS := .tools/postgresql
postgres:
	@if [ -x $(PG_SYSTEM_BIN)/postgres ] && [ -x $(PG_SYSTEM_BIN)/initdb ]; then \
		echo "PostgreSQL: $(PG_SYSTEM_BIN)"; \
	elif [ -x $(PG_TOOLS)/usr/lib/postgresql/15/bin/postgres ]; then \
		echo "PostgreSQL: $(PG_TOOLS)"; \
	else \
		rm -rf $(PG_TOOLS) .tools/deb-pg && mkdir -p .tools/deb-pg && cd .tools/deb-pg && \
		(apt-get download postgresql-15 libpq5 >/dev/null 2>&1 || (apt-get update -qq && apt-get download postgresql-15 libpq5)) && \
		cd ../.. && for deb in .tools/deb-pg/*.deb; do dpkg-deb -x $$deb $(PG_TOOLS); done && \
		rm -rf .tools/deb-pg && echo "PostgreSQL: unpacked into $(PG_TOOLS)"; \
	fi


setup: $(VENV)/.installed $(TVENV)/.installed $(MODEL) $(PROMTOOL) $(OPENAPI_ASSETS) chromium postgres

# --- the two commands ----------------------------------------------------------------------
run: setup
	mkdir -p $(IMAGELINT_DATA_ROOT)
	$(BIN)/python -m devtools.run_local --port $(PORT)

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider tests
	$(MAKE) --no-print-directory lint

# --- the rest ------------------------------------------------------------------------------
# Fast tests; of the build outputs only the API docs' vendored UI files (the docs pages are
# tested with them); the model's export check runs with `integration`.
unit: $(VENV)/.installed $(OPENAPI_ASSETS)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

integration: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/integration

lint: $(VENV)/.installed
	$(BIN)/ruff check service devtools tests bench model_repository deploy clients
	$(BIN)/ruff format --check service devtools tests bench model_repository deploy clients
	$(BIN)/lint-imports
	$(BIN)/pyright
	$(BIN)/python -m tests.deploy
	$(BIN)/buf lint proto
	$(MAKE) --no-print-directory proto-breaking

# --- the gRPC contract: proto/imagelint/v1/*.proto, edited by hand ---------------------------
# The committed Python stubs (service/grpc_api/gen) from the protos, with grpc_tools.protoc.
proto: $(VENV)/.installed
	bash proto/generate.sh $(BIN)/python service/grpc_api/gen

# No wire-incompatible change (proto/buf.yaml: WIRE_JSON) against the previous commit of main
# (CI lints a fresh clone of main; on a branch: `make proto-breaking BUF_AGAINST_REF=main`) and
# against the committed image of the released v1 contract, which is also the only baseline in a
# clone without history.
BUF_AGAINST_REF ?= HEAD~1
BUF_IMAGE := proto/imagelint-v1.binpb
proto-breaking: $(VENV)/.installed
	$(BIN)/buf breaking proto --against $(BUF_IMAGE)
	@if git rev-parse -q --verify '$(BUF_AGAINST_REF)^{commit}' >/dev/null 2>&1; then \
		echo "buf breaking against $(BUF_AGAINST_REF)"; \
		$(BIN)/buf breaking proto --against '.git#ref=$(BUF_AGAINST_REF),subdir=proto'; \
	else \
		echo "buf breaking: no $(BUF_AGAINST_REF) in this clone; checked against $(BUF_IMAGE) only"; \
	fi

# Deliberately, when a release fixes the contract: the image proto-breaking checks against.
proto-snapshot: $(VENV)/.installed
	$(BIN)/buf build proto --exclude-source-info -o $(BUF_IMAGE)

bench: setup
	$(BIN)/python -m bench.encode

# `make demo POLICY=clients/python/examples/strict-policy.yaml` gates the report: exit 1 on fail.
demo: $(VENV)/.installed
	$(BIN)/python -m devtools.demo --url http://127.0.0.1:$(PORT) $(if $(POLICY),--policy $(POLICY))

clean:
	rm -rf $(VENV) $(TVENV) $(MODEL) $(ENCODER_STAMP) .cache .tools

# Fashion-MNIST (real data for benches and tests) from Debian's dataset-fashion-mnist package,
# unpacked without a system install.
FASHION_MNIST := .cache/datasets/fashion-mnist
$(FASHION_MNIST)/t10k-images-idx3-ubyte.gz:
	mkdir -p .cache/deb-fm $(FASHION_MNIST)
	cd .cache/deb-fm && (apt-get download dataset-fashion-mnist >/dev/null 2>&1 || (apt-get update -qq && apt-get download dataset-fashion-mnist))
	dpkg-deb -x .cache/deb-fm/dataset-fashion-mnist_*.deb .cache/deb-fm/x
	cp .cache/deb-fm/x/usr/share/datasets/fashion-mnist/*.gz $(FASHION_MNIST)/
	rm -rf .cache/deb-fm

fashion-mnist: $(FASHION_MNIST)/t10k-images-idx3-ubyte.gz

# Comparison tools for the benches only (cleanlab and CleanVision are AGPL: never product
# dependencies), in their own environment.
compare-venv: .venv-compare/.installed-cleanvision
.venv-compare/.installed-cleanvision:
	$(PY) -m venv .venv-compare
	.venv-compare/bin/pip install -q --disable-pip-version-check "cleanlab>=2.6,<3" "cleanvision==0.3.6" "scikit-learn>=1.5" numpy
	touch $@
