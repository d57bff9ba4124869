# tsattn: developer commands.  `make test` and `make demo` work on a fresh Debian 12 machine
# (they install what is missing first).
#
#   make deps      install R and the Debian r-cran-* packages that are missing
#   make install   install the package (R CMD INSTALL) into the default library
#   make test      install, then run the whole testthat suite (ends with "tests: N passed, M failed");
#                  the GPU tests run a second time against the CUDA code built on a CPU
#                  emulation of CUDA (make emu-install, tools/cuda-emu/README.md), and
#                  tests/gpu's gpucheck (built as make gpucheck builds it) runs too: each of its
#                  checks counts in the totals (a build that fails or a run that ends badly
#                  with no FAIL line counts as one failure)
#   make gpucheck  build and run tests/gpu's gpucheck, the C core against its CUDA backend
#                  without R (one line per check, exit 1 on a failure): the real CUDA build
#                  (nvcc; make -C tests/gpu run) where `nvidia-smi -L` lists a GPU, else the
#                  one on the CPU emulation of CUDA (make -C tests/gpu EMU=1 run, ~15 s).
#                  GPUCHECK_EMU=1 or 0 forces either. Needs no R: only cc, g++, make and
#                  python3 (installed with tools/install-deps.sh --tools where one is missing)
#   make demo      install, then run tools/demo.R (writes PNGs into demo-output/)
#   make check     R CMD build + R CMD check --no-manual in check/; fails on any ERROR, WARNING or NOTE
#   make sanitize  (alias asan) the CPU-only package built with -fsanitize=address,undefined into a
#                  private library (tools/sanitize.sh), then the test suite under it; fails on any
#                  sanitizer report or failed test. SANITIZE_FILTER=regex runs a subset of test files
#   make document  regenerate man/ and NAMESPACE with roxygen2 (committed; not part of test;
#                  R/ is sourced, not compiled, so pkgbuild is not needed)
#   make bench     tsattn against PyTorch on the workloads of issue 6; writes bench/RESULTS.md.
#                  Never in CI. Creates a venv with torch once (BENCH_VENV, default
#                  ~/.cache/tsattn/bench-venv; an existing venv with torch is used as is) and
#                  installs the package into a private library (BENCH_TMP/lib), not the site one.
#                  BENCH_REPS=3  BENCH_THREADS=<cores> (or a list, 2,1)  BENCH_QUICK=1  BENCH_ONLY=W1,W6
#                  The report includes the GEMM table (our sgemm called from C against
#                  torch.matmul, every thread count); BENCH_GEMM_ONLY=1: that table alone
#                  (no package install; writes /tmp/tsattn-bench-gemm.md, never RESULTS.md).
#                  BENCH_DEVICE=cuda: the same workloads on the GPU (tsattn `device = "cuda"`,
#                  PyTorch on "cuda"); writes bench/RESULTS-cuda.md, never RESULTS.md. Stops at
#                  once, exit 1, where there is no GPU. Its venv (default .../bench-venv-cuda)
#                  gets torch from the CUDA wheel index download.pytorch.org/whl/$(BENCH_TORCH_CUDA)
#                  (BENCH_TORCH_CUDA=cu130; pick one your driver supports, e.g. cu126), else PyPI;
#                  a venv whose torch is a CPU-only build is refused. See bench/run.py's header.
#   make accuracy  the tsattn default against ets, auto.arima, thetaf, (s)naive, nnetar and the
#                  ETS+ARIMA+Theta mean on M1 (bench/m1.R); writes bench/M1-RESULTS.md. Never in
#                  CI. Installs the package into a private library (ACC_TMP/lib); results are
#                  cached in M1_CACHE (default ~/.cache/tsattn/m1), so a rerun resumes.
#                  M1_ARGS="--per-period 100 --workers 2 --label default" (bench/m1.R's header)
#   make clean     remove build products
#
# CONFIGURE_ARGS is passed to configure, e.g.  make test CONFIGURE_ARGS=--without-cuda
# (TSATTN_CUDA=0 in the environment does the same).  JOBS sets the parallel compile jobs.

SHELL := /bin/sh
R ?= R
RSCRIPT ?= Rscript
PKG := tsattn
VERSION := $(shell sed -n 's/^Version:[[:space:]]*//p' DESCRIPTION)
TARBALL := $(PKG)_$(VERSION).tar.gz
CHECK_DIR := check
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CONFIGURE_ARGS ?=
CONFIG_OPT := $(if $(strip $(CONFIGURE_ARGS)),--configure-args="$(CONFIGURE_ARGS)",)
CHECK_CONFIG_OPT := $(if $(strip $(CONFIGURE_ARGS)),--install-args="--configure-args='$(CONFIGURE_ARGS)'",)

.PHONY: all deps install test emu-install gpucheck gpucheck-build demo check document bench accuracy \
	clean sanitize asan

all: test

deps:
	@sh tools/install-deps.sh

install: deps
	MAKEFLAGS=-j$(JOBS) $(R) CMD INSTALL --preclean --no-multiarch $(CONFIG_OPT) .

test: install emu-install gpucheck-build
	$(RSCRIPT) tools/run-tests.R tests/testthat --emu-lib $(EMU_DIR)/lib --gpucheck $(GPUCHECK_BIN)

# The CUDA code compiled against tools/cuda-emu's CPU emulation of the CUDA runtime and
# cuBLAS (TSATTN_CUDA_EMU=1), installed into a private library from a copy of this tree
# (so the in-tree objects of `make install` stay as they are): `make test` runs the GPU
# tests (test-cuda*.R) against it as well, so the GPU code paths run without a GPU.
EMU_DIR ?= /tmp/tsattn-emu-$(shell id -u)
emu-install: deps
	@rm -rf $(EMU_DIR) && mkdir -p $(EMU_DIR)/src $(EMU_DIR)/lib
	@tar -c --exclude=./.git --exclude=./check --exclude=./demo-output --exclude='*.o' \
	  --exclude='*.so' --exclude=./src/Makevars . | tar -x -C $(EMU_DIR)/src
	@echo "emu-install: the CUDA code on the CPU emulation into $(EMU_DIR)/lib (log: $(EMU_DIR)/install.log)"
	@cd $(EMU_DIR)/src && TSATTN_CUDA_EMU=1 MAKEFLAGS=-j$(JOBS) $(R) CMD INSTALL --preclean \
	  --no-multiarch -l $(EMU_DIR)/lib . > $(EMU_DIR)/install.log 2>&1 || \
	  { tail -n 40 $(EMU_DIR)/install.log; exit 1; }
	@grep '^tsattn: CUDA build EMULATED' $(EMU_DIR)/install.log | tail -n 1

# tests/gpu's gpucheck: the real CUDA build where nvidia-smi lists a GPU, else the emulated
# one (GPUCHECK_EMU=1|0 in the environment or on the command line decides instead).
ifeq ($(origin GPUCHECK_EMU),undefined)
GPUCHECK_EMU := $(shell nvidia-smi -L 2>/dev/null | grep -q '^GPU ' && echo 0 || echo 1)
endif
GPUCHECK_VARIANT := $(if $(filter 1,$(GPUCHECK_EMU)),CPU emulation of CUDA,real CUDA)
GPUCHECK_BIN := tests/gpu/$(if $(filter 1,$(GPUCHECK_EMU)),build-emu,build)/gpucheck
GPUCHECK_MAKE = $(MAKE) -C tests/gpu -j$(JOBS) EMU=$(GPUCHECK_EMU)
# the build tools only (no R), installed where one is missing: `deps` only where needed
GPUCHECK_TOOLS := cc g++ make $(if $(filter 1,$(GPUCHECK_EMU)),python3,)
GPUCHECK_DEPS = @case "$(GPUCHECK_EMU)" in 0|1) ;; *) echo "$@: GPUCHECK_EMU must be 1 (the \
	  CPU emulation) or 0 (real CUDA), not '$(GPUCHECK_EMU)'" >&2; exit 2;; esac; \
	for t in $(GPUCHECK_TOOLS); do \
	  command -v $$t >/dev/null 2>&1 || { sh tools/install-deps.sh --tools || exit 1; break; }; \
	done

gpucheck:
	$(GPUCHECK_DEPS)
	@echo "gpucheck: $(GPUCHECK_VARIANT) ($(GPUCHECK_BIN))"
	@$(GPUCHECK_MAKE) run

# For make test: build it; where the build fails, show why and leave no binary, so that
# tools/run-tests.R counts it as one failure instead of make test stopping short of its totals.
GPUCHECK_LOG ?= /tmp/tsattn-gpucheck-build-$(shell id -u).log
gpucheck-build:
	$(GPUCHECK_DEPS)
	@echo "gpucheck-build: $(GPUCHECK_VARIANT) into $(GPUCHECK_BIN) (log: $(GPUCHECK_LOG))"
	@$(GPUCHECK_MAKE) > $(GPUCHECK_LOG) 2>&1 || \
	  { tail -n 30 $(GPUCHECK_LOG); echo "gpucheck-build: the build FAILED"; rm -f $(GPUCHECK_BIN); }

demo: install
	@mkdir -p demo-output
	$(RSCRIPT) tools/demo.R

sanitize: deps
	JOBS=$(JOBS) R="$(R)" RSCRIPT="$(RSCRIPT)" SANITIZE_FILTER="$(SANITIZE_FILTER)" sh tools/sanitize.sh

asan: sanitize

document: deps
	$(RSCRIPT) -e 'roxygen2::roxygenise(load_code = roxygen2::load_source)'

check: deps
	rm -rf $(CHECK_DIR) && mkdir -p $(CHECK_DIR)
	cd $(CHECK_DIR) && MAKEFLAGS=-j$(JOBS) $(R) CMD build --no-manual ..
	@cd $(CHECK_DIR) && MAKEFLAGS=-j$(JOBS) _R_CHECK_FUTURE_FILE_TIMESTAMPS_=false \
	  $(R) CMD check --no-manual $(CHECK_CONFIG_OPT) $(TARBALL); \
	  rc=$$?; log=$(PKG).Rcheck/00check.log; \
	  if [ $$rc -eq 0 ] && [ -f $$log ] && grep -q '^Status: OK' $$log; then \
	    echo "check: R CMD check passed with no ERROR, WARNING or NOTE"; \
	  else \
	    echo "check: FAILED (exit $$rc); 00check.log follows"; \
	    if [ -f $$log ]; then cat $$log; fi; \
	    for f in $(PKG).Rcheck/tests/*.Rout.fail; do \
	      if [ -f "$$f" ]; then echo "---- $$f (last 100 lines)"; tail -n 100 "$$f"; fi; \
	    done; \
	    exit 1; \
	  fi

BENCH_DEVICE ?= cpu
BENCH_CUDA := $(filter cuda,$(BENCH_DEVICE))
BENCH_VENV ?= $(HOME)/.cache/tsattn/bench-venv$(if $(BENCH_CUDA),-cuda,)
BENCH_TORCH_CUDA ?= cu130
BENCH_TORCH_INDEX := https://download.pytorch.org/whl/$(if $(BENCH_CUDA),$(BENCH_TORCH_CUDA),cpu)
BENCH_TMP ?= /tmp/tsattn-bench-$(shell id -u)
BENCH_REPS ?= 3
BENCH_THREADS ?= $(shell nproc 2>/dev/null || echo 2)
BENCH_QUICK ?=
BENCH_ONLY ?=
BENCH_GEMM_ONLY ?=
BENCH_PYTHON ?= python3

bench:
	@set -e; \
	case "$(BENCH_DEVICE)" in cpu|cuda) ;; \
	  *) echo "bench: BENCH_DEVICE must be cpu or cuda, not '$(BENCH_DEVICE)'" >&2; exit 2;; esac; \
	if [ "$(BENCH_DEVICE)" = cuda ] && ! { nvidia-smi -L 2>/dev/null | grep -q '^GPU '; } && \
	   ! ls /dev/nvidia[0-9]* >/dev/null 2>&1; then \
	  echo "bench: BENCH_DEVICE=cuda but this machine has no NVIDIA GPU (nvidia-smi lists none, no /dev/nvidia0); nothing was timed" >&2; \
	  exit 1; \
	fi; \
	if ! "$(BENCH_VENV)/bin/python" -c 'import torch' >/dev/null 2>&1; then \
	  echo "bench: creating $(BENCH_VENV) with PyTorch (once)"; \
	  $(BENCH_PYTHON) -m venv "$(BENCH_VENV)"; \
	  "$(BENCH_VENV)/bin/python" -m pip install --retries 1 --timeout 30 \
	    --index-url $(BENCH_TORCH_INDEX) torch || \
	    { echo "bench: the $(if $(BENCH_CUDA),CUDA ($(BENCH_TORCH_CUDA)),CPU-only) index is not reachable; installing torch from PyPI"; \
	      "$(BENCH_VENV)/bin/python" -m pip install torch; }; \
	fi; \
	if [ "$(BENCH_DEVICE)" = cuda ] && \
	   ! "$(BENCH_VENV)/bin/python" -c 'import sys, torch; sys.exit(not torch.version.cuda)' >/dev/null 2>&1; then \
	  echo "bench: BENCH_DEVICE=cuda but the torch in $(BENCH_VENV) is a CPU-only build; use another BENCH_VENV or remove this one (it is then created from $(BENCH_TORCH_INDEX))" >&2; \
	  exit 1; \
	fi; \
	if [ -z "$(BENCH_GEMM_ONLY)" ]; then \
	echo "bench: installing $(PKG) into $(BENCH_TMP)/lib (log: $(BENCH_TMP)/install.log)"; \
	rm -rf "$(BENCH_TMP)/src" "$(BENCH_TMP)/lib"; mkdir -p "$(BENCH_TMP)/src" "$(BENCH_TMP)/lib"; \
	if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$(BENCH_TMP)/src"; \
	else \
	  tar -cf - --exclude=./check --exclude='*.o' --exclude='*.so' . | tar -xf - -C "$(BENCH_TMP)/src"; \
	fi; \
	MAKEFLAGS=-j$(JOBS) $(R) CMD INSTALL --no-test-load --no-multiarch $(CONFIG_OPT) \
	  -l "$(BENCH_TMP)/lib" "$(BENCH_TMP)/src" >"$(BENCH_TMP)/install.log" 2>&1 || \
	  { tail -n 40 "$(BENCH_TMP)/install.log"; exit 1; }; \
	fi; \
	R_LIBS="$(BENCH_TMP)/lib$${R_LIBS:+:$$R_LIBS}" "$(BENCH_VENV)/bin/python" bench/run.py \
	  --reps $(BENCH_REPS) --threads $(BENCH_THREADS) --rscript "$(RSCRIPT)" \
	  $(if $(BENCH_QUICK),--quick,) $(if $(BENCH_ONLY),--only $(BENCH_ONLY),) $(if $(BENCH_CUDA),--device cuda,) \
	  $(if $(BENCH_GEMM_ONLY),--gemm-only,) \
	  --command "make bench$(if $(BENCH_CUDA), BENCH_DEVICE=cuda,) BENCH_REPS=$(BENCH_REPS) BENCH_THREADS=$(BENCH_THREADS)$(if $(BENCH_QUICK), BENCH_QUICK=1,)$(if $(BENCH_ONLY), BENCH_ONLY=$(BENCH_ONLY),)$(if $(BENCH_GEMM_ONLY), BENCH_GEMM_ONLY=1,)"

ACC_TMP ?= /tmp/tsattn-accuracy-$(shell id -u)
M1_CACHE ?= $(HOME)/.cache/tsattn/m1
M1_ARGS ?= --per-period 100 --workers 2 --label default

accuracy:
	@set -e; \
	$(RSCRIPT) -e 'for (p in c("forecast", "future", "future.apply")) if (!requireNamespace(p, quietly = TRUE)) stop("accuracy: the R package ", p, " is missing (Debian: apt-get install r-cran-", tolower(p), ")", call. = FALSE)'; \
	echo "accuracy: installing $(PKG) into $(ACC_TMP)/lib (log: $(ACC_TMP)/install.log)"; \
	rm -rf "$(ACC_TMP)/lib"; mkdir -p "$(ACC_TMP)/lib"; \
	MAKEFLAGS=-j$(JOBS) $(R) CMD INSTALL --no-multiarch $(CONFIG_OPT) -l "$(ACC_TMP)/lib" . \
	  >"$(ACC_TMP)/install.log" 2>&1 || { tail -n 40 "$(ACC_TMP)/install.log"; exit 1; }; \
	R_LIBS="$(ACC_TMP)/lib$${R_LIBS:+:$$R_LIBS}" $(RSCRIPT) bench/m1.R --cache "$(M1_CACHE)" $(M1_ARGS)

clean:
	-@[ -x ./cleanup ] && ./cleanup
	rm -rf $(CHECK_DIR) $(PKG).Rcheck $(PKG)_*.tar.gz tests/gpu/build tests/gpu/build-emu
