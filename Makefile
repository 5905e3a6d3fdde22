# The two commands the README promises: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
DATA   ?= ./var

.PHONY: run test bench install install-test clean

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

bench: install-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
