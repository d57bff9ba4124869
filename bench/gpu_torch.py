#!/usr/bin/env python3
"""PyTorch's training-step times on the GPU for the workloads that `gpucheck --time`
(tests/gpu) times for tsattn: the same models as bench/run.py (imported from there), the
same shapes, batches, steps and Adam, on random data, in one process.

    python3 bench/gpu_torch.py [--reps 5] [--only W1,W4] [--cudnn-benchmark]

Full float32 (TF32 off, as tsattn's cuBLAS calls). One untimed warm-up epoch, then --reps
timed runs of the whole step count; each run's time is read after torch.cuda.synchronize();
the median per step is printed. Each step is zero_grad, forward, MSE loss, backward, Adam step
and loss.item() (a host read each step, as tsattn's loop reads its loss). PyTorch's defaults
otherwise; --cudnn-benchmark sets torch.backends.cudnn.benchmark = True (cuDNN then times its
algorithms for each shape in the warm-up and keeps the fastest). This is R-free on
purpose: the GPU machine has no R (tools/gpu-check.sh runs it there).
"""
import argparse
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: the models)

# id, n, T, F, batch, epochs, lr: tests/gpu/gpucheck.c's table (keep the two in step)
TABLE = [
    ("W1", 1, 200, 1, 1, 300, 0.01),
    ("W2", 256, 100, 8, 64, 10, 1e-3),
    ("W3", 256, 100, 8, 64, 10, 1e-3),
    ("W4", 128, 100, 8, 32, 10, 1e-3),
    ("W5cnn", 512, 100, 1, 128, 10, 1e-3),
    ("W5att", 512, 100, 1, 128, 10, 1e-3),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument("--cudnn-benchmark", action="store_true")
    a = ap.parse_args()
    import torch
    torch.backends.cudnn.benchmark = a.cudnn_benchmark
    if not torch.cuda.is_available():
        print("gpu_torch: torch sees no CUDA device", file=sys.stderr)
        return 1
    prec = run.strict_fp32(torch)
    print("torch %s, CUDA %s, cuDNN %s, %s; %s; cudnn.benchmark %s" % (
        torch.__version__, torch.version.cuda, torch.backends.cudnn.version(),
        torch.cuda.get_device_name(0), prec, torch.backends.cudnn.benchmark))
    print("%-6s %6s %12s %12s %12s" % ("id", "steps", "torch ms/step", "torch min", "final loss"))
    build = run.torch_models()
    only = set(a.only.split(",")) if a.only else None
    for (W, n, T, F, bs, epochs, lr) in TABLE:
        if only and W not in only:
            continue
        g = torch.Generator().manual_seed(42)
        x = torch.randn(n, T, F, generator=g).cuda()
        y = (0.5 * torch.randn(n, T, 1, generator=g)).cuda()
        model = build(W, F).cuda().train()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        lossf = torch.nn.MSELoss()
        nb = math.ceil(n / bs)

        def epoch():
            return run.torch_epoch(model, opt, lossf, x, y, bs, nb)

        epoch()  # warm-up: kernels, cuDNN plans, allocator
        torch.cuda.synchronize()
        ts = []
        last = float("nan")
        for _ in range(a.reps):
            t0 = time.perf_counter()
            for _ in range(epochs):
                last = epoch()
            torch.cuda.synchronize()
            ts.append((time.perf_counter() - t0) * 1e3 / (epochs * nb))
        print("%-6s %6d %12.4f %12.4f %12.6g" % (W, epochs * nb, statistics.median(ts), min(ts), last))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
