# The two commands a new user needs:  make demo  and  make test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONDONTWRITEBYTECODE := 1
# Local runs only; production sets its own SECRET_KEY (settings refuse to start without one).
export SECRET_KEY ?= insecure-local-only

.PHONY: demo test venv lint typecheck pytest services clean

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

## Set up and run the demo on SQLite, the filesystem broker and the FreeSWITCH simulator:
## web, Celery worker + beat, the dialer, simulated agents (and a private Redis if none answers).
demo: venv
	scripts/ensure_redis.sh
	DEBUG=$${DEBUG:-1} DATABASE_URL=$${DEMO_DATABASE_URL:-sqlite:///$(CURDIR)/var/demo.sqlite3} \
	$(BIN)/python manage.py demo

## Set up and run every check: ruff, mypy, pytest on PostgreSQL and Redis.
test: venv services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dialer} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	$(BIN)/pytest

services:
	scripts/ensure_services.sh
	scripts/ensure_chromium.sh

clean:
	rm -rf $(VENV) var
