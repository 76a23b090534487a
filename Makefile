# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest peers bench fuzz soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: create the virtualenv, install, start stepauth on embedded SQLite
## (make demo PROVIDER_PORT=9100 BANK_PORT=8100 when 9000 or 8000 is taken)
PROVIDER_PORT ?= 9000
BANK_PORT ?= 8000
demo: $(STAMP)
	$(BIN)/stepauth demo --provider-port $(PROVIDER_PORT) --bank-port $(BANK_PORT)

## test: ruff, mypy --strict, then the whole test suite
test: $(STAMP) peers lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples scripts
	$(BIN)/ruff format --check src tests bench examples scripts
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/

pytest: $(STAMP)
	$(BIN)/pytest --cov=stepauth --cov-report=term:skip-covered $(PYTEST_ARGS)
	$(BIN)/coverage report --include='src/stepauth/assurance/*' --fail-under=95

## peers: the Node.js peers (oidc-provider, openid-client; axe-core for the accessibility test), when npm is present
peers:
	@if command -v npm >/dev/null 2>&1; then \
		cd peers && npm install --silent --no-audit --no-fund; \
	else echo "npm not found: Node.js peer tests will be skipped"; fi

## fuzz: the fuzzing suite's long profile (thousands of hostile requests per route)
fuzz: $(STAMP)
	STEPAUTH_FUZZ=long $(BIN)/pytest tests/fuzz --timeout=3600

bench: $(STAMP) peers
	$(BIN)/python -m bench

## soak: the long profile: the reliability suite with more rounds of each race, then
## `stepauth serve` on SQLite and PostgreSQL under full flows for SOAK_SECONDS each
## (default 300): flows/s, RSS, WAL and database size, errors -> BENCHMARKS.md
SOAK_SECONDS ?= 300
soak: $(STAMP) peers
	STEPAUTH_RACE_ROUNDS=$${STEPAUTH_RACE_ROUNDS:-2000} $(BIN)/pytest --timeout=3600 tests/reliability $(PYTEST_ARGS)
	$(BIN)/python -m bench.soak --seconds $(SOAK_SECONDS) --postgres
	$(BIN)/python -m bench --assemble-only

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage peers/node_modules
