# The two commands of the README: `make demo` and `make test`.  Both create or
# update the virtual environment first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,ray]'
	@# 'anonvma graph' renders with Graphviz's dot: Debian's package, as root
	command -v dot >/dev/null || { test "$$(id -u)" = 0 && apt-get update -qq && \
	  apt-get install -y -qq graphviz >/dev/null; } || \
	  echo "Graphviz's dot is missing and cannot be installed here (apt-get install graphviz" \
	    "as root): 'anonvma graph' writes .dot files only"
	touch $@

demo: $(STAMP)
	$(PY) -m anonvma demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build src/*.egg-info
