# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Neo4j's Cypher parser (npm) checks queries/*.cypher in the tests
LINTER := tests/cypher_lint/node_modules/.installed
$(LINTER): tests/cypher_lint/package-lock.json
	cd tests/cypher_lint && npm ci --no-audit --no-fund --loglevel=error
	touch $(LINTER)

demo: $(STAMP)
	$(BIN)/graphsvc demo --workdir demo-data

test: $(STAMP) $(LINTER)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/rescore.py

clean:
	rm -rf $(VENV) demo-data tests/cypher_lint/node_modules
