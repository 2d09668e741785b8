# pacta-async: `make demo` and `make test` set everything up on a fresh machine
# (only Python 3.11, git and make needed).

PYTHON ?= python3.11
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
PACTA_BASE_URL ?= https://sign.pacta.ink
# The instance URL or the API URL both work, as with the client's PACTA_BASE_URL.
SPEC_URL = $(patsubst %/api/v1,%,$(patsubst %/,%,$(PACTA_BASE_URL)))/api/v1/openapi
# generate-into SPEC DIR: the generator's post-hooks call ruff from PATH (the pinned one);
# py.typed marks the package as typed (the generator adds it only with project metadata).
define generate-into
PATH="$(abspath $(VENV))/bin:$$PATH" PYTHONHASHSEED=0 $(VENV)/bin/openapi-python-client generate \
	--config generator-config.yaml --custom-template-path generator-templates --meta none --fail-on-warning \
	--path "$(1)" --output-path "$(2)" >/dev/null && touch "$(2)/py.typed"
endef

export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: install test test-fast lint demo bench generate regenerate check-generated spec-update generate-into clean

install: $(VENV)/.synced

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --quiet --frozen --all-extras
	touch $@

test: install
	$(PY) -m pytest -q

# The edit loop: everything but the long end-to-end runs (marked `slow`).
test-fast: install
	$(PY) -m pytest -q -m "not slow"

lint: install
	$(VENV)/bin/ruff check pacta_async tools tests examples benchmarks
	$(VENV)/bin/ruff format --check pacta_async tools tests examples benchmarks
	$(VENV)/bin/mypy --strict pacta_async

demo: install
	$(PY) -m tools.demo

# Measure the SDK against raw httpx and the rate limits; servers run on loopback in
# their own processes. Prints a table, writes benchmarks/results.md, fails on a miss.
bench: install
	$(PY) benchmarks/run.py

# Pull the live spec, then regenerate; nothing is replaced unless both steps succeed.
generate: install
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PY) -m tools.specpull "$(SPEC_URL)" "$$tmp/openapi.json" && \
	$(call generate-into,$$tmp/openapi.json,$$tmp/pacta_api) && \
	rm -rf generated/pacta_api && mv "$$tmp/pacta_api" generated/pacta_api && \
	mv "$$tmp/openapi.json" generated/openapi.json && \
	echo "generated/ updated from $(SPEC_URL)"

# Regenerate from the committed snapshot, into a clean folder (--overwrite leaves stale files).
regenerate: install
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(call generate-into,generated/openapi.json,$$tmp/pacta_api) && \
	rm -rf generated/pacta_api && mv "$$tmp/pacta_api" generated/pacta_api && \
	echo "generated/pacta_api regenerated from generated/openapi.json"

check-generated: install
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(call generate-into,generated/openapi.json,$$tmp/pacta_api) && \
	if diff -ru --exclude=__pycache__ generated/pacta_api "$$tmp/pacta_api"; then \
		echo "generated/pacta_api matches generated/openapi.json"; \
	else \
		echo "generated/pacta_api is stale or was edited by hand: run 'make regenerate'" >&2; exit 1; \
	fi

# The daily job: pull the live spec, validate it, generate into a scratch folder, diff,
# run the tests and mypy against the new client, and only then replace generated/.
# The report is always written ($(SPEC_REPORT): the pull request's body). Status: 0 safe,
# 1 breaking, 3 checks failing, 4 refused (generated/ unchanged), 2 job error (make
# reports it as "Error N"; see tools/specupdate.py).
SPEC_REPORT ?= spec-report.md
SPEC_PULL_DEADLINE ?= 120
spec-update: install
	@$(PY) -m tools.specupdate "$(SPEC_URL)" "$(SPEC_REPORT)" --deadline $(SPEC_PULL_DEADLINE)

# Used by tools/specupdate.py: the one generator command line, for SPEC= into OUT=.
generate-into:
	@$(call generate-into,$(SPEC),$(OUT))

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
