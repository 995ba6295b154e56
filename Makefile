# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench neo4j neo4j-stop clean console

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

# The console's npm packages (Cytoscape.js, esbuild): its tests and `make console` use them;
# the built page ships inside the package (graphsvc/console/static), so serving needs no npm
CONSOLE := console/node_modules/.installed
$(CONSOLE): console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $(CONSOLE)

# Rebuild graphsvc/console/static/app.js and app.css after changing console/src
console: $(CONSOLE)
	cd console && npm run build

demo: $(STAMP)
	$(BIN)/graphsvc demo --workdir demo-data

# ruff first (pyproject.toml's [tool.ruff]: the rules the code meets), then the suite.
# The suite runs on the embedded store and, on a throw-away Neo4j with GDS started for
# it (tools/neo4j: Java 17 and Maven), on Neo4j too; without Java the Neo4j tests skip.
test: $(STAMP) $(LINTER) $(CONSOLE)
	$(BIN)/ruff check .
	$(BIN)/python tools/neo4j/server.py run -- $(BIN)/python -m pytest -q

# A Neo4j with GDS on bolt://127.0.0.1:7687 in the background, for notebooks and trials
neo4j:
	$(PYTHON) tools/neo4j/server.py start

neo4j-stop:
	$(PYTHON) tools/neo4j/server.py stop

bench: $(STAMP)
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/rescore.py

clean:
	rm -rf $(VENV) demo-data tests/cypher_lint/node_modules tools/neo4j/target .neo4j
