#!/bin/sh
# Installs what tsattn needs to build, test and check on Debian 12, when it is missing.
# Called by `make deps`.  Quick no-op when everything is there.
#
#   sh tools/install-deps.sh           R, the R packages, and the build tools below
#   sh tools/install-deps.sh --tools   only the build tools of tests/gpu's gpucheck, which
#                                      needs no R (make gpucheck): cc, g++, make, and python3
#                                      (tools/cuda-emu/nvcc-emu, the emulated CUDA build that
#                                      make test and make emu-install use, is a Python script)
set -u

TOOL_PKGS="build-essential python3"
TOOLS="cc g++ make python3"
DEB_PKGS="r-base-dev r-cran-testthat r-cran-ggplot2 r-cran-forecast r-cran-generics r-cran-roxygen2 r-cran-knitr r-cran-rmarkdown r-cran-cli r-cran-future r-cran-future.apply r-cran-progressr r-cran-zoo $TOOL_PKGS"
R_PKGS="testthat ggplot2 forecast generics roxygen2 knitr rmarkdown cli future future.apply progressr zoo"
WHAT="R and all required packages are"
TOOLS_ONLY=0
if [ "${1:-}" = "--tools" ]; then
  TOOLS_ONLY=1
  DEB_PKGS=$TOOL_PKGS
  WHAT="the build tools ($TOOLS) are"
fi

# tools_ready: every command of TOOLS on PATH
tools_ready() {
  for t in $TOOLS; do
    command -v "$t" >/dev/null 2>&1 || return 1
  done
}

# r_ready: the build tools, and (but with --tools) R with headers and a C compiler, and
# every R package loadable (from Debian or from anywhere else on .libPaths()).
r_ready() {
  tools_ready || return 1
  [ "$TOOLS_ONLY" = 1 ] && return 0
  command -v Rscript >/dev/null 2>&1 || return 1
  command -v R >/dev/null 2>&1 || return 1
  cc=`R CMD config CC 2>/dev/null | awk '{print $1}'`
  test -n "$cc" && command -v "$cc" >/dev/null 2>&1 || return 1
  Rscript --vanilla -e '
    ok <- file.exists(file.path(R.home("include"), "R.h"))
    pkgs <- strsplit(Sys.getenv("R_PKGS"), " ")[[1]]
    ok <- ok && all(vapply(pkgs, requireNamespace, NA, quietly = TRUE))
    quit(status = if (ok) 0L else 1L)' >/dev/null 2>&1
}
export R_PKGS

if r_ready; then
  echo "deps: $WHAT installed"
  exit 0
fi

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
  for p in $DEB_PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing="$missing $p"
    fi
  done
else
  missing=" $DEB_PKGS"
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: no apt-get here; install $TOOLS, and (for all but make gpucheck) R (with headers and a C compiler) and the R packages: $R_PKGS" >&2
  exit 1
fi

if test -z "$missing"; then
  # All Debian packages are there yet R is not usable: reinstalling will not help.
  echo "deps: the Debian packages are installed but a build tool ($TOOLS), R or an R package is not usable; check: $R_PKGS" >&2
  exit 1
fi

if test "`id -u`" = 0; then
  SUDO=
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "deps: missing Debian packages:$missing; run as root (or install sudo)" >&2
  exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q || exit 1
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing || exit 1

if r_ready; then
  echo "deps: done"
  exit 0
fi
echo "deps: installed$missing but a build tool ($TOOLS), R or an R package is still not usable" >&2
exit 1
