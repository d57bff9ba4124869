# tsattn: developer commands.  `make test` and `make demo` work on a fresh Debian 12 machine
# (they install what is missing first).
#
#   make deps      install R and the Debian r-cran-* packages that are missing
#   make install   install the package (R CMD INSTALL) into the default library
#   make test      install, then run the whole testthat suite (ends with "tests: N passed, M failed")
#   make demo      install, then run tools/demo.R (writes PNGs into demo-output/)
#   make check     R CMD build + R CMD check --no-manual in check/; fails on any ERROR, WARNING or NOTE
#   make document  regenerate man/ and NAMESPACE with roxygen2 (committed; not part of test;
#                  R/ is sourced, not compiled, so pkgbuild is not needed)
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

.PHONY: all deps install test demo check document bench clean

all: test

deps:
	@sh tools/install-deps.sh

install: deps
	MAKEFLAGS=-j$(JOBS) $(R) CMD INSTALL --preclean --no-multiarch $(CONFIG_OPT) .

test: install
	$(RSCRIPT) tools/run-tests.R

demo: install
	@mkdir -p demo-output
	$(RSCRIPT) tools/demo.R

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

bench:
	@echo "bench: benchmarks are not built yet"

clean:
	-@[ -x ./cleanup ] && ./cleanup
	rm -rf $(CHECK_DIR) $(PKG).Rcheck $(PKG)_*.tar.gz
