# Two commands: `make test` and `make paper` (QUICK=1 for smoke size, written to paper-quick/), plus
# `make notebook NB=<name>` for one notebook (written to paper-scratch/) and `make docs` for the
# documentation site (docs/_build/html). Each creates .venv from the
# pinned lock when it is missing or stale (keyed on the lock's hash), then does its job.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
LOCK := requirements.lock
LOCK_HASH := $(shell sha256sum $(LOCK) | cut -c1-16)
VENV_STAMP := $(VENV)/.installed-lock-$(LOCK_HASH)
PKG_STAMP := $(VENV)/.installed-pkg-$(shell cat pyproject.toml | sha256sum | cut -c1-16)
QUICK ?= 0
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2
# Kernel pins (qmoe_tfq.core.environment.ISA_PINS, checked equal by tests/test_environment.py): the same
# kernel choices on every x86-64 machine with AVX2 (necessary, not yet sufficient, for the same numbers:
# docs/guide/reproducing.md); exported here because pytest and Jupyter import numpy before qmoe_tfq can set them.
export TF_ENABLE_ONEDNN_OPTS := 0
export ONEDNN_MAX_CPU_ISA := AVX2
export NPY_DISABLE_CPU_FEATURES := AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR AVX512FP16
export OPENBLAS_CORETYPE := Haswell

.PHONY: venv test paper notebook docs lock clean bench

venv: $(PKG_STAMP)

$(VENV_STAMP): $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]} at {sys.executable}; set PYTHON=/path/to/python3.11"'
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(LOCK)
	touch $@

$(PKG_STAMP): $(VENV_STAMP) pyproject.toml
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-pkg-*
	touch $@

test: venv
	$(PY) -m pytest

# Full size -> paper/; QUICK=1 -> paper-quick/; QMOE_PAPER_DIR=... elsewhere. Built in a staging folder,
# moved into place when complete, stamped with paper/manifest.json and browsable as paper/index.html.
paper: venv
	QMOE_QUICK=$(QUICK) $(PY) -m qmoe_tfq.publish.paper

# One notebook at full size (QUICK=1: smoke size), progress bar on the terminal -> paper-scratch/.
NOTEBOOKS := $(basename $(notdir $(wildcard notebooks/[0-9]*.py)))
notebook: venv
	@test -n "$(NB)" || { echo "usage: make notebook NB=<name> [QUICK=1]; names: $(NOTEBOOKS)" >&2; exit 2; }
	QMOE_QUICK=$(QUICK) $(PY) -m qmoe_tfq.publish.paper $(NB)

# The documentation site (Sphinx + MyST + numpydoc), offline, warnings as errors -> docs/_build/html.
docs: venv
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

# Quick local asv pass in the existing .venv (reduced grids, one sample each); docs/guide/benchmarks.md.
# Its results are never saved (no --set-commit-hash) and run under the machine name <host>-quick.
BENCH_QUICK_MACHINE := $(shell hostname)-quick
bench: venv
	@grep -qs '"$(BENCH_QUICK_MACHINE)"' $(HOME)/.asv-machine.json || \
		PATH=$(abspath $(VENV))/bin:$$PATH $(VENV)/bin/asv machine --yes --machine $(BENCH_QUICK_MACHINE) >/dev/null
	QMOE_BENCH_QUICK=1 PATH=$(abspath $(VENV))/bin:$$PATH $(VENV)/bin/asv run --quick --show-stderr \
		--machine $(BENCH_QUICK_MACHINE) --environment existing:$(abspath $(PY))

# Re-resolve the lock (needs network to PyPI) and regenerate environment.yml from it.
lock:
	$(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv
	.tools/bin/uv pip compile pyproject.toml --extra paper --extra test --extra docs --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 -o $(LOCK)
	$(PYTHON) scripts/write_environment_yml.py

clean:
	rm -rf $(VENV) .tools .asv .pytest_cache paper-quick paper-scratch docs/_build docs/_autosummary
