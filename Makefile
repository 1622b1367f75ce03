# The two set-up commands of the README. Each creates .venv when needed and installs the project.
#   make demo   run the bot on its embedded default (Maildir + SQLite under storage/) with sample mail
#   make test   install and start what the tests need (Dovecot, PostgreSQL, SMTP), run the whole suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test install install-test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import bot.cli" && touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import pytest, aiosmtpd" && touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install
	$(PY) scripts/demo.py

test: install-test
	bash scripts/install-test-deps.sh
	$(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: install-test
	bash scripts/install-test-deps.sh
	$(PY) bench/run_all.py

clean:
	rm -rf storage/demo build *.egg-info
