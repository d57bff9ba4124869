#!/usr/bin/env python3
"""Write PyTorch reference fixtures for tsattn's conv1d layer.

Run by hand (never in CI), from the repository root:

    /work/venv-torch/bin/python tools/make_fixtures_conv.py [case ...]

It writes tests/testthat/fixtures/conv_<case>.txt in the format of tools/make_fixtures.py
(whose helpers it reuses), read by tests/testthat/test-conv1d.R.  Everything is float32
on the CPU; each case is also computed in float64 and the worst |f32 - f64| / tolerance
is printed (well below 1 means the case is well-conditioned).

Our network for a case is sequential(layer_conv1d(4, k, padding = ..., activation = ...),
input_dim = 3) with weights "0.weight" [4, 3, k] and "0.bias" [4]; x is [2, 9, 3]
batch-first (permuted to PyTorch's [B, C, T] inside the module).  Padding:
  same    nn.Conv1d(padding="same"): left (k-1)//2, right the rest
  causal  k-1 zeros on the left (F.pad), then an unpadded convolution
  valid   no padding, T_out = T - k + 1
"""

import os
import sys

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import Net, OUT_DIR, compute, fmt_tensor, tolerance  # noqa: E402


class TimeConv1d(nn.Conv1d):
    """nn.Conv1d over the time axis of [B, T, C] inputs, with our padding names and an
    optional activation; its state_dict is Conv1d's (weight [out, in, k], bias [out])."""

    def __init__(self, cin, filters, kernel, padding, activation=None, bias=True):
        torch_pad = "same" if padding == "same" else 0
        super().__init__(cin, filters, kernel, padding=torch_pad, bias=bias)
        self.causal = padding == "causal"
        self.act = activation

    def forward(self, x):
        x = x.permute(0, 2, 1)  # [B, C, T]
        if self.causal:
            x = F.pad(x, (self.kernel_size[0] - 1, 0))
        z = super().forward(x).permute(0, 2, 1)  # [B, T_out, filters]
        if self.act == "relu":
            z = torch.relu(z)
        elif self.act is not None:
            raise ValueError(self.act)
        return z


def conv_case(seed, kernel, padding, activation, bias=True, T=9):
    t_out = T - kernel + 1 if padding == "valid" else T
    return dict(
        seed=seed,
        steps=lambda: [(TimeConv1d(3, 4, kernel, padding, activation, bias), "dense")],
        x_shape=(2, T, 3), y_shape=(2, t_out, 4),
    )


def case_defs():
    return {
        "conv_same5_relu": conv_case(201, 5, "same", "relu"),
        "conv_same5": conv_case(202, 5, "same", None),
        "conv_same4_relu": conv_case(203, 4, "same", "relu"),
        "conv_same4": conv_case(204, 4, "same", None),
        "conv_causal3_relu": conv_case(205, 3, "causal", "relu"),
        "conv_causal3": conv_case(206, 3, "causal", None),
        "conv_valid3_relu": conv_case(207, 3, "valid", "relu"),
        "conv_valid3": conv_case(208, 3, "valid", None),
        "conv_same4_nobias": conv_case(209, 4, "same", None, bias=False),
    }


def make_case(name, spec):
    res = compute(spec, torch.float32)
    path = os.path.join(OUT_DIR, name + ".txt")
    with open(path, "w") as f:
        f.write("# tsattn fixture '%s', written by tools/make_fixtures_conv.py (torch %s)\n"
                % (name, torch.__version__))
        f.write("\n".join(fmt_tensor(k, v) for k, v in res.items()))
        f.write("\n")
    ref = compute(spec, torch.float64)
    worst, worst_name = 0.0, ""
    for k, v in res.items():
        rtol, atol = tolerance(k)
        r = ((v.double() - ref[k]).abs() / (atol + rtol * ref[k].abs())).max().item()
        if r > worst:
            worst, worst_name = r, k
    warn = "  WARNING: ill-conditioned, pick another seed" if worst > 0.25 else ""
    print("%-18s loss %.6g  worst |f32-f64|/tol %.3g (%s)%s -> %s"
          % (name, res["loss"].item(), worst, worst_name, warn, os.path.relpath(path)))


def main(argv):
    os.makedirs(OUT_DIR, exist_ok=True)
    defs = case_defs()
    for name in argv[1:] or list(defs):
        make_case(name, defs[name])


if __name__ == "__main__":
    main(sys.argv)
