# The two commands the README promises: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
DATA   ?= ./var

.PHONY: run test lint bench install install-test clean mutate

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "需要 Python 3.11 ($(PYTHON) not found); set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever the package metadata changes.
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/govcred --data-dir $(DATA) init
	$(BIN)/govcred --data-dir $(DATA) serve --host 127.0.0.1 --port 8000

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Third-party plugin examples: each is its own distribution, installed next to govcred and
# tested with its own suite (on govcred.testing). The project's suite registers its plugins
# explicitly, so it does not change when these are installed.
EXAMPLES ?= examples/qingtian_extra_rule
.PHONY: test-examples
test-examples: install-test
	@for example in $(EXAMPLES); do \
	    $(BIN)/python -m pip install --quiet -e $$example || exit 1; \
	    (cd $$example && $(abspath $(BIN))/python -m pytest $(PYTEST_ARGS)) || exit 1; \
	done

# ruff: the lint rules and the format of pyproject.toml's [tool.ruff]; `ruff format .` fixes
# the format, `ruff check --fix .` what it can of the rest.
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install-test
	$(BIN)/python -m bench

# Mutation testing of the security-critical modules ([mutmut] in setup.cfg lists them and says
# why it runs in build/mutate/). MUTATE picks mutants by name pattern and re-tests every one it
# matches; the default leaves out sign-in (MUTATE='govcred.core.accounts.*', ~1,240 mutants
# more). MUTATE= (empty) tests all configured modules, skipping mutants already decided in
# build/mutate/mutants/. At most MUTATE_JOBS test processes, niced (the machine is shared).
# The last lines are the score: module, outcome, count.
MUTATE ?= govcred.core.tokens.* govcred.verifier.check.* govcred.verifier.statuslist.* \
          govcred.core.status.* govcred.core.audit.* govcred.core.web.pages.csrf.*
MUTATE_JOBS ?= 2
$(VENV)/.installed-mutate: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,mutate]'
	touch $(VENV)/.installed $(VENV)/.installed-test $@

mutate: $(VENV)/.installed-mutate
	mkdir -p build/mutate/src/govcred
	ln -sfn ../../../../core build/mutate/src/govcred/core
	ln -sfn ../../../../verifier build/mutate/src/govcred/verifier
	ln -sfn ../../tests build/mutate/tests
	ln -sfn ../../setup.cfg build/mutate/setup.cfg
	cd build/mutate && nice -n 10 $(abspath $(BIN))/mutmut run --max-children $(MUTATE_JOBS) $(foreach m,$(MUTATE),'$(m)')
	cd build/mutate && $(abspath $(BIN))/mutmut results
	cd build/mutate && $(abspath $(BIN))/mutmut results --all true | \
	    awk -F': ' '{m = $$1; sub(/\.x(_|ǁ).*/, "", m); gsub(/ /, "", m); n[m " " $$2]++} END {for (k in n) print k, n[k]}' | sort

clean:
	rm -rf $(VENV) build *.egg-info
