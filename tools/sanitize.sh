#!/bin/sh
# make sanitize: the CPU-only package built with AddressSanitizer and UndefinedBehaviorSanitizer
# (-fsanitize=address,undefined, every UB report fatal), installed from a copy of this tree into
# a private library, then the CPU test suite run under it (R itself is not instrumented, so the
# runtimes are preloaded, also why the install skips its test load; leak detection is off, as R keeps memory for good at exit). Fails on any
# sanitizer report or failed test.
#   SANITIZE_DIR     work directory (default /tmp/tsattn-sanitize-<uid>)
#   SANITIZE_FILTER  a testthat filter (regex on the file names) for a subset, e.g.
#                    'errors|validate|call-sizes|interrupt'; empty: every test file
set -eu
cd "$(dirname "$0")/.."
R="${R:-R}"
RSCRIPT="${RSCRIPT:-Rscript}"
CC_="$($R CMD config CC | awk '{print $1}')"
DIR="${SANITIZE_DIR:-/tmp/tsattn-sanitize-$(id -u)}"
FILTER="${SANITIZE_FILTER:-}"
JOBS="${JOBS:-2}"
asan="$($CC_ -print-file-name=libasan.so)"
ubsan="$($CC_ -print-file-name=libubsan.so)"
for f in "$asan" "$ubsan"; do
  [ -e "$f" ] || { echo "sanitize: $CC_ has no $(basename "$f") (install its sanitizer runtimes)" >&2; exit 2; }
done

rm -rf "$DIR" && mkdir -p "$DIR/src" "$DIR/lib"
tar -c --exclude=./.git --exclude=./check --exclude=./demo-output --exclude='*.o' \
  --exclude='*.so' --exclude=./src/Makevars . | tar -x -C "$DIR/src"
flags="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
cat > "$DIR/Makevars" <<MV
CFLAGS = $flags
LDFLAGS = -fsanitize=address,undefined
MV
echo "sanitize: CPU-only build with -fsanitize=address,undefined into $DIR/lib (log: $DIR/install.log)"
( cd "$DIR/src" && TSATTN_CUDA=0 R_MAKEVARS_USER="$DIR/Makevars" MAKEFLAGS="-j$JOBS" \
    $R CMD INSTALL --preclean --no-multiarch --no-test-load -l "$DIR/lib" . > "$DIR/install.log" 2>&1 ) ||
  { tail -n 40 "$DIR/install.log"; exit 1; }
grep -q -- '-fsanitize=address,undefined' "$DIR/install.log" ||
  { echo "sanitize: the build did not use the sanitizer flags" >&2; exit 1; }

echo "sanitize: tests${FILTER:+ matching '$FILTER'} under the sanitizers (log: $DIR/test.log)"
set +e
# allocator_may_return_null: an allocation too large for the machine returns NULL, as the
# C library's does, so that the core's out-of-memory paths (an R error) run under the
# sanitizer instead of AddressSanitizer aborting the process
LD_PRELOAD="$asan $ubsan" \
  ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:allocator_may_return_null=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  R_LIBS="$DIR/lib" $RSCRIPT tools/run-tests.R tests/testthat ${FILTER:+--filter "$FILTER"} \
  > "$DIR/test.log" 2>&1
rc=$?
set -e
tail -n 3 "$DIR/test.log"
if grep -E -n 'ERROR: AddressSanitizer|runtime error:' "$DIR/test.log" | head -n 20 | grep .; then
  echo "sanitize: FAILED: sanitizer reports above (whole log: $DIR/test.log)" >&2
  exit 1
fi
line="$(grep -E '^tests: [0-9]+ passed, [0-9]+ failed$' "$DIR/test.log" | tail -n 1 || true)"
case "$line" in
  *", 0 failed") [ "$rc" -eq 0 ] || { echo "sanitize: exit status $rc" >&2; exit 1; }
                 echo "sanitize: no sanitizer report; $line" ;;
  *) echo "sanitize: FAILED (exit $rc): ${line:-no 'tests:' line}" >&2; exit 1 ;;
esac
