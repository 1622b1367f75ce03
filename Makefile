# The two set-up commands of the README. Each creates .venv when needed and installs the project.
#   make demo   run the bot on its embedded default (Maildir + SQLite under storage/) with sample mail
#   make test   install and start what the tests need (Dovecot, PostgreSQL, SMTP), run the whole suite
#   make test-quick   the tests that need no mail server and are not marked slow (a few minutes)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test test-quick install install-test bench clean

# One process more than the cores: end-to-end tests spend much of their time waiting on the servers
# and on the bot in another process, and the extra process fills those waits (on 2 cores the suite
# took 503-527 s with three, 567 s with two). Each file runs whole on one process (its module
# fixtures once), each process with its own servers.
XDIST  := -n $(shell echo $$(( $$(nproc) + 1 ))) --dist loadfile

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import bot.cli" && touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import pytest, aiosmtpd, xdist" && touch $@

# The bytecode of the project's own modules, written as pip writes it for a regular install: each
# start (the bot, every worker it spawns, every test that runs it) then loads ~160 modules instead of
# compiling them again (~0.15 s here), also where PYTHONDONTWRITEBYTECODE keeps Python from writing
# it itself. Only files changed since the last run are compiled.
COMPILE := $(PY) -m compileall -q

install: $(VENV)/.installed
	$(COMPILE) bot

install-test: $(VENV)/.installed-test
	$(COMPILE) bot tests

demo: install
	$(PY) scripts/demo.py

test: install-test
	bash scripts/install-test-deps.sh
	$(VENV)/bin/pytest -q -p no:cacheprovider $(XDIST) $(PYTEST_ARGS)

test-quick: install-test
	$(VENV)/bin/pytest -q -p no:cacheprovider $(XDIST) -m "not rig and not slow" $(PYTEST_ARGS)

bench: install-test
	bash scripts/install-test-deps.sh
	$(PY) bench/run_all.py

clean:
	rm -rf storage/demo build *.egg-info
