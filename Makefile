# Assina: `make demo` runs the product on a simulated business; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB := demo/assina-demo.sqlite3
PORT ?= 8000
# The demo's mail goes to files (thousands of messages; open any .eml in a mail client); its
# links point at the port the demo serves on (`make demo PORT=8101`). The simulated business has
# a name of its own (assina.simulation.business.NAME).
DEMO_ENV = ASSINA_DATABASE_URL=sqlite:///$(DEMO_DB) ASSINA_SMTP_URL=file:demo/mail ASSINA_BASE_URL=http://127.0.0.1:$(PORT) ASSINA_BUSINESS_NAME='Agenda Certa'
# Run the tests on as many cores as the machine has. worksteal: a worker that runs out of tests
# takes some of another's (with the default `load` one worker kept its first share of the slow
# end-to-end tests to the end while the other sat idle).
PYTEST_WORKERS ?= auto
PYTEST_DIST ?= worksteal

.PHONY: demo test test-sqlite test-postgres bench clean browser messages screenshots

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	mkdir -p demo
	rm -rf $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm demo/mail
	$(DEMO_ENV) $(BIN)/assina migrate
	$(DEMO_ENV) $(BIN)/assina simulate --customers 500 --months 24 --seed 7
	@$(DEMO_ENV) $(BIN)/assina createadmin --username admin --password assina-demo >/dev/null
	@echo ""
	@echo "  Admin: http://127.0.0.1:$(PORT)/dashboard/   login: admin   password: assina-demo"
	@echo ""
	@echo "  Mail the simulated customers received: demo/mail/*.eml"
	@echo ""
	$(DEMO_ENV) $(BIN)/assina serve --port $(PORT)

# The dashboard tests drive a real headless Chromium: Debian's package, installed where missing.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

# The README's screenshots (docs/images/*.png), from a demo built in a temporary folder.
screenshots: $(BIN)/.installed browser
	$(BIN)/python tools/screenshots

# Extract and compile the pt-BR translation catalogs (APPS="api core" for only some).
messages: $(BIN)/.installed
	tools/messages $(APPS)

# SQLite always; PostgreSQL too when ASSINA_TEST_POSTGRES_URL is set (and then it must be reachable).
test: $(BIN)/.installed browser
	$(MAKE) test-sqlite
	@if [ -n "$$ASSINA_TEST_POSTGRES_URL" ]; then $(MAKE) test-postgres; else echo "ASSINA_TEST_POSTGRES_URL is not set: PostgreSQL tests not run"; fi

test-sqlite: $(BIN)/.installed
	env -u ASSINA_DATABASE_URL $(BIN)/pytest -n $(PYTEST_WORKERS) --dist $(PYTEST_DIST) -q

test-postgres: $(BIN)/.installed
	ASSINA_DATABASE_URL="$$ASSINA_TEST_POSTGRES_URL" ASSINA_TEST_ENGINE=postgres $(BIN)/pytest -n $(PYTEST_WORKERS) --dist $(PYTEST_DIST) -q -m "not sqlite_only" tests/integration tests/scenarios tests/e2e

bench: $(BIN)/.installed
	$(BIN)/python bench/billing_run.py --subscriptions 100000

clean:
	rm -rf $(VENV) demo .pytest_cache
