# One toolchain, locally and in CI. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint fuzz bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,local,mcp]'
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

bench: install  # a few minutes; bench/on_task.py (about 20 minutes on the embedded model) runs apart
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/task_graph.py
	$(BIN)/python bench/harvest.py
	$(BIN)/python bench/batch.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
