# Every target sets itself up on a fresh machine: it creates .venv when missing and
# installs the package with the tested versions pinned in constraints.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CI_ENV := LRCOURSE_PROFILE=ci OMP_NUM_THREADS=1 PYDEVD_DISABLE_FILE_VALIDATION=1

.PHONY: setup test book bench lab sync robust gpu-check clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

## make test: lint; unit tests, doctests and every chapter under nbval (profile ci); the book
## build (reusing nbval's execution); the book in headless Chromium when it is installed
## (.ci/browser_setup.sh installs it, and MathJax for the formula check)
test: $(STAMP)
	$(BIN)/ruff check lrcourse tests benchmarks book/_ext
	@# the gpu smoke run (tests/test_smoke.py, one kernel at a time) runs beside the rest on the second core
	@$(CI_ENV) $(BIN)/python -m pytest tests/test_smoke.py -q -ra -p no:cacheprovider --timeout=900 \
		--durations=0 > .smoke.log 2>&1 & smoke=$$!; status=0; \
	$(CI_ENV) $(BIN)/python -m pytest lrcourse tests book --doctest-modules --nbval-lax \
		--timeout=900 -q -ra --ignore=tests/test_browser.py --ignore=tests/test_smoke.py || status=$$?; \
	wait $$smoke || status=1; echo "--- gpu smoke run (tests/test_smoke.py)"; cat .smoke.log; exit $$status
	$(MAKE) --no-print-directory book
	$(CI_ENV) $(BIN)/python -m pytest tests/test_browser.py -q -ra

## make book: execute the chapters (profile ci) and write _build/html/index.html
book: $(STAMP)
	$(CI_ENV) $(BIN)/jupyter-book build . --path-output . -n --keep-going -W
	@echo "open _build/html/index.html"

## make bench: the benchmarks, each printing ratios against a baseline timed in the same run
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[bench]"
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/run.py

## make robust: every chapter under nbval three more times, each with other rounding (PyTorch's
## vectorized kernels off; MKL limited to AVX2; two threads, as readers run at torch's default
## thread count and a parallel reduction sums in another order), as another machine would
## round: a claim whose margin only held on one machine fails here (not part of `make test`:
## about 15 minutes; its outputs are kept out of the book's cache, so `make book` still shows
## the native run)
robust: $(STAMP)
	ATEN_CPU_CAPABILITY=default $(CI_ENV) $(BIN)/python -m pytest book --nbval-lax -q -p no:cacheprovider -p no:tests.notebooks --timeout=900
	MKL_ENABLE_INSTRUCTIONS=AVX2 $(CI_ENV) $(BIN)/python -m pytest book --nbval-lax -q -p no:cacheprovider -p no:tests.notebooks --timeout=900
	$(CI_ENV) OMP_NUM_THREADS=2 $(BIN)/python -m pytest book --nbval-lax -q -p no:cacheprovider -p no:tests.notebooks --timeout=900

## make gpu-check: on a machine with a GPU, every chapter under LRCOURSE_PROFILE=gpu (synthetic
## files in the real format where a download cannot happen, marked as such), eight at a time and
## the longest first (about 6 minutes on an H200), fit against a bare loop and a DataLoader loop,
## the capstone's recipe timed at full size and its time to 94%: written to
## benchmarks/gpu/RESULTS.md in under 10 minutes (`$(BIN)/python benchmarks/gpu/check.py --tiny`
## exercises it on a CPU)
gpu-check: $(STAMP)
	PYDEVD_DISABLE_FILE_VALIDATION=1 $(BIN)/python benchmarks/gpu/check.py --jobs 8 \
		--chapters 14 05 13 15 07 01 09 06 04 08 12 10 03 02 11

## make lab: open the chapters in JupyterLab
lab: $(STAMP)
	$(BIN)/jupyter lab book/

## make sync: pair every chapter's .md with its output-free .ipynb (after editing the .md)
sync: $(STAMP)
	$(BIN)/jupytext --sync book/[0-9]*.md

clean:
	rm -rf _build
