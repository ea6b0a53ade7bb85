# Comptasso / BanquAsso — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The demo books end on this day: the demo prints the same thing every day.
DEMO_AS_OF := 2026-11-30

.PHONY: install demo test lint serve bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The demo's registry lives in var/demo/, apart from any real one.
DEMO_DB  := $(CURDIR)/var/demo/banquasso.db
DEMO_ENV := BANQUASSO_DB_URL=sqlite:///$(DEMO_DB)
# `make serve` serves a copy of the demo books, so that Fava's edits never touch the committed ones.
DEMO_BOOKS := var/demo/books

demo: install
	mkdir -p var/demo
	$(BIN)/comptasso check --as-of $(DEMO_AS_OF)
	$(BIN)/banquasso funders --as-of $(DEMO_AS_OF)
	$(BIN)/banquasso forecast --as-of $(DEMO_AS_OF) --risk
	$(BIN)/banquasso capacity --as-of $(DEMO_AS_OF)
	$(BIN)/banquasso plan --as-of $(DEMO_AS_OF)
	# 13 past mornings (one a week over 91 days), each as of its own day: the accuracy has history to compare.
	$(DEMO_ENV) $(BIN)/banquasso scheduler --run daily --as-of $(DEMO_AS_OF) --backfill 91 --backfill-step 7
	$(DEMO_ENV) $(BIN)/banquasso statement --month 2026-11 --as-of $(DEMO_AS_OF)
	@echo
	@echo "Registre de la démo : $(DEMO_DB). Pour le lire avec d'autres commandes, préfixez-les :"
	@echo "  $(DEMO_ENV) $(BIN)/banquasso accuracy --as-of $(DEMO_AS_OF)"

# The tooling contract first (ruff, mypy --strict), then the suite (tests/test_layering.py holds the layers).
# The suite runs on every core (pytest-xdist): each test has its own folders, cache and registry.
TEST_WORKERS ?= auto

test: install lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

# The tooling contract: ruff and mypy --strict over the source, the tests and the benchmarks.
lint: install
	$(BIN)/ruff check comptasso banquasso tests bench
	$(BIN)/mypy

serve: install
	@if [ ! -d $(DEMO_BOOKS)/ledgers ]; then mkdir -p $(DEMO_BOOKS) && cp -R ledgers rules $(DEMO_BOOKS)/ && \
	  echo "Copie des livres de démonstration dans $(DEMO_BOOKS)/ (Fava modifie cette copie, jamais ledgers/)."; fi
	$(DEMO_ENV) $(BIN)/comptasso serve --ledgers $(DEMO_BOOKS)/ledgers --rules $(DEMO_BOOKS)/rules --as-of $(DEMO_AS_OF)

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var reports
