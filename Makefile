# Two commands do all the set-up on a fresh machine (Python 3.11+ and make):
#   make run   - serve every implemented vendor on http://127.0.0.1:8080 with scenarios/demo.yaml loaded
#   make test  - run the whole suite (official SDKs included)
#   make demo  - drive each vendor's demo scenario through its official SDK and print what happens
#   make bench - the emulator against a bare Starlette app (needs wrk for the load; a built-in generator otherwise)
#   make soak  - ten minutes of every vendor at once, with faults, clock moves and namespace churn
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test demo bench bench-inspector soak screenshots clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Sentinels record what was installed; they are redone when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) -m emulator serve --host $(HOST) --port $(PORT) --scenario scenarios/demo.yaml

test: $(VENV)/.installed-test
	$(PY) -m pytest -n 2

demo: $(VENV)/.installed-test
	$(PY) -m emulator.demo

# Retake the inspector's pictures in docs/images (the browser test that takes them writes there only then).
screenshots: $(VENV)/.installed-test
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/browser -k screenshots

bench: $(VENV)/.installed
	$(PY) -m bench.bench $(BENCH_ARGS)

soak: $(VENV)/.installed
	$(PY) -m bench.soak $(SOAK_ARGS)

# The inspector page's load time over 10,000 runs, in Debian's Chromium (needs the test extra's playwright).
bench-inspector: $(VENV)/.installed-test
	$(PY) -m bench.inspector $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
