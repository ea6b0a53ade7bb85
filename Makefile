# Comptasso / BanquAsso — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The demo books end on this day: the demo prints the same thing every day.
DEMO_AS_OF := 2026-11-30

.PHONY: install demo test serve bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/comptasso check --as-of $(DEMO_AS_OF)

test: install
	$(BIN)/python -m pytest -q

serve: install
	$(BIN)/comptasso serve

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var reports
