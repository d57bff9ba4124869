#!/bin/sh
# bench/gemm.sh [reps]: builds bench/gemm.c against src/ta_gemm*.c and a reference
# ta_gemm.c from git (GEMM_REF, default 768a8e6: the 4 x 16 / 8 x 32 kernels without
# packing of A) with its symbols renamed, then runs it. Set TSATTN_AVX512=0 to time the
# AVX2 kernels on an AVX-512 machine. Run it on a quiet machine (nice it otherwise).
set -e
cd "$(dirname "$0")/.."
ref=${GEMM_REF:-768a8e6}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CC=${CC:-gcc}
FLAGS="-O2 -fopenmp -Isrc"
git show "$ref:src/ta_gemm.c" > "$tmp/old_gemm.c"
ren=""
for f in gemm_nt gemm_nn gemm_tn gemm_packed_size gemm_pack_t gemm_pack_n gemm_packed \
  gemm_release colsum gemm_ukr gemm_use_avx2; do
  ren="$ren -Dta_$f=old_$f"
done
$CC $FLAGS $ren -c "$tmp/old_gemm.c" -o "$tmp/old.o"
$CC $FLAGS bench/gemm.c src/ta_gemm.c src/ta_gemm_kernel.c src/ta_threads.c "$tmp/old.o" \
  -o "$tmp/gemm" -lm -lpthread
"$tmp/gemm" "$@"
