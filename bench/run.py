#!/usr/bin/env python3
"""tsattn against PyTorch on the workloads of issues 6 and 14, and the GEMM table of issue 14
(run by `make bench`; never in CI).

    python bench/run.py [--reps N] [--threads N] [--quick] [--out bench/RESULTS.md]
                        [--rscript Rscript] [--only W2,W4] [--device cpu|cuda] [--gemm-only]

Needs PyTorch in this Python and tsattn installed where the R children find it (R_LIBS).
Every measured run is its own child process (a Python one for PyTorch, an R one for tsattn),
run alternately (torch, tsattn, tsattn, torch, ...) so that both sides see the same machine
load; the peak resident memory of each child comes from os.wait4(). Within a child only the
training loop is timed: for PyTorch the loop over steps (zero_grad, forward, MSE loss,
backward, Adam step, loss.item()); for tsattn one fit() call (argument checks, building the
C network from the R weights, all steps, copying the weights back), divided by the number of
steps. R start-up, the torch import, data creation and model construction are not timed.
Both sides start from the same weights (PyTorch's initialisation, copied by name into the R
network with set_weights()), see the same data in the same order (no shuffling), and use
Adam and the MSE loss, so their final losses should agree closely.

FLOPs per training step are counted analytically: 2 * (multiply-adds of every matrix product
and convolution in the forward pass), times 3 for forward + backward (the backward pass
computes two products of the same size for each forward one: the input gradient and the weight
gradient). Element-wise work (gates, activations, softmax, layer norm, Adam) is not counted.

GEMM table (CPU mode, issue 14 item 5): at the start of each thread pass, the core's sgemm
(src/ta_gemm.c, src/ta_gemm_kernel.c) called directly from C by bench/gemm_table.c (built
here with R's CC, CFLAGS, CPICFLAGS and SHLIB_OPENMP_CFLAGS, as the package's C files are;
threads with ta_set_threads) against torch.matmul (torch.set_num_threads, transposes as views)
on 2048^3 and the selected workloads' products (GEMM_SHAPES: the shapes, op nt/nn/tn and call
pattern of the layers' ta_gemm calls); median of max(reps, 5) repetitions (3 with --quick) of
as many products as fill GEMM_MIN_SECONDS, after one warm-up, fresh operands for each shape.
The 2048^3 row is the '% peak' / '% ours' reference and the 80% target of issue 14.
`--gemm-only` times that table alone (no R package needed beyond R itself; report in
/tmp/tsattn-bench-gemm.md unless --out): `make bench BENCH_GEMM_ONLY=1`.

GPU mode: `--device cuda` (`make bench BENCH_DEVICE=cuda`) runs the same workloads, data,
initial weights and steps on the GPU and writes bench/RESULTS-cuda.md (never RESULTS.md; with
--quick /tmp/tsattn-bench-quick-cuda.md). PyTorch: model, data and Adam's state moved with
.to("cuda"), full float32 (TF32 off, as tsattn's cuBLAS calls), torch.cuda.synchronize() before
the clock is read, peak device memory from torch.cuda.max_memory_allocated() over the timed
loop. tsattn: fit()/predict()/tsattn()/forecast() with device = "cuda"; fit() returns when the
weights are back in R, so its wall time needs no synchronisation; its device memory is not
measured. Each side does one untimed warm-up in the same process (W6: tsattn runs the whole
job once; nnetar() has no GPU version and runs on the CPU as in CPU mode). A workload with a
layer that tsattn cannot run on the GPU yet is reported as "no GPU path (layer N: kind)" (from
fit()'s error), with PyTorch still timed. Before anything is timed, both
tsattn::cuda_available() and torch.cuda.is_available() must be TRUE; else one line on stderr
and exit status 1 (the CPU is never timed in GPU mode). CUDA_VISIBLE_DEVICES picks the GPU for
both sides (each uses the first it sees). The venv needs a CUDA build of torch: `make bench
BENCH_DEVICE=cuda` creates ~/.cache/tsattn/bench-venv-cuda from the index
https://download.pytorch.org/whl/$BENCH_TORCH_CUDA (default cu130; choose one that the
driver supports, e.g. BENCH_TORCH_CUDA=cu126), else from PyPI, and refuses a CPU-only torch.
"""
import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from array import array

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
R_SCRIPT = os.path.join(HERE, "bench_tsattn.R")

# --------------------------------------------------------------------------------------------
# workloads
# --------------------------------------------------------------------------------------------
# n sequences of length T with F features; batch; epochs (quick: epochs_quick); data file prefix
WORKLOADS = [
    dict(id="W1", data="W1", n=1, T=200, F=1, batch=1, epochs=300, epochs_quick=60, lr=0.01,
         desc="seed 1: GRU(4) x2 layers -> dense + tanh, seq 200, batch 1"),
    dict(id="W2", data="W2", n=256, T=100, F=8, batch=64, epochs=3, epochs_quick=1, lr=1e-3,
         desc="GRU in 8, hidden 64, 2 layers, seq 100, batch 64"),
    dict(id="W3", data="W2", n=256, T=100, F=8, batch=64, epochs=3, epochs_quick=1, lr=1e-3,
         desc="LSTM in 8, hidden 64, 2 layers, seq 100, batch 64"),
    dict(id="W4", data="W2", n=128, T=100, F=8, batch=32, epochs=3, epochs_quick=1, lr=1e-3,
         desc="dense 8->64, sinusoidal PE, 2 transformer encoders (4 heads, ff 256), seq 100, batch 32"),
    dict(id="W5cnn", data="W5", n=512, T=100, F=1, batch=128, epochs=2, epochs_quick=1, lr=1e-3,
         desc="seed 4: five conv1d (k 5, 64 ch), length 100, batch 128"),
    dict(id="W5att", data="W5", n=512, T=100, F=1, batch=128, epochs=2, epochs_quick=1, lr=1e-3,
         desc="seed 4: conv1d x2, attention (64, key 96, dot), conv1d x2, length 100, batch 128"),
]
DATA = {  # data sets written once by the R side: (n, T, F)
    "W1": (1, 200, 1),
    "W2": (256, 100, 8),
    "W5": (512, 100, 1),
}


def flops_per_step(w):
    """Analytic FLOPs of one training step (forward + backward) of workload w."""
    B, T, F = w["batch"], w["T"], w["F"]
    N = B * T
    mm = lambda rows, k, cols: 2.0 * rows * k * cols   # a [rows x k] @ [k x cols] product
    W = w["id"]
    if W == "W1":
        H = 4
        fwd = mm(N, F + H, 3 * H) + mm(N, H + H, 3 * H) + mm(N, H, 1)
    elif W == "W2":
        H = 64
        fwd = mm(N, F + H, 3 * H) + mm(N, H + H, 3 * H) + mm(N, H, 1)
    elif W == "W3":
        H = 64
        fwd = mm(N, F + H, 4 * H) + mm(N, H + H, 4 * H) + mm(N, H, 1)
    elif W == "W4":
        d, dff = 64, 256
        layer = (mm(N, d, 3 * d) + mm(N, d, d)          # Q/K/V and output projections
                 + 2 * B * mm(T, d, T)                  # scores Q K^T and weights @ V, all heads
                 + mm(N, d, dff) + mm(N, dff, d))       # feed-forward
        fwd = mm(N, F, d) + 2 * layer + mm(N, d, 1)
    elif W == "W5cnn":
        C, k = 64, 5
        fwd = mm(N, 1 * k, C) + 3 * mm(N, C * k, C) + mm(N, C * k, 1)
    elif W == "W5att":
        C, k, dk = 64, 5, 96
        att = mm(N, C, dk) * 2 + mm(N, C, C) + B * mm(T, dk, T) + B * mm(T, T, C)
        fwd = mm(N, 1 * k, C) + 2 * mm(N, C * k, C) + att + mm(N, C * k, 1)
    else:
        raise ValueError(W)
    return 3.0 * fwd


FLOP_FORMULAS = """\
FLOPs per step = 3 x forward, forward = sum of 2*m*k*n over the matrix products [m x k][k x n]
(N = batch * T rows; element-wise work not counted):
- GRU layer (in I, hidden H): 2*N*(I+H)*3H; LSTM layer: 2*N*(I+H)*4H; dense: 2*N*in*out
- transformer encoder layer (width d, ff f, heads h): 2*N*d*3d + 2*N*d*d (projections)
  + 2 * 2*B*T*T*d (scores and weighted sum over all heads) + 2 * 2*N*d*f (feed-forward)
- conv1d (in C_in, out C_out, kernel k): 2*N*C_in*k*C_out
- seed 4 attention (in 64, key 96, value 64, dot): 2*N*64*(96+96+64) + 2*B*T*T*96 + 2*B*T*T*64
"""


# --------------------------------------------------------------------------------------------
# GEMM table: tsattn's sgemm (called from C by bench/gemm_table.c) against torch.matmul
# --------------------------------------------------------------------------------------------
# (id, op, M, N, K, how ours runs, workloads, what) -- C[M,N] (+)= op(A) op(B) as the layers
# call ta_gemm (nt: A[M,K] B[N,K]^T, the forward of a linear map; nn: A[M,K] B[K,N], an input
# gradient; tn: A[K,M]^T B[K,N], a weight gradient; pnt/pnn: nt/nn with B packed once, the
# recurrent weight of every step). How ours runs (bench/gemm_table.c): "call" one call, the
# kernel's own threads; "bX" X products of that shape, one a thread (the attention blocks of
# ta_mha.c and layer_attention.c, one per sequence and head); "rX" the rows over the threads
# (ta_parallel_rows), X at a time (0: all; a recurrent step's sequences, conv1d's 256-row
# im2col blocks); "kX" (tn) the rows over the threads, K summed X at a time (conv1d's weight
# gradient). Shapes from the workloads above: W2/W3 B 64, T 100, hidden 64 (gates 192 / 256),
# input 8 then 64; W4 B 32, T 100, d 64, 4 heads of 16, ff 256 (3200 rows); W5 B 128, T 100,
# conv1d(64, 5) (12800 rows, 320 im2col columns), seed attention 64 -> key 96, value 64.
GEMM_SHAPES = [
    ("sq", "nt", 2048, 2048, 2048, "call", "", "2048^3 (the issue-14 target: 80% of PyTorch)"),
    ("w2x1", "nt", 6400, 192, 8, "call", "W2", "GRU input projection x W_ih^T, layer 1 (all steps)"),
    ("w2x2", "nt", 6400, 192, 64, "call", "W2", "GRU input projection, layer 2"),
    ("w2h", "pnt", 64, 192, 64, "r0", "W2", "GRU step h W_hh^T"),
    ("w2hb", "pnn", 64, 64, 192, "r0", "W2", "GRU step backward dP W_hh"),
    ("w2dw", "tn", 192, 64, 6400, "call", "W2", "GRU dW_hh = dP^T h, dW_ih = dG^T x (layer 2)"),
    ("w2dx", "nn", 6400, 64, 192, "call", "W2", "GRU input gradient dG W_ih (layer 2)"),
    ("w3x1", "nt", 6400, 256, 8, "call", "W3", "LSTM input projection, layer 1"),
    ("w3x2", "nt", 6400, 256, 64, "call", "W3", "LSTM input projection, layer 2"),
    ("w3h", "pnt", 64, 256, 64, "r0", "W3", "LSTM step h W_hh^T"),
    ("w3hb", "pnn", 64, 64, 256, "r0", "W3", "LSTM step backward dG W_hh"),
    ("w3dw", "tn", 256, 64, 6400, "call", "W3", "LSTM dW_hh = dG^T h, dW_ih = dG^T x (layer 2)"),
    ("w3dx", "nn", 6400, 64, 256, "call", "W3", "LSTM input gradient dG W_ih (layer 2)"),
    ("w4qkv", "nt", 3200, 192, 64, "call", "W4", "attention Q/K/V projection x W_in^T"),
    ("w4o", "nt", 3200, 64, 64, "call", "W4", "attention output projection"),
    ("w4f1", "nt", 3200, 256, 64, "call", "W4", "feed-forward 64 -> 256"),
    ("w4f2", "nt", 3200, 64, 256, "call", "W4", "feed-forward 256 -> 64"),
    ("w4s", "nt", 100, 100, 16, "b128", "W4", "scores Q K^T per head (also dP = dO V^T)"),
    ("w4pv", "nn", 100, 16, 100, "b128", "W4", "P V per head (also dQ = dS K)"),
    ("w4pvb", "tn", 100, 16, 100, "b128", "W4", "dV = P^T dO, dK = dS^T Q per head"),
    ("w4dwin", "tn", 192, 64, 3200, "call", "W4", "dW_in = dQKV^T x"),
    ("w4dx", "nn", 3200, 64, 192, "call", "W4", "dx = dQKV W_in"),
    ("w4dwo", "tn", 64, 64, 3200, "call", "W4", "dW_out = dout^T ctx"),
    ("w4dctx", "nn", 3200, 64, 64, "call", "W4", "dctx = dout W_out"),
    ("w4dw2", "tn", 64, 256, 3200, "call", "W4", "feed-forward dW2 = df^T h"),
    ("w4dh", "nn", 3200, 256, 64, "call", "W4", "feed-forward dh = df W2"),
    ("w4dw1", "tn", 256, 64, 3200, "call", "W4", "feed-forward dW1 = dz^T u"),
    ("w4du", "nn", 3200, 64, 256, "call", "W4", "feed-forward du = dz W1"),
    ("w5c", "nt", 12800, 64, 320, "r256", "W5", "conv1d(64, 5) forward cols Wr^T"),
    ("w5cw", "tn", 320, 64, 12800, "k256", "W5", "conv1d weight gradient cols^T dz"),
    ("w5ci", "nn", 12800, 320, 64, "r256", "W5", "conv1d input gradient dz Wr"),
    ("w5q", "nt", 12800, 96, 64, "call", "W5att", "attention query / key projection"),
    ("w5v", "nt", 12800, 64, 64, "call", "W5att", "attention value projection"),
    ("w5s", "nt", 100, 100, 96, "b128", "W5att", "scores Q K^T per sequence"),
    ("w5pv", "nn", 100, 64, 100, "b128", "W5att", "P V per sequence"),
    ("w5dp", "nt", 100, 100, 64, "b128", "W5att", "dP = dO V^T"),
    ("w5dq", "nn", 100, 96, 100, "b128", "W5att", "dQ = dS K"),
    ("w5dk", "tn", 100, 96, 100, "b128", "W5att", "dK = dS^T Q"),
    ("w5dv", "tn", 100, 64, 100, "b128", "W5att", "dV = P^T dO"),
    ("w5dwq", "tn", 96, 64, 12800, "call", "W5att", "attention dW_q, dW_k"),
    ("w5dwv", "tn", 64, 64, 12800, "call", "W5att", "attention dW_v"),
    ("w5dx", "nn", 12800, 64, 96, "call", "W5att", "attention input gradient dQ W_q (dK W_k)"),
    ("w5dxv", "nn", 12800, 64, 64, "call", "W5att", "attention input gradient dV W_v"),
]
GEMM_MIN_SECONDS = 0.05  # each repetition: as many products as fill this (both sides)


def gemm_shapes(sel_ids, size=2048):
    """The GEMM table's shapes for the selected workloads (size^3 always, first)."""
    def wanted(wl):
        if not wl or sel_ids is None:
            return True
        return any(i == wl or (wl == "W5" and i.startswith("W5")) for i in sel_ids)
    out = [dict(id=s[0], op=s[1], M=s[2], N=s[3], K=s[4], mode=s[5], wl=s[6], what=s[7])
           for s in GEMM_SHAPES if wanted(s[6])]
    out[0].update(M=size, N=size, K=size, what="%d^3 (the issue-14 target: 80%% of PyTorch)" % size)
    return out


def gemm_spec(s):
    return "%s:%s:%d:%d:%d:%s" % (s["id"], s["op"], s["M"], s["N"], s["K"], s["mode"])


def gemm_how(s):
    """How our side runs a shape, in words (bench/gemm_table.c's modes)."""
    m = s["mode"]
    how = ("one call" if m == "call" else
           "%s products, one a thread" % m[1:] if m[0] == "b" else
           "rows over the threads" + ("" if m == "r0" else ", %s at a time" % m[1:]) if m[0] == "r" else
           "rows over the threads, K %s at a time" % m[1:])
    return how + (", B packed once" if s["op"].startswith("p") else "")


def gemm_shape_text(s):
    t = "%d x %d x %d" % (s["M"], s["N"], s["K"])
    return "%s x (%s)" % (s["mode"][1:], t) if s["mode"][0] == "b" else t


def gemm_flops(s):
    return 2.0 * s["M"] * s["N"] * s["K"] * (int(s["mode"][1:]) if s["mode"][0] == "b" else 1)


# --------------------------------------------------------------------------------------------
# PyTorch side (imported only in the parent, to write initial weights, and in torch children)
# --------------------------------------------------------------------------------------------
def torch_models():
    import torch
    from torch import nn

    class RNNNet(nn.Module):
        def __init__(self, cell, F, H, tanh):
            super().__init__()
            self.rnn = cell(F, H, 2, batch_first=True)
            self.out = nn.Linear(H, 1)
            self.tanh = tanh

        def forward(self, x):
            y = self.out(self.rnn(x)[0])
            return torch.tanh(y) if self.tanh else y

        def r_params(self):
            return ([("0." + n, p) for n, p in self.rnn.named_parameters()]
                    + [("1." + n, p) for n, p in self.out.named_parameters()])

    def sinusoid(max_len, d):
        pos = torch.arange(max_len, dtype=torch.float64)[:, None]
        j2 = torch.arange(0, d, 2, dtype=torch.float64)
        ang = pos / torch.pow(10000.0, j2 / d)
        P = torch.zeros(max_len, d, dtype=torch.float64)
        P[:, 0::2] = torch.sin(ang)
        P[:, 1::2] = torch.cos(ang)
        return P.float()

    class TransformerNet(nn.Module):
        def __init__(self, F, d=64, heads=4, dff=256, layers=2):
            super().__init__()
            self.inp = nn.Linear(F, d)
            self.register_buffer("P", sinusoid(1000, d))
            self.enc = nn.ModuleList([
                nn.TransformerEncoderLayer(d, heads, dff, dropout=0.0, batch_first=True)
                for _ in range(layers)])
            self.out = nn.Linear(d, 1)

        def forward(self, x):
            h = self.inp(x) + self.P[: x.shape[1]]
            for e in self.enc:
                h = e(h)
            return self.out(h)

        def r_params(self):
            ps = [("0." + n, p) for n, p in self.inp.named_parameters()]
            for i, e in enumerate(self.enc):
                ps += [("%d.%s" % (i + 2, n), p) for n, p in e.named_parameters()]
            return ps + [("%d.%s" % (len(self.enc) + 2, n), p) for n, p in self.out.named_parameters()]

    class SeedAttention(nn.Module):  # the fourth seed's AttentionLayer
        def __init__(self, cin, cout, ckey):
            super().__init__()
            self.conv_Q = nn.Conv1d(cin, ckey, kernel_size=1, bias=False)
            self.conv_K = nn.Conv1d(cin, ckey, kernel_size=1, bias=False)
            self.conv_V = nn.Conv1d(cin, cout, kernel_size=1, bias=False)

        def forward(self, x):  # [B, C, T]
            Q, K, V = self.conv_Q(x), self.conv_K(x), self.conv_V(x)
            A = Q.permute(0, 2, 1).matmul(K).softmax(2)
            return A.matmul(V.permute(0, 2, 1)).permute(0, 2, 1)

    class ConvNet(nn.Module):
        def __init__(self, attention, ks=5):
            super().__init__()
            conv = lambda i, o: nn.Conv1d(i, o, kernel_size=ks, padding=ks // 2)
            if attention:
                mods = [conv(1, 64), nn.ReLU(), conv(64, 64), nn.ReLU(),
                        SeedAttention(64, 64, 96), nn.ReLU(), conv(64, 64), nn.ReLU(), conv(64, 1)]
                rnames = [0, None, 1, None, 2, None, 4, None, 5]
            else:
                mods = [conv(1, 64), nn.ReLU(), conv(64, 64), nn.ReLU(), conv(64, 64), nn.ReLU(),
                        conv(64, 64), nn.ReLU(), conv(64, 1)]
                rnames = [0, None, 1, None, 2, None, 3, None, 4]
            self.net = nn.Sequential(*mods)
            self.rnames = rnames

        def forward(self, x):  # [B, T, 1] -> [B, T, 1]
            return self.net(x.permute(0, 2, 1)).permute(0, 2, 1)

        def r_params(self):
            ps = []
            for m, r in zip(self.net, self.rnames):
                if r is None:
                    continue
                if isinstance(m, SeedAttention):
                    ps += [("%d.query.weight" % r, m.conv_Q.weight), ("%d.key.weight" % r, m.conv_K.weight),
                           ("%d.value.weight" % r, m.conv_V.weight)]
                else:
                    ps += [("%d.%s" % (r, n), p) for n, p in m.named_parameters()]
            return ps

    def build(W, F):
        torch.manual_seed(0)
        if W == "W1":
            return RNNNet(nn.GRU, F, 4, True)
        if W == "W2":
            return RNNNet(nn.GRU, F, 64, False)
        if W == "W3":
            return RNNNet(nn.LSTM, F, 64, False)
        if W == "W4":
            return TransformerNet(F)
        if W == "W5cnn":
            return ConvNet(False)
        if W == "W5att":
            return ConvNet(True)
        raise ValueError(W)

    return build


def r_shape(p):
    """A parameter as R sees it: the seed attention's kernel-1 conv weights are matrices."""
    return [s for s in p.shape] if not (p.dim() == 3 and p.shape[2] == 1) else list(p.shape[:2])


def write_weights(model, prefix):
    """Initial weights in R's order, each parameter in column-major order (doubles)."""
    vals = array("d")
    with open(prefix + ".weights.txt", "w") as f:
        for name, p in model.r_params():
            shape = r_shape(p)
            t = p.detach().double().reshape(shape)
            t = t.permute(*reversed(range(t.dim()))).contiguous() if t.dim() > 1 else t
            vals.extend(t.reshape(-1).tolist())
            f.write(" ".join([name] + [str(s) for s in shape]) + "\n")
    with open(prefix + ".weights.bin", "wb") as f:
        vals.tofile(f)


def read_weights(model, prefix):
    import torch
    vals = array("d")
    with open(prefix + ".weights.bin", "rb") as f:
        vals.frombytes(f.read())
    off = 0
    with torch.no_grad():
        for name, p in model.r_params():
            shape = r_shape(p)
            k = p.numel()
            t = torch.tensor(vals[off:off + k], dtype=torch.float64)
            t = t.reshape(list(reversed(shape))).permute(*reversed(range(len(shape)))) if len(shape) > 1 else t
            p.copy_(t.reshape(p.shape).float())
            off += k
    assert off == len(vals), "weights file size"


def read_array(path, n, T, F):
    import torch
    vals = array("d")
    with open(path, "rb") as f:
        vals.frombytes(f.read())
    assert len(vals) == n * T * F, path
    # R's column-major [n, T, F] is row-major [F, T, n]
    return torch.tensor(vals, dtype=torch.float64).reshape(F, T, n).permute(2, 1, 0).float().contiguous()


def strict_fp32(torch):
    """GPU mode: full float32 products in PyTorch (no TF32), as tsattn's cuBLAS calls."""
    try:
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        torch.backends.cudnn.conv.fp32_precision = "ieee"
        torch.backends.cudnn.rnn.fp32_precision = "ieee"
        return "float32 without TF32 (fp32_precision = \"ieee\" for matmul, cuDNN conv and RNN)"
    except AttributeError:  # PyTorch before 2.9
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        return "float32 without TF32 (allow_tf32 = False for matmul and cuDNN)"


def torch_epoch(model, opt, lossf, x, y, bs, nb):
    """One epoch of the timed loop, batches in order: zero_grad, forward, loss, backward,
    Adam step, loss.item() per step; returns the epoch's mean loss (also bench/gpu_torch.py's)."""
    tot = 0.0
    for b in range(nb):
        xb, yb = x[b * bs:(b + 1) * bs], y[b * bs:(b + 1) * bs]
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(xb), yb)
        loss.backward()
        opt.step()
        tot += loss.item()
    return tot / nb


def child_torch_train(a):
    import torch
    torch.set_num_threads(a.threads)
    cuda = a.device == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        strict_fp32(torch)
    w = next(w for w in WORKLOADS if w["id"] == a.workload)
    n, T, F = DATA[w["data"]]
    n = w["n"]
    x = read_array(os.path.join(a.dir, w["data"] + ".x.bin"), DATA[w["data"]][0], T, F)[:n]
    y = read_array(os.path.join(a.dir, w["data"] + ".y.bin"), DATA[w["data"]][0], T, 1)[:n]
    model = torch_models()(w["id"], F)
    read_weights(model, os.path.join(a.dir, w["id"]))
    if cuda:  # weights, data and (created below) Adam's state all on the GPU
        model, x, y = model.to("cuda"), x.to("cuda"), y.to("cuda")
        sync()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=w["lr"])
    lossf = torch.nn.MSELoss()
    bs = w["batch"]
    nb = math.ceil(n / bs)
    # warm-up (not timed): one step of a copy on the first batch, so that the timed loop
    # starts with PyTorch's kernels, allocator and thread pool ready (tsattn does the same)
    import copy
    tw = time.perf_counter()
    wm = copy.deepcopy(model)
    wopt = torch.optim.Adam(wm.parameters(), lr=w["lr"])
    lossf(wm(x[:bs]), y[:bs]).backward()
    wopt.step()
    sync()
    del wm, wopt
    warmup = time.perf_counter() - tw
    if cuda:  # the peak below is that of the timed loop (weights, data, Adam, activations)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    hist = []
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        hist.append(torch_epoch(model, opt, lossf, x, y, bs, nb))
    sync()
    secs = time.perf_counter() - t0
    print("RESULT seconds=%.9g steps=%d final_loss=%.9g first_loss=%.9g warmup=%.9g"
          % (secs, a.epochs * nb, hist[-1], hist[0], warmup)
          + (" gpu_peak=%.9g gpu_reserved=%.9g" % (torch.cuda.max_memory_allocated() / 2 ** 20,
                                                   torch.cuda.max_memory_reserved() / 2 ** 20)
             if cuda else ""))


def child_torch_prep(a):
    """Initial weights of each workload's PyTorch model (in R's order), and torch's version."""
    import torch
    build = torch_models()
    for W in [x for x in (a.workload or "").split(",") if x]:
        w = next(w for w in WORKLOADS if w["id"] == W)
        write_weights(build(W, w["F"]), os.path.join(a.dir, W))
    print("RESULT torch=%s blas=%s" % (torch.__version__,
          ("MKL" if torch.backends.mkl.is_available() else "no-MKL")
          + ("+oneDNN" if torch.backends.mkldnn.is_available() else "")))


def child_torch_cuda(a):
    """GPU mode: what PyTorch sees (one line "CUDAINFO {json}"); never fails."""
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import torch
        d = dict(torch=torch.__version__, cuda=torch.version.cuda, available=False)
        try:
            d["available"] = bool(torch.cuda.is_available())
            if d["available"]:
                p = torch.cuda.get_device_properties(0)
                d.update(name=p.name, capability="%d.%d" % (p.major, p.minor),
                         memory_gib=p.total_memory / 2 ** 30, cudnn=torch.backends.cudnn.version(),
                         precision=strict_fp32(torch))
        except Exception as e:  # a driver too old for this torch, ...
            d["available"], d["error"] = False, str(e).splitlines()[0] if str(e) else repr(e)
    d["warning"] = " ".join(str(w.message).split()) if caught else ""
    print("CUDAINFO " + json.dumps(d))


def child_torch_gemm(a):
    import torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    s = a.size
    A, B = torch.randn(s, s), torch.randn(s, s)
    cuda = a.device == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        strict_fp32(torch)
        A, B = A.to("cuda"), B.to("cuda")
    C = A @ B
    sync()
    ts = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        torch.matmul(A, B, out=C)
        sync()
        ts.append(time.perf_counter() - t0)
    med = statistics.median(ts)
    print("RESULT seconds=%.9g gflops=%.9g" % (med, 2.0 * s ** 3 / med / 1e9))


def child_torch_gemm_table(a):
    """The GEMM table's PyTorch side: torch.matmul on each shape, transposed operands as
    views (A @ B.mT, A.mT @ B; batched for "bX"), into a preallocated C; one line
    "GEMM id=.. seconds=.. gflops=.." per shape (timing as bench/gemm_table.c's)."""
    import torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print("TORCHINFO threads=%d" % torch.get_num_threads(), flush=True)
    for spec in a.gemm_specs.split(","):
        sid, op, M, N, K, mode = spec.split(":")
        M, N, K = int(M), int(N), int(K)
        lead = [int(mode[1:])] if mode[0] == "b" else []
        fresh = lambda *d: torch.rand(*(lead + list(d))) * 2 - 1  # fresh operands, [-1, 1)
        C = torch.empty(*(lead + [M, N]))
        if op in ("nt", "pnt"):
            A, B = fresh(M, K), fresh(N, K)
            f = lambda: torch.matmul(A, B.mT, out=C)
        elif op in ("nn", "pnn"):
            A, B = fresh(M, K), fresh(K, N)
            f = lambda: torch.matmul(A, B, out=C)
        else:  # tn
            A, B = fresh(K, M), fresh(K, N)
            f = lambda: torch.matmul(A.mT, B, out=C)
        t0 = time.perf_counter()
        f()  # warm-up
        t1 = time.perf_counter() - t0
        inner = 1 if t1 >= a.gemm_min_seconds else int(a.gemm_min_seconds / max(t1, 1e-7)) + 1
        ts = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            for _ in range(inner):
                f()
            ts.append((time.perf_counter() - t0) / inner)
        sec = statistics.median(ts)
        flop = 2.0 * M * N * K * (lead[0] if lead else 1)
        print("GEMM id=%s seconds=%.9g gflops=%.9g inner=%d reps=%d"
              % (sid, sec, flop / sec / 1e9, inner, a.reps), flush=True)


# --------------------------------------------------------------------------------------------
# the parent
# --------------------------------------------------------------------------------------------
def run_child(argv, env):
    """Run argv; return (dict from its RESULT line, peak RSS in MiB)."""
    with tempfile.TemporaryFile(mode="w+") as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if p.returncode != 0:
        raise RuntimeError("child failed (%d): %s\n%s" % (p.returncode, " ".join(argv), text))
    line = [l for l in text.splitlines() if l.startswith("RESULT ")]
    if not line:
        raise RuntimeError("no RESULT line from %s\n%s" % (" ".join(argv), text))
    res = {}
    for kv in line[-1].split()[1:]:
        k, v = kv.split("=", 1)
        try:
            res[k] = float(v)
        except ValueError:
            res[k] = v
    return res, ru.ru_maxrss / 1024.0


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()
    except Exception:
        return ""


def r_cmd(rscript):
    """R next to the given Rscript (for `R CMD config`), else R on the PATH."""
    path = shutil.which(rscript) or rscript
    r = os.path.join(os.path.dirname(path), "R")
    return r if os.path.dirname(path) and os.access(r, os.X_OK) else "R"


def build_gemm_table(rscript, tmp):
    """Builds bench/gemm_table.c with src/ta_gemm.c, src/ta_gemm_kernel.c and src/ta_threads.c
    as R builds the package's C files (R's CC, CFLAGS, CPICFLAGS and SHLIB_OPENMP_CFLAGS: -O2,
    OpenMP; the kernels' ISA variants are in the sources, as target attributes and clones);
    returns (path of the program, the compile command)."""
    import shlex
    R = r_cmd(rscript)
    conf = lambda v: sh("%s CMD config %s" % (shlex.quote(R), v))
    cc, cflags, pic = conf("CC") or "gcc", conf("CFLAGS") or "-O2", conf("CPICFLAGS")
    omp = ""
    makeconf = os.path.join(sh("%s RHOME" % shlex.quote(R)), "etc", "Makeconf")
    try:
        with open(makeconf) as f:
            for line in f:
                if line.startswith("SHLIB_OPENMP_CFLAGS"):
                    omp = line.split("=", 1)[1].split("#")[0].strip()
    except OSError:
        omp = "-fopenmp"
    exe = os.path.join(tmp, "gemm_table")
    src = os.path.join(ROOT, "src")
    argv = (shlex.split(cc) + shlex.split(cflags) + shlex.split(pic) + shlex.split(omp)
            + ["-I" + src, os.path.join(HERE, "gemm_table.c")]
            + [os.path.join(src, f) for f in ("ta_gemm.c", "ta_gemm_kernel.c", "ta_threads.c")]
            + ["-o", exe] + shlex.split(omp) + ["-lm", "-lpthread"])
    p = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        raise RuntimeError("building bench/gemm_table.c failed: %s\n%s" % (" ".join(argv), p.stdout + p.stderr))
    rel = lambda x: ("gemm_table" if x == exe else "-Isrc" if x == "-I" + src else
                     os.path.relpath(x, ROOT) if x.startswith(ROOT) else x)
    return exe, " ".join(shlex.quote(rel(x)) for x in argv)


def gemm_lines(argv, env):
    """Runs a GEMM-table child; returns ({id: result}, {key: value} of its info line)."""
    p = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT)
    if p.returncode != 0:
        raise RuntimeError("child failed (%d): %s\n%s" % (p.returncode, " ".join(argv), p.stdout + p.stderr))
    res, info = {}, {}
    for line in p.stdout.splitlines():
        f = line.split()
        if not f:
            continue
        kv = dict(x.split("=", 1) for x in f[1:] if "=" in x)
        if f[0] == "GEMM":
            res[kv["id"]] = dict(seconds=float(kv["seconds"]), gflops=float(kv["gflops"]),
                                 inner=int(kv["inner"]))
        elif f[0] in ("KERNEL", "TORCHINFO"):
            info.update(kv)
    return res, info


def run_gemm_table(exe, py, shapes, nt, reps, env, torch_first):
    """One thread count of the GEMM table: PyTorch's child and ours (alternating which goes
    first from pass to pass); a list of rows."""
    specs = [gemm_spec(s) for s in shapes]
    sides = [("torch", py + ["--child", "torch-gemm-table", "--threads", str(nt), "--reps", str(reps),
                             "--gemm-min-seconds", str(GEMM_MIN_SECONDS), "--gemm-specs", ",".join(specs)]),
             ("ours", [exe, str(nt), str(reps), str(GEMM_MIN_SECONDS)] + specs)]
    out = {}
    for side, argv in (sides if torch_first else sides[::-1]):
        out[side] = gemm_lines(argv, env)
    rows = []
    for s in shapes:
        o, t = out["ours"][0][s["id"]], out["torch"][0][s["id"]]
        rows.append(dict(s, threads=nt, ours=o["gflops"], torch=t["gflops"], ratio=o["gflops"] / t["gflops"]))
        print("  GEMM %-7s %-3s %-22s %d thr: ours %7.1f GFLOP/s, torch %7.1f  (%.2f)"
              % (s["id"], s["op"], gemm_shape_text(s), nt, o["gflops"], t["gflops"], o["gflops"] / t["gflops"]),
              flush=True)
    return rows, out["ours"][1]


def kernel_text(k):
    """The micro-kernel in use, from gemm_table's KERNEL line."""
    mr, nr, fma = k.get("mr"), k.get("nr"), k.get("fma")
    isa = ("AVX-512" if (mr, nr) == ("12", "32") else "AVX2+FMA" if fma == "1" else "baseline (no AVX2)")
    return "%s x %s tile, %s" % (mr, nr, isa)


def machine(a, rscript, prep):
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    flags = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                fl = line.split(":", 1)[1].split()
                flags = " ".join(x for x in ("avx2", "fma", "avx512f") if x in fl)
                break
    dirty = sh("git status --porcelain --untracked-files=no | wc -l")
    return dict(
        cpu="%s (%s)" % (cpu, flags), cores=os.cpu_count(),
        mem=sh("free -g | awk '/Mem:/ {print $2}'") + " GiB",
        os=sh(". /etc/os-release && echo $PRETTY_NAME") or platform.platform(),
        r=sh(rscript + " -e 'cat(R.version.string)'"),
        tsattn=sh(rscript + " -e 'cat(as.character(packageVersion(\"tsattn\")), "
                  "if (isTRUE(tryCatch(tsattn:::cuda_built(), error = function(e) FALSE))) "
                  "\"(built with CUDA: cudart and cuBLAS are loaded, not used)\" else \"(CPU-only build)\")'"),
        forecast=sh(rscript + " -e 'cat(as.character(packageVersion(\"forecast\")))'"),
        torch=prep["torch"], python=platform.python_version(), blas=prep["blas"],
        date=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        commit=sh("git rev-parse --short HEAD") + (" (working tree: %s modified tracked files)" % dirty
                                                    if dirty not in ("", "0") else ""),
        load_start=sh("uptime"), load1=os.getloadavg()[0],
    )


def fmt_ms(s):
    return "%.3g" % (s * 1e3) if s < 10 else "%.0f" % (s * 1e3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", choices=["torch-train", "torch-gemm", "torch-prep", "torch-cuda",
                                        "torch-gemm-table"])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                    help="cuda: both sides on the GPU, report in bench/RESULTS-cuda.md")
    ap.add_argument("--workload")
    ap.add_argument("--dir")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", default=str(os.cpu_count()),
                    help="thread count, or a comma-separated list (one pass each), e.g. 2,1")
    ap.add_argument("--quick", action="store_true", help="one repetition, fewer steps")
    ap.add_argument("--only", default="", help="workloads, e.g. W1,W5 (default: all)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--rscript", default=os.environ.get("RSCRIPT", "Rscript"))
    ap.add_argument("--command", default=None, help="the command line to quote in RESULTS.md")
    ap.add_argument("--gemm-only", action="store_true",
                    help="only the GEMM table (our sgemm against torch.matmul), no workloads; "
                         "writes /tmp/tsattn-bench-gemm.md unless --out")
    ap.add_argument("--gemm-specs", help=argparse.SUPPRESS)
    ap.add_argument("--gemm-min-seconds", type=float, default=GEMM_MIN_SECONDS, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        a.threads = int(a.threads)
        return {"torch-train": child_torch_train, "torch-gemm": child_torch_gemm,
                "torch-prep": child_torch_prep, "torch-cuda": child_torch_cuda,
                "torch-gemm-table": child_torch_gemm_table}[a.child](a)

    threads = [int(t) if int(t) > 0 else os.cpu_count() for t in str(a.threads).split(",") if t.strip()]
    if a.quick:
        a.reps = 1
    cuda = a.device == "cuda"
    sfx = "-cuda" if cuda else ""
    if cuda and a.gemm_only:
        sys.exit("bench: --gemm-only times the CPU kernel; not with --device cuda")
    out_path = a.out or (os.path.join(tempfile.gettempdir(), "tsattn-bench-gemm.md") if a.gemm_only
                         else os.path.join(tempfile.gettempdir(), "tsattn-bench-quick%s.md" % sfx) if a.quick
                         else os.path.join(HERE, "RESULTS%s.md" % sfx))
    py = [sys.executable, os.path.abspath(__file__)]
    rs = [a.rscript, R_SCRIPT]
    if cuda:
        if os.path.abspath(out_path) == os.path.join(HERE, "RESULTS.md"):
            sys.exit("bench: --device cuda never writes bench/RESULTS.md (the CPU figures); "
                     "give another --out")
        gpu = check_cuda(py, rs)  # exits with one line where either side has no GPU
    only = set(x for x in a.only.split(",") if x)
    sel = [w for w in WORKLOADS if not only or w["id"] in only or w["id"][:2] in only]
    do_w6 = not only or "W6" in only
    # the GEMM table (CPU mode): 2048^3 and the shapes of the selected workloads
    gshapes = [] if cuda else gemm_shapes(None if not only else [w["id"] for w in sel], a.size)
    greps = max(a.reps, 3 if a.quick else 5)
    if a.gemm_only:
        sel, do_w6 = [], False

    # this process never imports torch: a child's peak RSS (wait4) would otherwise include the
    # pages it shares with this parent between fork and exec
    tmp = tempfile.mkdtemp(prefix="tsattn-bench-")
    env0 = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # data (R writes it once) and initial weights (PyTorch's initialisation, in a child)
    for d in sorted(set(w["data"] for w in sel)):
        n, T, F = DATA[d]
        run_child(rs + ["prepare", "dir=" + tmp, "W=" + d, "n=%d" % n, "T=%d" % T, "F=%d" % F], env0)
    prep, _ = run_child(py + ["--child", "torch-prep", "--dir", tmp, "--threads", "1",
                              "--workload", ",".join(w["id"] for w in sel)], env0)
    info = machine(a, a.rscript, prep)
    if gshapes:
        gexe, info["gemm_build"] = build_gemm_table(a.rscript, tmp)
    if cuda:
        info.update(gpu_info(gpu))
    print("bench: %s, %d cores, %s; torch %s; %s" % (info["cpu"], info["cores"], info["r"],
                                                       info["torch"], info["load_start"]), flush=True)
    if cuda:
        print("bench: on the GPU: %s" % info["gpu"], flush=True)
    dev_t = ["--device", "cuda"] if cuda else []   # torch children
    dev_r = ["device=cuda"] if cuda else []       # R children
    passes = []
    for nt in threads:
        print("threads = %d" % nt, flush=True)
        env = dict(os.environ, OMP_NUM_THREADS=str(nt), MKL_NUM_THREADS=str(nt))
        ps = dict(threads=nt, rows=[], load_start=sh("uptime"))
        if gshapes:
            # the GEMM table: our kernel called from C against torch.matmul, this thread count
            ps["gemm_rows"], kern = run_gemm_table(gexe, py, gshapes, nt, greps, env,
                                                   torch_first=len(passes) % 2 == 0)
            ps["gemm_reps"] = greps
            info["kernel"] = kernel_text(kern)
        if a.gemm_only:
            ps["load_end"] = sh("uptime")
            passes.append(ps)
            continue
        # the machine's float32 GEMM peak, measured now: PyTorch and ours on size^3 (CPU: the
        # GEMM table's; GPU: torch.matmul and predict()), and ours through predict()
        if cuda:
            gemm_t, _ = run_child(py + ["--child", "torch-gemm", "--size", str(a.size), "--reps", "10",
                                        "--threads", str(nt)] + dev_t, env)
        else:
            sq = ps["gemm_rows"][0]
            gemm_t = dict(gflops=sq["torch"], ours=sq["ours"])
        gemm_o, _ = run_child(rs + ["gemm", "size=%d" % a.size, "reps=5", "threads=%d" % nt] + dev_r, env)
        ps["gemm_t"], ps["gemm_o"] = gemm_t, gemm_o
        peak = gemm_t["gflops"]
        ours_peak = gemm_o["gflops_kernel"] if cuda else gemm_t["ours"]
        print("GEMM %d^3 float32%s: torch %.1f GFLOP/s, tsattn %s%.1f GFLOP/s through predict() (%.1f "
              "without its conversions)" % (a.size, " on the GPU" if cuda else "", peak,
                                            "" if cuda else "kernel %.1f GFLOP/s, " % gemm_t["ours"],
                                            gemm_o["gflops"], gemm_o["gflops_kernel"]), flush=True)

        for w in sel:
            epochs = w["epochs_quick"] if a.quick else w["epochs"]
            targ = ["--child", "torch-train", "--workload", w["id"], "--dir", tmp,
                    "--epochs", str(epochs), "--threads", str(nt)] + dev_t
            rarg = ["train", "dir=" + tmp, "W=" + w["id"], "data=" + w["data"], "n=%d" % w["n"],
                    "ndata=%d" % DATA[w["data"]][0], "T=%d" % w["T"], "F=%d" % w["F"],
                    "batch=%d" % w["batch"], "epochs=%d" % epochs, "lr=%g" % w["lr"],
                    "threads=%d" % nt] + dev_r
            runs = {"torch": [], "tsattn": []}
            nogpu = None  # GPU mode: why tsattn cannot run this workload on the GPU (yet)
            for r in range(a.reps):
                order = ["torch", "tsattn"] if r % 2 == 0 else ["tsattn", "torch"]
                for side in order:
                    if side == "tsattn" and nogpu:
                        continue
                    res, rss = run_child(py + targ if side == "torch" else rs + rarg, env)
                    if res.get("nogpu"):
                        nogpu = no_gpu_path(res)
                        print("  %-6s %-6s rep %d: %s" % (w["id"], side, r + 1, nogpu), flush=True)
                        continue
                    res["rss"] = rss
                    res["per_step"] = res["seconds"] / res["steps"]
                    runs[side].append(res)
                    print("  %-6s %-6s rep %d: %9.3f ms/step  loss %.6g  peak RSS %.0f MiB%s"
                          % (w["id"], side, r + 1, res["per_step"] * 1e3, res["final_loss"], rss,
                             "  GPU peak %.0f MiB" % res["gpu_peak"] if "gpu_peak" in res else ""),
                          flush=True)
            ps["rows"].append(summarise_cuda(w, runs, peak, ours_peak, nogpu) if cuda
                              else summarise(w, runs, peak, ours_peak))

        if do_w6:
            w = dict(id="W6", desc="AirPassengers (144 months): `tsattn()` default fit + "
                     "`forecast(h = 24, npaths = 1000)` vs `forecast::nnetar()` + "
                     "`forecast(h = 24, PI = TRUE, npaths = 1000)`, both in R")
            runs = {"torch": [], "tsattn": []}  # "torch" is nnetar here
            nogpu = None
            for r in range(a.reps):
                order = ["nnetar", "tsattn"] if r % 2 == 0 else ["tsattn", "nnetar"]
                for side in order:
                    if side == "tsattn" and nogpu:
                        continue
                    res, rss = run_child(rs + ["forecast", "which=" + side, "threads=%d" % nt]
                                         + (dev_r if side == "tsattn" else []), env)
                    if res.get("nogpu"):
                        nogpu = no_gpu_path(res)
                        print("  W6     %-6s rep %d: %s" % (side, r + 1, nogpu), flush=True)
                        continue
                    res["rss"] = rss
                    res["per_step"] = res["seconds"]
                    runs["torch" if side == "nnetar" else "tsattn"].append(res)
                    print("  W6     %-6s rep %d: %8.3f s (fit %.3f, forecast %.3f)  RMSE %.4g  "
                          "peak RSS %.0f MiB" % (side, r + 1, res["seconds"], res["fit_seconds"],
                                                res["forecast_seconds"], res["final_loss"], rss),
                          flush=True)
            ps["rows"].append(summarise_cuda(w, runs, None, None, nogpu) if cuda
                              else summarise(w, runs, None, None))
        ps["load_end"] = sh("uptime")
        passes.append(ps)

    info["load_end"] = sh("uptime")
    shutil.rmtree(tmp, ignore_errors=True)
    text = report_cuda(a, info, passes) if cuda else report(a, info, passes)
    print()
    print(text)
    with open(out_path, "w") as f:
        f.write(text)
    print("bench: wrote %s" % out_path)


def summarise(w, runs, peak, ours_peak):
    t, o = runs["torch"], runs["tsattn"]
    med = lambda rs, k: statistics.median(r[k] for r in rs)
    row = dict(w=w, reps=len(t), steps=int(o[0]["steps"]),
               torch=med(t, "per_step"), ours=med(o, "per_step"),
               torch_all=[r["per_step"] for r in t], ours_all=[r["per_step"] for r in o],
               rss_torch=max(r["rss"] for r in t), rss_ours=max(r["rss"] for r in o),
               loss_torch=t[0]["final_loss"], loss_ours=o[0]["final_loss"],
               loss0_torch=t[0].get("first_loss"), loss0_ours=o[0].get("first_loss"),
               warm_torch=[r.get("warmup") for r in t], warm_ours=[r.get("warmup") for r in o])
    row["ratio"] = row["torch"] / row["ours"]
    if w["id"] == "W6":
        row["fit_torch"] = med(t, "fit_seconds"); row["fit_ours"] = med(o, "fit_seconds")
        row["fc_torch"] = med(t, "forecast_seconds"); row["fc_ours"] = med(o, "forecast_seconds")
        row["epochs_ours"] = o[0].get("epochs")
    else:
        fl = flops_per_step(w)
        row["flops"] = fl
        row["gflops_ours"] = fl / row["ours"] / 1e9
        row["gflops_torch"] = fl / row["torch"] / 1e9
        row["frac_peak"] = row["gflops_ours"] / peak
        row["frac_ours_peak"] = row["gflops_ours"] / ours_peak
    return row


def report(a, info, passes):
    L = []
    L.append("# tsattn against PyTorch on the CPU (issues 6 and 14)\n" if not a.gemm_only else
             "# tsattn's matrix-product kernel against PyTorch's matmul on the CPU (issue 14)\n")
    L.append("Written by `bench/run.py` (`make bench`%s); regenerate rather than edit.\n"
             % (", here with `--gemm-only`: the GEMM table alone" if a.gemm_only else ""))
    L.append("Command: `%s`\n" % (a.command or " ".join(["python", "bench/run.py"] + sys.argv[1:])))
    L.append("## Machine\n")
    for k, lab in [("cpu", "CPU"), ("cores", "cores"), ("mem", "memory"), ("os", "OS"), ("r", "R"),
                   ("tsattn", "tsattn"), ("forecast", "forecast (R)"), ("torch", "PyTorch"),
                   ("blas", "PyTorch CPU libraries"), ("python", "Python"),
                   ("kernel", "tsattn's sgemm micro-kernel (`src/ta_gemm_kernel.c`)"), ("date", "date"),
                   ("commit", "git commit"), ("load_start", "`uptime` at start"),
                   ("load_end", "`uptime` at end")]:
        if k in info and not (a.gemm_only and k == "forecast"):
            L.append("- %s: %s" % (lab, info[k]))
    if a.gemm_only:
        L.append("- thread passes: %s" % ", ".join(str(p["threads"]) for p in passes))
    else:
        L.append("- repetitions: %d per side and workload, alternating (torch, tsattn, tsattn, torch, ...), "
                 "each run its own process; thread passes: %s"
                 % (a.reps, ", ".join(str(p["threads"]) for p in passes)))
    load = max(info["load1"], os.getloadavg()[0])
    if load > 0.5 * info["cores"]:
        L.append("")
        L.append("**The machine was shared** (1-minute load average up to %.1f on %d cores, other "
                 "work running): absolute times are inflated and noisy. Both sides ran alternately, "
                 "so ratios are fairer than times, but PyTorch's OpenMP pool, which synchronises its "
                 "threads for every small operation, suffers more than tsattn's when there are more "
                 "runnable threads than cores%s."
                 % (load, info["cores"], "; the 1-thread pass is the least distorted"
                    if any(p["threads"] == 1 for p in passes) else
                    " (`BENCH_THREADS=%d,1` adds a 1-thread pass)" % info["cores"]))
    L.append("")
    if a.gemm_only:
        report_gemm(L, a, info, passes)
        return "\n".join(L) + "\n"
    L.append("How to read the tables: median time per training step (PyTorch: the loop of zero_grad, "
             "forward, loss, backward, Adam step, `loss.item()`; tsattn: one `fit()` call, including "
             "its argument checks, building the C network from the R weights and copying them back, "
             "divided by the steps; both after one untimed warm-up step). Ratio = PyTorch / tsattn "
             "(above 1: tsattn is faster). GFLOP/s: analytic FLOPs of forward + backward (below) "
             "over tsattn's time; '%% peak' is against PyTorch's `matmul` on the %d³ product and "
             "'%% ours' against tsattn's own kernel on the same product, both measured in the same "
             "pass by the GEMM table (below). tsattn's kernel (`src/ta_gemm.c`, "
             "`src/ta_gemm_kernel.c`; see `bench/GEMM.md`) packs both operands (B in 16-column "
             "panels, A in blocks of 144 rows x 256 k) and blocks for the caches around one "
             "micro-kernel per instruction set (AVX-512 12 x 32, AVX2+FMA 6 x 16), every element "
             "of C summed in the same order whatever the shape or threads; a workload's thin "
             "shapes may run faster or slower than the square product, so '%% ours' above 100%% is "
             "possible. The 2048³ target (80%% of PyTorch's) and '%% ours' are judged on that direct "
             "call of the kernel from C, not on the `predict()` figure also shown: `predict()` adds "
             "R's checks and the conversions between R's doubles and the core's floats of the 4M "
             "weights and 4M inputs (and the transposes), which have nothing to do with the "
             "kernel. Peak RSS: the whole child process (R with tsattn loaded; Python with torch "
             "imported), the largest over the repetitions. Losses: the mean training MSE of the "
             "last epoch (both start from the same weights).\n" % a.size)
    for ps in passes:
        nt, rows, gt, go = ps["threads"], ps["rows"], ps["gemm_t"], ps["gemm_o"]
        L.append("## %d thread%s\n" % (nt, "" if nt == 1 else "s"))
        L.append("`torch.set_num_threads(%d)`, `options(tsattn.threads = %d)`; `uptime` at start: %s; "
                 "at end: %s.\n" % (nt, nt, ps["load_start"], ps["load_end"]))
        L.append("float32 GEMM %d x %d x %d measured in this pass (GEMM table below, median of %d): "
                 "PyTorch `matmul` **%.1f GFLOP/s** ('peak' below); tsattn's kernel called from C "
                 "**%.1f GFLOP/s** ('ours' below; %.0f%% of PyTorch's). For reference, through R: "
                 "`predict()` of a bias-free `layer_dense(%d)` on %d rows %.1f GFLOP/s, or %.1f "
                 "GFLOP/s after subtracting the time of the same `predict()` through a linear "
                 "activation (R checks and double<->float conversions, %.0f ms; medians of 5).\n"
                 % (a.size, a.size, a.size, ps["gemm_reps"], gt["gflops"], gt["ours"],
                    100 * gt["ours"] / gt["gflops"], a.size, a.size, go["gflops"],
                    go["gflops_kernel"], go["overhead"] * 1e3))
        L.append("| workload | steps | PyTorch ms/step | tsattn ms/step | ratio | tsattn GFLOP/s | % peak "
                 "| % ours (2048³) | PyTorch GFLOP/s | peak RSS PyTorch / tsattn (MiB) | final loss PyTorch / tsattn |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            if r["w"]["id"] == "W6":
                continue
            L.append("| %s | %d | %s | %s | **%.2f** | %.3g | %.0f%% | %.0f%% | %.3g | %.0f / %.0f | %.5g / %.5g |"
                     % (r["w"]["id"], r["steps"], fmt_ms(r["torch"]), fmt_ms(r["ours"]), r["ratio"],
                        r["gflops_ours"], 100 * r["frac_peak"], 100 * r["frac_ours_peak"],
                        r["gflops_torch"], r["rss_torch"], r["rss_ours"], r["loss_torch"], r["loss_ours"]))
        for r in [r for r in rows if r["w"]["id"] == "W6"]:
            L.append("")
            L.append("W6, both in R (seconds for the whole job; tsattn trained %s epochs, early stopping):\n"
                     % ("%d" % r["epochs_ours"] if isinstance(r["epochs_ours"], float) else "?"))
            L.append("| | nnetar() | tsattn() | ratio nnetar / tsattn |")
            L.append("|---|---|---|---|")
            L.append("| fit | %.3f | %.3f | %.2f |" % (r["fit_torch"], r["fit_ours"], r["fit_torch"] / r["fit_ours"]))
            L.append("| forecast(h = 24), 1000 paths | %.3f | %.3f | %.2f |"
                     % (r["fc_torch"], r["fc_ours"], r["fc_torch"] / r["fc_ours"]))
            L.append("| total | %.3f | %.3f | **%.2f** |" % (r["torch"], r["ours"], r["ratio"]))
            L.append("| peak RSS (MiB) | %.0f | %.0f | |" % (r["rss_torch"], r["rss_ours"]))
            L.append("| in-sample RMSE (forecast object's residuals) | %.4g | %.4g | |"
                     % (r["loss_torch"], r["loss_ours"]))
        L.append("")
        L.append("Targets of issues 6 and 14 at %d thread%s:\n" % (nt, "" if nt == 1 else "s"))
        L.append("| target | measured | met |")
        L.append("|---|---|---|")
        yes = lambda b: "yes" if b else "**no**"
        L.append("| %d³ sgemm at 80%% or more of PyTorch's (the kernel called from C, GEMM table) "
                 "| %.0f%% (%.1f vs %.1f GFLOP/s) | %s |"
                 % (a.size, 100 * gt["ours"] / gt["gflops"], gt["ours"], gt["gflops"],
                    yes(gt["ours"] >= 0.8 * gt["gflops"])))
        for r in rows:
            W = r["w"]["id"]
            if W == "W1":
                L.append("| W1 at least 100x faster than PyTorch | %.1fx | %s |" % (r["ratio"], yes(r["ratio"] >= 100)))
            elif W == "W6":
                L.append("| W6 faster than nnetar() (fit + 1000-path forecast) | %.2fx | %s |"
                         % (r["ratio"], yes(r["ratio"] > 1)))
            else:
                L.append("| %s at least 1.5x faster than PyTorch | %.2fx | %s |" % (W, r["ratio"], yes(r["ratio"] >= 1.5)))
                L.append("| %s at 50%% or more of the float32 GEMM peak | %.0f%% of PyTorch's (%.0f%% of ours) | %s |"
                         % (W, 100 * r["frac_peak"], 100 * r["frac_ours_peak"], yes(r["frac_peak"] >= 0.5)))
        for r in rows:
            L.append("| %s peak memory at most %s's | %.0f vs %.0f MiB | %s |"
                     % (r["w"]["id"], "nnetar()" if r["w"]["id"] == "W6" else "PyTorch", r["rss_ours"],
                        r["rss_torch"], yes(r["rss_ours"] <= r["rss_torch"])))
        L.append("")
        L.append("Every run (ms per step; W6: seconds per job), then the untimed warm-up step (seconds):\n")
        for r in rows:
            sc = 1.0 if r["w"]["id"] == "W6" else 1e3
            L.append("- %s: %s %s; tsattn %s%s" % (
                r["w"]["id"], "nnetar" if r["w"]["id"] == "W6" else "PyTorch", ", ".join("%.4g" % (v * sc) for v in r["torch_all"]),
                ", ".join("%.4g" % (v * sc) for v in r["ours_all"]),
                "" if r["w"]["id"] == "W6" else "; warm-up PyTorch %s, tsattn %s" % (
                    ", ".join("%.3g" % v for v in r["warm_torch"]),
                    ", ".join("%.3g" % v for v in r["warm_ours"]))))
        L.append("")
    report_gemm(L, a, info, passes)
    rows = passes[0]["rows"]
    L.append("## Workloads\n")
    for r in rows:
        L.append("- %s: %s%s" % (r["w"]["id"], r["w"]["desc"],
                                 (", %d sequences, %.4g MFLOP per step" % (r["w"]["n"], r["flops"] / 1e6))
                                 if "flops" in r else ""))
    L.append("")
    L.append("Equal work: both sides start from PyTorch's initial weights (copied by name with "
             "`set_weights()`) and see the same batches in the same order (no shuffling); the final "
             "losses agree to the extent float32 summation order allows (first-epoch losses, "
             "PyTorch / tsattn: %s)." % "; ".join(
                 "%s %.6g / %.6g" % (r["w"]["id"], r["loss0_torch"], r["loss0_ours"])
                 for r in rows if r["w"]["id"] != "W6" and r["loss0_torch"] is not None))
    L.append("")
    L.append("GEMM-bound parts: '% peak' is for the whole step (element-wise work, R overhead and "
             "sequential recurrences included), so it is a lower bound of the GEMM parts' own fraction.\n")
    L.append("## FLOP counts\n")
    L.append("```\n" + FLOP_FORMULAS + "```")
    return "\n".join(L) + "\n"


def report_gemm(L, a, info, passes):
    """The GEMM table (CPU): every shape at every thread count of the run."""
    gp = [p for p in passes if p.get("gemm_rows")]
    if not gp:
        return
    reps = gp[0]["gemm_reps"]
    L.append("## Matrix products: tsattn's kernel against PyTorch's matmul\n")
    L.append("Single float32 matrix products, measured in each thread pass before its workloads (in "
             "`--gemm-only` runs, alone). Ours: the core's sgemm (`src/ta_gemm.c`, "
             "`src/ta_gemm_kernel.c`: both operands packed, cache-blocked, one micro-kernel per "
             "instruction set, here the %s; see `bench/GEMM.md`) called directly from C by "
             "`bench/gemm_table.c`, built as R builds the package (`%s`), threads set with "
             "`ta_set_threads(n)` as `options(tsattn.threads = n)` does. PyTorch: `torch.matmul` "
             "after `torch.set_num_threads(n)`, the transposed operand passed as a view (`A @ B.mT`, "
             "`A.mT @ B`) so that it picks its own best path, into a preallocated C (`out=`); "
             "products marked 'X products' are one batched `matmul` over X of them. Both sides: "
             "fresh operands for each shape (values in [-1, 1), contiguous, reused by its "
             "repetitions; the layers' attention blocks read Q, K, V as strided slices of one "
             "buffer instead), one untimed warm-up product, then %d repetitions of as many products as fill %.2f s; the median per "
             "product. Ratio = ours / PyTorch GFLOP/s (above 1: ours is faster).\n"
             % (info.get("kernel", "?"), info.get("gemm_build", "?"), reps, GEMM_MIN_SECONDS))
    L.append("Shape M x N x K of C[M, N] = op(A) op(B), with op as the layers call the kernel: nt "
             "= A B^T (forward of a linear map, W stored [out, in]), nn = A B (input gradient), tn = "
             "A^T B (weight gradient). 'ours runs as' is how the layer calls it: one call (the "
             "kernel's own threads); X products, one a thread (the attention blocks, one per sequence "
             "and head, in one parallel loop); the rows over the threads, each thread its own "
             "products (a recurrent step: its sequences; conv1d: 256 im2col rows at a time; the "
             "weight gradient: its rows of dW, K summed 256 at a time); 'B packed once': the "
             "recurrent weight, packed before the steps (not timed). PyTorch computes the whole "
             "product in one call in every case.\n")
    L.append("| product | shape M x N x K | op | ours runs as | threads | ours GFLOP/s | PyTorch GFLOP/s | ratio |")
    L.append("|---|---|---|---|---|---|---|---|")
    shapes = gp[0]["gemm_rows"]
    for i, s in enumerate(shapes):
        for p in gp:
            r = p["gemm_rows"][i]
            gf = lambda x: "%.1f" % x if x >= 1 else "%.3g" % x
            L.append("| %s%s | %s | %s | %s | %d | %s | %s | **%.2f** |"
                     % ("%s: " % s["wl"] if s["wl"] else "", s["what"], gemm_shape_text(s),
                        s["op"].lstrip("p"), gemm_how(s), r["threads"], gf(r["ours"]), gf(r["torch"]),
                        r["ratio"]))
    L.append("")
    wls = []
    for s in shapes:
        if s["wl"] and s["wl"] not in wls:
            wls.append(s["wl"])
    if wls:
        L.append("Geometric mean of the ratios over each workload's shapes (each shape once, "
                 "whatever its weight in the step):\n")
        L.append("| shapes of | %s |" % " | ".join("%d thread%s" % (p["threads"], "" if p["threads"] == 1 else "s")
                                                  for p in gp))
        L.append("|---|%s" % ("---|" * len(gp)))
        for wl in wls:
            cells = []
            for p in gp:
                rs = [r["ratio"] for r in p["gemm_rows"] if r["wl"] == wl]
                cells.append("%.2f" % math.exp(sum(math.log(x) for x in rs) / len(rs)))
            L.append("| %s (%d) | %s |" % (wl, len([s for s in shapes if s["wl"] == wl]), " | ".join(cells)))
        L.append("")


# --------------------------------------------------------------------------------------------
# GPU mode (--device cuda, `make bench BENCH_DEVICE=cuda`): report in bench/RESULTS-cuda.md
# --------------------------------------------------------------------------------------------
def one_line(text):
    return " ".join(str(text).split())


def check_cuda(py, rs):
    """Before anything is timed: tsattn and PyTorch must both see a usable GPU; else one line
    on stderr and exit 1 (the CPU is never timed in GPU mode)."""
    def tagged(argv, tag):
        try:
            p = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=600)
            out = p.stdout + p.stderr
        except Exception as e:  # Rscript missing, ...
            out = str(e)
        lines = [l[len(tag) + 1:] for l in out.splitlines() if l.startswith(tag + " ")]
        last = [l for l in out.splitlines() if l.strip()]
        return lines, one_line(last[-1]) if last else "no output"
    r, rlast = tagged(rs + ["cuda"], "CUDA")
    ours = dict(kv.split("=", 1) for kv in r if "=" in kv)
    t, tlast = tagged(py + ["--child", "torch-cuda"], "CUDAINFO")
    try:
        theirs = json.loads(t[-1])
    except (IndexError, ValueError):
        theirs = dict(available=False, error=tlast)
    problems = []
    if ours.get("available") != "TRUE":
        why = (ours.get("reason") or "no usable device") if ours else "tsattn did not load: " + rlast
        problems.append("tsattn::cuda_available() is FALSE (%s)" % one_line(why))
    if not theirs.get("available"):
        why = ("torch %s is a CPU-only build" % theirs.get("torch") if "torch" in theirs and not theirs.get("cuda")
               else theirs.get("error") or theirs.get("warning") or "no CUDA device or driver found")
        problems.append("torch.cuda.is_available() is False (%s)" % one_line(why))
    if problems:
        sys.stderr.write("bench: --device cuda but no GPU can be used: %s; nothing was timed\n"
                         % "; ".join(problems))
        sys.exit(1)
    return dict(ours=ours, torch=theirs)


def gpu_info(gpu):
    o, t = gpu["ours"], gpu["torch"]
    return dict(
        gpu="%s (compute capability %s, %.0f GiB)" % (t.get("name"), t.get("capability"), t.get("memory_gib", 0)),
        gpu_ours="device %s: %s (compute capability %s)" % (o.get("id"), o.get("name"), o.get("capability")),
        driver=sh("nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1") or "?",
        torch_cuda="CUDA %s, cuDNN %s" % (t.get("cuda"), t.get("cudnn")),
        precision=t.get("precision", "?"),
        tsattn="%s (built with CUDA)" % o.get("version", "?"))


def no_gpu_path(res):
    lay = res.get("layer")
    return "no GPU path (layer %s: %s%s)" % (int(lay) if isinstance(lay, float) else lay, res.get("kind", "?"),
                                              " with inter-layer dropout" if res.get("dropout") else "")


def summarise_cuda(w, runs, peak, ours_peak, nogpu):
    t = runs["torch"]
    if nogpu is None:
        row = summarise(w, runs, peak, ours_peak)
    else:
        med = lambda rs, k: statistics.median(r[k] for r in rs)
        row = dict(w=w, reps=len(t), steps=int(t[0]["steps"]), torch=med(t, "per_step"), ours=None,
                   torch_all=[r["per_step"] for r in t], ours_all=[], rss_torch=max(r["rss"] for r in t),
                   rss_ours=None, loss_torch=t[0]["final_loss"], loss_ours=None,
                   loss0_torch=t[0].get("first_loss"), loss0_ours=None,
                   warm_torch=[r.get("warmup") for r in t], warm_ours=[], ratio=None)
        if w["id"] == "W6":
            row["fit_torch"] = med(t, "fit_seconds"); row["fc_torch"] = med(t, "forecast_seconds")
        else:
            row["flops"] = flops_per_step(w)
            row["gflops_torch"] = row["flops"] / row["torch"] / 1e9
    row["nogpu"] = nogpu
    if w["id"] != "W6":
        row["gpu_torch"] = max(r["gpu_peak"] for r in t)
        row["gpu_torch_reserved"] = max(r["gpu_reserved"] for r in t)
    return row


def report_cuda(a, info, passes):
    L = []
    L.append("# tsattn against PyTorch on the GPU (issue 5)\n")
    L.append("Written by `bench/run.py --device cuda` (`make bench BENCH_DEVICE=cuda`); regenerate "
             "rather than edit. The CPU figures are in `RESULTS.md`.\n")
    L.append("Command: `%s`\n" % (a.command or " ".join(["python", "bench/run.py"] + sys.argv[1:])))
    L.append("## Machine\n")
    for k, lab in [("gpu", "GPU (PyTorch, cuda:0)"), ("gpu_ours", "GPU (tsattn, `cuda_devices()`)"),
                   ("driver", "NVIDIA driver"), ("cpu", "CPU"), ("cores", "cores"), ("mem", "memory"),
                   ("os", "OS"), ("r", "R"), ("tsattn", "tsattn"), ("forecast", "forecast (R)"),
                   ("torch", "PyTorch"), ("torch_cuda", "PyTorch's CUDA libraries"),
                   ("precision", "PyTorch precision"), ("python", "Python"), ("date", "date"),
                   ("commit", "git commit"), ("load_start", "`uptime` at start"),
                   ("load_end", "`uptime` at end")]:
        L.append("- %s: %s" % (lab, info[k]))
    L.append("- repetitions: %d per side and workload, alternating (torch, tsattn, tsattn, torch, ...), "
             "each run its own process; thread passes (CPU threads of each side): %s"
             % (a.reps, ", ".join(str(p["threads"]) for p in passes)))
    L.append("")
    L.append("How to read the tables: median time per training step on the GPU (PyTorch: model, data "
             "and Adam's state on `cuda`, the loop of zero_grad, forward, loss, backward, Adam step, "
             "`loss.item()`, with `torch.cuda.synchronize()` before the clock is read; tsattn: one "
             "`fit(device = \"cuda\")` call, which returns once the weights are back in R, including "
             "its argument checks and the copies of weights and data to and from the device, divided "
             "by the steps; both after one untimed warm-up step in the same process, which also pays "
             "for CUDA's context and library loading). Ratio = PyTorch / tsattn (above 1: tsattn is "
             "faster). Both sides compute in float32 without TF32. GFLOP/s: analytic FLOPs of "
             "forward + backward (below) over the time; '% peak' is against PyTorch's float32 GEMM "
             "on the same GPU, measured in the same pass. Device memory: PyTorch's "
             "`torch.cuda.max_memory_allocated()` over the timed loop (tensors only; its caching "
             "allocator's reserve and the CUDA context are not counted); tsattn's device memory is "
             "**not measured** (it has no such counter). Peak RSS: host memory of the whole child "
             "process. 'no GPU path': the workload has a layer that tsattn cannot yet run on the "
             "GPU (`fit()` says so and stops); PyTorch is still timed there for reference.\n")
    for ps in passes:
        nt, rows, gt, go = ps["threads"], ps["rows"], ps["gemm_t"], ps["gemm_o"]
        L.append("## %d CPU thread%s\n" % (nt, "" if nt == 1 else "s"))
        L.append("`torch.set_num_threads(%d)`, `options(tsattn.threads = %d)`; `uptime` at start: %s; "
                 "at end: %s.\n" % (nt, nt, ps["load_start"], ps["load_end"]))
        L.append("float32 GEMM %d x %d x %d on the GPU, measured in this pass: PyTorch `matmul` "
                 "**%.0f GFLOP/s** (median of 10, synchronised; 'peak' below); tsattn: "
                 "`predict(device = \"cuda\")` of a bias-free `layer_dense(%d)` on %d rows %.1f GFLOP/s "
                 "including its host-device copies and R's double<->float conversions (%.0f ms "
                 "through a linear activation instead; medians of 5).\n"
                 % (a.size, a.size, a.size, gt["gflops"], a.size, a.size, go["gflops"], go["overhead"] * 1e3))
        L.append("| workload | steps | PyTorch ms/step | tsattn ms/step | ratio | tsattn GFLOP/s | % peak "
                 "| PyTorch GFLOP/s | PyTorch GPU memory (MiB) | peak RSS PyTorch / tsattn (MiB) "
                 "| final loss PyTorch / tsattn |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            if r["w"]["id"] == "W6":
                continue
            if r["nogpu"]:
                L.append("| %s | %d | %s | %s | - | - | - | %.3g | %.0f | %.0f / - | %.5g / - |"
                         % (r["w"]["id"], r["steps"], fmt_ms(r["torch"]), r["nogpu"], r["gflops_torch"],
                            r["gpu_torch"], r["rss_torch"], r["loss_torch"]))
            else:
                L.append("| %s | %d | %s | %s | **%.2f** | %.3g | %.0f%% | %.3g | %.0f | %.0f / %.0f | %.5g / %.5g |"
                         % (r["w"]["id"], r["steps"], fmt_ms(r["torch"]), fmt_ms(r["ours"]), r["ratio"],
                            r["gflops_ours"], 100 * r["frac_peak"], r["gflops_torch"], r["gpu_torch"],
                            r["rss_torch"], r["rss_ours"], r["loss_torch"], r["loss_ours"]))
        for r in [r for r in rows if r["w"]["id"] == "W6"]:
            L.append("")
            if r["nogpu"]:
                L.append("W6 (tsattn() with `device = \"cuda\"`; nnetar() has no GPU version and runs on "
                         "the CPU): tsattn has %s; nnetar() took %.3f s (fit %.3f, forecast %.3f)."
                         % (r["nogpu"], r["torch"], r["fit_torch"], r["fc_torch"]))
                continue
            L.append("W6, both in R, tsattn with `device = \"cuda\"` for `tsattn()` and `forecast()` after "
                     "one untimed warm-up job; nnetar() has no GPU version and runs on the CPU (seconds "
                     "for the whole job; tsattn trained %s epochs, early stopping):\n"
                     % ("%d" % r["epochs_ours"] if isinstance(r["epochs_ours"], float) else "?"))
            L.append("| | nnetar() (CPU) | tsattn() (GPU) | ratio nnetar / tsattn |")
            L.append("|---|---|---|---|")
            L.append("| fit | %.3f | %.3f | %.2f |" % (r["fit_torch"], r["fit_ours"], r["fit_torch"] / r["fit_ours"]))
            L.append("| forecast(h = 24), 1000 paths | %.3f | %.3f | %.2f |"
                     % (r["fc_torch"], r["fc_ours"], r["fc_torch"] / r["fc_ours"]))
            L.append("| total | %.3f | %.3f | **%.2f** |" % (r["torch"], r["ours"], r["ratio"]))
            L.append("| peak RSS (MiB) | %.0f | %.0f | |" % (r["rss_torch"], r["rss_ours"]))
            L.append("| in-sample RMSE (forecast object's residuals) | %.4g | %.4g | |"
                     % (r["loss_torch"], r["loss_ours"]))
        L.append("")
        L.append("Every run (ms per step; W6: seconds per job), then the untimed warm-up (seconds):\n")
        for r in rows:
            sc = 1.0 if r["w"]["id"] == "W6" else 1e3
            ours = (", ".join("%.4g" % (v * sc) for v in r["ours_all"]) if not r["nogpu"] else r["nogpu"])
            L.append("- %s: %s %s; tsattn %s%s" % (
                r["w"]["id"], "nnetar" if r["w"]["id"] == "W6" else "PyTorch",
                ", ".join("%.4g" % (v * sc) for v in r["torch_all"]), ours,
                "; warm-up %stsattn %s" % (
                    "" if r["w"]["id"] == "W6" else "PyTorch %s, " % ", ".join("%.3g" % v for v in r["warm_torch"]),
                    ", ".join("%.3g" % v if v is not None else "-" for v in r["warm_ours"]) or "-")))
        L.append("")
    rows = passes[0]["rows"]
    L.append("## Workloads\n")
    L.append("The workloads of `RESULTS.md`, with the same sizes, data, initial weights and steps:\n")
    for r in rows:
        L.append("- %s: %s%s" % (r["w"]["id"], r["w"]["desc"],
                                 (", %d sequences, %.4g MFLOP per step" % (r["w"]["n"], r["flops"] / 1e6))
                                 if "flops" in r else ""))
    L.append("")
    both = [r for r in rows if r["w"]["id"] != "W6" and not r["nogpu"] and r["loss0_torch"] is not None]
    if both:
        L.append("Equal work: both sides start from PyTorch's initial weights and see the same batches in "
                 "the same order; first-epoch losses, PyTorch / tsattn: %s." % "; ".join(
                     "%s %.6g / %.6g" % (r["w"]["id"], r["loss0_torch"], r["loss0_ours"]) for r in both))
        L.append("")
    L.append("## FLOP counts\n")
    L.append("```\n" + FLOP_FORMULAS + "```")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
