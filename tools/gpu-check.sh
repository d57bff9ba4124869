#!/bin/sh
# The GPU session's one call (issue: the GPU backend on a real GPU). Run from the repository
# root on a machine with an NVIDIA GPU, nvcc and PyTorch, and no R:
#
#   sh tools/gpu-check.sh            logs into $OUT (default /tmp/tsattn-gpu-check)
#
# 1. builds tests/gpu's gpucheck for the GPU's own architecture only (CUDA_ARCH, default 90:
#    H100/H200) with every core, and records the machine;
# 2. runs every CPU-against-GPU check (gpucheck.log; exit status 1 on a failure);
# 3. times the W1-W5 training steps: tsattn's C core on the GPU (gpucheck --time) and PyTorch
#    on the same GPU (bench/gpu_torch.py; its defaults, then cudnn.benchmark), side by side
#    (timing.txt);
# 4. runs part of the check under compute-sanitizer memcheck and racecheck, where it exists
#    and synccheck (sanitizer.log), each under a time limit (gpucheck --quick, --filter).
# 5. profiles the kernels of a W4 training step with ncu, where it exists (ncu-w4.txt).
# Meant to end in about 4 minutes on an H200, so that a rerun fits in one 10-minute call.
# Tested beforehand under the CPU emulation: GPUCHECK_EMU=1 sh tools/gpu-check.sh (no timing
# comparison then: PyTorch is skipped where it has no GPU).
set -u
# cuBLAS is loaded with dlopen on first use: let it be found beside libcudart
CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)")")}
export LD_LIBRARY_PATH="$CUDA_HOME/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
OUT=${OUT:-/tmp/tsattn-gpu-check}
mkdir -p "$OUT"
JOBS=$(nproc 2>/dev/null || echo 4)
ARCH=${CUDA_ARCH:-90}
EMU=${GPUCHECK_EMU:-0}
TIME_ARGS="--reps 5"
if [ "$EMU" = 1 ]; then
  BIN=tests/gpu/build-emu/gpucheck
  TIME_ARGS="--reps 1 --only W1" # the emulation is slow: just that the timing runs
else
  BIN=tests/gpu/build/gpucheck
fi
status=0
t0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  # the device tool sends the working tree, and a git there may be stale (it said d064478
  # on 2026-12-04, commits later): the hash comes from tools/.gpu-check-commit, which the
  # run command writes (echo HASH > tools/.gpu-check-commit; sh tools/gpu-check.sh)
  echo "commit: $(cat tools/.gpu-check-commit 2>/dev/null || echo 'unknown (write it into tools/.gpu-check-commit)')"
  echo "uname: $(uname -srm)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //') ($JOBS cores)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem,power.limit --format=csv
  command -v nvcc >/dev/null && nvcc --version | tail -n 2
  echo "R: $(command -v R || echo none)"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' 2>&1 | tail -n 1
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

stamp "build (sm_$ARCH, $JOBS jobs)"
if ! make -C tests/gpu -j"$JOBS" EMU="$EMU" CUDA_ARCH="$ARCH" EXTRA_NVCC_FLAGS=-lineinfo > "$OUT/build.log" 2>&1; then
  tail -n 30 "$OUT/build.log"
  echo "gpu-check: the build failed"
  exit 1
fi
grep -i 'warning' "$OUT/build.log" | head -n 5

stamp "check"
"$BIN" > "$OUT/gpucheck.log" 2>&1 || status=1
grep -v '^ok' "$OUT/gpucheck.log" | head -n 60
echo "checks passed: $(grep -c '^ok' "$OUT/gpucheck.log"), failed: $(grep -c '^FAIL' "$OUT/gpucheck.log")"

stamp "timing: tsattn"
T="$OUT/timing.txt"
"$BIN" --time $TIME_ARGS > "$OUT/time-tsattn.txt" 2>&1 || status=1
cat "$OUT/time-tsattn.txt"
if python3 -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
  stamp "timing: PyTorch (defaults), then with cudnn.benchmark"
  PYTHONUNBUFFERED=1 python3 bench/gpu_torch.py --reps 5 > "$OUT/time-torch.txt" 2>&1 || status=1
  PYTHONUNBUFFERED=1 python3 bench/gpu_torch.py --reps 5 --cudnn-benchmark > "$OUT/time-torch-bench.txt" 2>&1 || status=1
  cat "$OUT/time-torch.txt" "$OUT/time-torch-bench.txt"
  python3 - "$OUT" > "$OUT/timing.md" <<'PY'
import sys, os
out = sys.argv[1]
def table(name):
    rows = {}
    for line in open(os.path.join(out, name)):
        f = line.split()
        if len(f) >= 3 and f[0].startswith("W") and f[1].isdigit():
            rows[f[0]] = (int(f[1]), float(f[2]))
    return rows
ts, tt, tb = table("time-tsattn.txt"), table("time-torch.txt"), table("time-torch-bench.txt")
print("| workload | steps | PyTorch ms/step | PyTorch, cudnn.benchmark | tsattn ms/step | ratio PyTorch / tsattn | ratio, cudnn.benchmark |")
print("|---|---|---|---|---|---|---|")
for w in ts:
    if w in tt and w in tb:
        print("| %s | %d | %.3f | %.3f | %.3f | **%.2f** | **%.2f** |" % (
            w, ts[w][0], tt[w][1], tb[w][1], ts[w][1], tt[w][1] / ts[w][1], tb[w][1] / ts[w][1]))
PY
  cat "$OUT/timing.md"
  cat "$OUT/time-tsattn.txt" "$OUT/time-torch.txt" "$OUT/time-torch-bench.txt" "$OUT/timing.md" > "$T"
  rm -f "$OUT/time-tsattn.txt" "$OUT/time-torch.txt" "$OUT/time-torch-bench.txt" "$OUT/timing.md"
else
  echo "no PyTorch with a GPU here: PyTorch not timed"
  mv "$OUT/time-tsattn.txt" "$T"
fi

if command -v compute-sanitizer >/dev/null 2>&1 && [ "$EMU" != 1 ]; then
  # memcheck over every named case's forward, gradients, prediction and attention;
  # racecheck (slower) over the recurrent cells, whose one-launch kernels share memory;
  # synccheck over the warp-per-row kernels' shuffles (softmax, layer norm). One log.
  : > "$OUT/sanitizer.log"
  for run in "memcheck --quick" "racecheck --quick --filter gru|lstm|seq2seq" \
             "synccheck --quick --filter attention|layer_norm|transformer|mha"; do
    tool=${run%% *}
    args=${run#* }
    stamp "compute-sanitizer $tool (gpucheck $args, at most 60 s)"
    echo "==== compute-sanitizer --tool $tool gpucheck $args" >> "$OUT/sanitizer.log"
    timeout 60 compute-sanitizer --tool "$tool" --error-exitcode 3 "$BIN" $args \
      > "$OUT/sanitizer-run.log" 2>&1
    rc=$?
    cat "$OUT/sanitizer-run.log" >> "$OUT/sanitizer.log"
    grep -E '^gpucheck: [0-9]+ cases|ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/sanitizer-run.log"
    case $rc in
      0) echo "$tool: clean" ;;
      124) echo "$tool: stopped at the time limit"; status=1 ;;
      *) echo "$tool: exit $rc"; grep -m 5 -E '^=+ (Invalid|Error|Race|.*hazard|Barrier|.*sync)' "$OUT/sanitizer-run.log"; status=1 ;;
    esac
  done
  rm -f "$OUT/sanitizer-run.log"
fi

if command -v ncu >/dev/null 2>&1 && [ "$EMU" != 1 ]; then
  # where a W4 (transformer) training step's time goes: each kernel's duration over about
  # two steps after a warm-up (ncu serialises the launches, so no overlap is measured)
  stamp "ncu: kernel durations of W4 (at most 100 s)"
  timeout 100 ncu --clock-control none --metrics gpu__time_duration.sum --launch-skip 600 \
    --launch-count 400 --print-summary per-kernel "$BIN" --time --reps 1 --only W4 \
    > "$OUT/ncu-w4.txt" 2>&1 || echo "ncu: exit $? (see ncu-w4.txt)"
  grep -c 'gpu__time_duration' "$OUT/ncu-w4.txt"
fi
stamp "done, status $status"
exit $status
