# One toolchain, locally and in CI. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint fuzz bench bench-embedded on-task self-improve chromium clean

install: $(STAMP)  # then llama.cpp's server, built for this CPU (a few minutes once; a no-op when up to date)
	$(BIN)/python -m rolecall.models.llama_build --quiet

$(STAMP): pyproject.toml
	command -v chromium >/dev/null 2>&1 || $(MAKE) chromium
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch pinned to the CPU build this machine keeps on disk; the train extra admits any torch>=2.4
	$(BIN)/python -m pip install --quiet 'torch==2.13.0' -e '.[dev,local,mcp,train]'
	touch $(STAMP)

demo: install
	$(BIN)/rolecall run examples/ai_society.yaml

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

fuzz: install  # the property tests of hostile input, 3,000 examples each instead of CI's 25
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q -p no:cacheprovider tests/test_fuzz.py --hypothesis-show-statistics

bench: install .venv-camel/.installed  # a few minutes; bench/tools_embedded.py runs apart; see bench-embedded, on-task, self-improve
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/task_graph.py
	$(BIN)/python bench/harvest.py
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/viewer.py

bench-embedded: install  # about 20 minutes: the embedded model's decode ceiling and conversations per minute
	$(BIN)/python -m pip install --quiet 'llama-cpp-python[server]==0.3.36'  # the previous engine: the "before" side
	$(BIN)/python bench/decode_ceiling.py
	$(BIN)/python bench/embedded.py

on-task: install  # about 15 minutes: rolecall eval on the embedded model, guards with and without JSON turns
	$(BIN)/python bench/on_task.py --configs guards+json,guards

self-improve: install  # about an hour on two cores: docs/self_improve.md
	$(BIN)/python -m pip install --quiet sentencepiece  # llama.cpp's converter back to GGUF imports it
	$(BIN)/python bench/self_improve.py

# CAMEL, the baseline bench/overhead.py compares with, in an environment of its own (its mcp pin differs).
.venv-camel/.installed:
	$(PYTHON) -m venv .venv-camel
	.venv-camel/bin/python -m pip install --quiet "camel-ai==0.2.90" "mcp<2"
	touch .venv-camel/.installed

# The headless browser of the viewer's tests (tests/test_viewer_browser.py), from Debian's packages;
# Playwright (a dev dependency) drives it, and downloads no browser of its own.
chromium:
	@command -v apt-get >/dev/null 2>&1 || { echo "no apt-get: install Chromium yourself for the browser test"; exit 0; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

clean:
	rm -rf $(VENV) .venv-camel .pytest_cache .ruff_cache .mypy_cache .hypothesis
