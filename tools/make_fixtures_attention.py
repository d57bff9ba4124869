#!/usr/bin/env python3
"""Write PyTorch reference fixtures for tsattn's attention layers.

Run by hand (never in CI), from the repository root:

    /work/venv-torch/bin/python tools/make_fixtures_attention.py [case ...]

Same file format and conventions as tools/make_fixtures.py (whose helpers this
imports); read by tests/testthat/test-attention.R and test-multihead-attention.R.

Cases:
  mha, mha_causal, mha_padding, mha_causal_padding
      nn.MultiheadAttention(8, 2, batch_first=True) as self-attention (query = key =
      value = x), our sequential(layer_multihead_attention(heads = 2), input_dim = 8);
      causal: attn_mask = upper-triangular bool; padding: key_padding_mask from `lengths`
      (keys j >= length are padding) and the loss over the valid steps only.
  attn_seed
      the fourth seed's AttentionLayer(in_channels=4, out_channels=6, key_channels=5):
      Conv1d(k=1, bias=False) Q/K/V, dot scores; our layer_attention(units = 6,
      key_dim = 5, score = "dot") with conv weights [out, in, 1] as [out, in].
  attn_scaled_causal, attn_additive_window, attn_cosine_padding
      the other scores of layer_attention(), written out in PyTorch from the layer's
      documented definition (bias = TRUE), with causal, window and padding masks.

Names besides those of make_fixtures.py:
  lengths          valid steps per sequence (padding cases)
  attn             attention weights: [B, H, T, T] (mha, average_attn_weights=False) or
                   [B, T, T] (single head)

The key bias (in_proj_bias rows E..2E-1, key.bias) has a gradient of exactly zero in
exact arithmetic (softmax ignores the constant q.b_k), so its adam1 values are the sign
of rounding noise; see zero_grad_entries().
"""

import copy
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402  (fmt_tensor, OUT_DIR; sets float32, 1 thread)

SCORES = ("dot", "scaled_dot", "additive", "cosine")


def visible_mask(T, lengths, causal, window):
    """bool [B, T, T]: key j visible to query i (as ta_attn_visible in src/ta_attn.h)"""
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    m = torch.ones(T, T, dtype=torch.bool)
    if causal:
        m &= j <= i
    if window is not None:
        m &= (i - j).abs() <= window
    m = m[None].expand(len(lengths), T, T).clone()
    for b, n in enumerate(lengths):
        m[b, :, n:] = False
    return m


class MHANet(nn.Module):
    """sequential(layer_multihead_attention(heads)) : one layer named "0"."""

    def __init__(self, E, heads, causal):
        super().__init__()
        self.add_module("0", nn.MultiheadAttention(E, heads, batch_first=True))
        self.causal = causal

    def forward(self, x, lengths=None):
        T = x.shape[1]
        attn_mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1) if self.causal else None
        kpm = None
        if lengths is not None:
            kpm = torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None]
        out, w = getattr(self, "0")(x, x, x, key_padding_mask=kpm, attn_mask=attn_mask,
                                    need_weights=True, average_attn_weights=False)
        return out, w


class SingleHead(nn.Module):
    """layer_attention() as documented in R/layers_attention.R."""

    def __init__(self, I, U, D, score, bias, causal, window):
        super().__init__()
        self.query = nn.Linear(I, D, bias=bias)
        self.key = nn.Linear(I, D, bias=bias)
        self.value = nn.Linear(I, U, bias=bias)
        if score == "additive":
            self.score = nn.Linear(D, 1, bias=False)
        if score == "cosine":
            self.log_scale = nn.Parameter(torch.tensor([math.log(10.0)]))
        self.kind, self.D, self.causal, self.window = score, D, causal, window

    def forward(self, x, lengths=None):
        B, T, _ = x.shape
        q, k, v = self.query(x), self.key(x), self.value(x)
        if self.kind == "dot":
            s = q @ k.transpose(1, 2)
        elif self.kind == "scaled_dot":
            s = q @ k.transpose(1, 2) / math.sqrt(self.D)
        elif self.kind == "additive":
            s = self.score(torch.tanh(q[:, :, None, :] + k[:, None, :, :])).squeeze(-1)
        else:
            qh = F.normalize(q, dim=-1, eps=1e-12)
            kh = F.normalize(k, dim=-1, eps=1e-12)
            s = torch.exp(self.log_scale) * (qh @ kh.transpose(1, 2))
        vis = visible_mask(T, lengths if lengths is not None else [T] * B, self.causal, self.window)
        p = torch.softmax(s.masked_fill(~vis, float("-inf")), dim=-1)
        return p @ v, p


class SeedAttentionLayer(nn.Module):
    """The fourth seed's AttentionLayer, verbatim (x [bs, in_channels, seq_len])."""

    def __init__(self, in_channels, out_channels, key_channels):
        super().__init__()
        self.conv_Q = nn.Conv1d(in_channels, key_channels, kernel_size=1, bias=False)
        self.conv_K = nn.Conv1d(in_channels, key_channels, kernel_size=1, bias=False)
        self.conv_V = nn.Conv1d(in_channels, out_channels, kernel_size=1, bias=False)

    def forward(self, x):
        Q = self.conv_Q(x)
        K = self.conv_K(x)
        V = self.conv_V(x)
        A = Q.permute(0, 2, 1).matmul(K).softmax(2)
        x = A.matmul(V.permute(0, 2, 1)).permute(0, 2, 1)
        return x

    def attention(self, x):
        Q = self.conv_Q(x)
        K = self.conv_K(x)
        return Q.permute(0, 2, 1).matmul(K).softmax(2)


class SeedNet(nn.Module):
    """The seed layer on [B, T, F] arrays; state_dict names mapped to ours."""

    NAMES = {"conv_Q.weight": "query.weight", "conv_K.weight": "key.weight",
             "conv_V.weight": "value.weight"}

    def __init__(self, I, U, D):
        super().__init__()
        self.add_module("0", SeedAttentionLayer(I, U, D))

    def forward(self, x, lengths=None):
        m = getattr(self, "0")
        xc = x.permute(0, 2, 1)
        return m(xc).permute(0, 2, 1), m.attention(xc)

    @staticmethod
    def rename(name):
        layer, rest = name.split(".", 1)
        return layer + "." + SeedNet.NAMES[rest]


def case_defs():
    return {
        "mha": dict(seed=201, net=lambda: MHANet(8, 2, False), x_shape=(3, 5, 8)),
        "mha_causal": dict(seed=202, net=lambda: MHANet(8, 2, True), x_shape=(3, 5, 8)),
        "mha_padding": dict(seed=203, net=lambda: MHANet(8, 2, False), x_shape=(3, 5, 8),
                            lengths=[5, 3, 2]),
        "mha_causal_padding": dict(seed=204, net=lambda: MHANet(8, 2, True), x_shape=(3, 5, 8),
                                   lengths=[4, 5, 2]),
        "attn_seed": dict(seed=205, net=lambda: SeedNet(4, 6, 5), x_shape=(2, 7, 4),
                          y_shape=(2, 7, 6), rename=SeedNet.rename, squeeze=True),
        "attn_scaled_causal": dict(
            seed=206, net=lambda: nn_single(4, 6, 5, "scaled_dot", True, True, None),
            x_shape=(2, 6, 4), y_shape=(2, 6, 6)),
        "attn_additive_window": dict(
            seed=207, net=lambda: nn_single(3, 4, 5, "additive", True, False, 2),
            x_shape=(2, 7, 3), y_shape=(2, 7, 4)),
        "attn_cosine_padding": dict(
            seed=208, net=lambda: nn_single(4, 3, 6, "cosine", True, False, None),
            x_shape=(2, 6, 4), y_shape=(2, 6, 3), lengths=[6, 4]),
    }


class SingleNet(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.add_module("0", layer)

    def forward(self, x, lengths=None):
        return getattr(self, "0")(x, lengths)


def nn_single(I, U, D, score, bias, causal, window):
    return SingleNet(SingleHead(I, U, D, score, bias, causal, window))


def masked_mse(out, y, lengths):
    """nn.MSELoss over the valid steps (as src/ta_loss.c ta_loss_seq)"""
    if lengths is None:
        return nn.MSELoss()(out, y)
    B, T, Fo = out.shape
    valid = (torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]).to(out.dtype)
    return (((out - y) ** 2) * valid[:, :, None]).sum() / (valid.sum() * Fo)


def compute(spec, dtype):
    torch.manual_seed(spec["seed"])
    net = spec["net"]()
    x = torch.randn(*spec["x_shape"])
    y = torch.randn(*spec.get("y_shape", spec["x_shape"]))
    lengths = spec.get("lengths")
    net, x, y = net.to(dtype), x.to(dtype), y.to(dtype)
    rename = spec.get("rename", lambda k: k)
    squeeze = spec.get("squeeze", False)

    def weights(prefix, m):
        out = {}
        for k, v in m.state_dict().items():
            v = v.detach().clone()
            if squeeze:
                v = v.squeeze(-1)
            out[prefix + rename(k)] = v
        return out

    res = weights("", net)
    res["x"] = x
    res["y"] = y
    if lengths is not None:
        res["lengths"] = torch.tensor(lengths, dtype=dtype)

    fnet = copy.deepcopy(net)
    xg = x.clone().requires_grad_(True)
    out, attn = fnet(xg, lengths)
    loss = masked_mse(out, y, lengths)
    loss.backward()
    res["output"] = out.detach()
    res["attn"] = attn.detach()
    res["loss"] = loss.detach()
    for k, p in fnet.named_parameters():
        g = p.grad.detach().clone()
        res["grad." + rename(k)] = g.squeeze(-1) if squeeze else g
    res["grad.x"] = xg.grad.detach().clone()

    anet = copy.deepcopy(net)
    opt = torch.optim.Adam(anet.parameters(), lr=0.01)
    opt.zero_grad()
    masked_mse(anet(x, lengths)[0], y, lengths).backward()
    opt.step()
    res.update(weights("adam1.", anet))
    return res


def tolerance(name):
    return 1e-5, 1e-6  # the tests' expect_close defaults


def zero_grad_entries(name, v):
    """bool mask of the entries of adam1.<weight> whose gradient is exactly zero in exact
    arithmetic: the key bias (q.b_k is the same for every key, and softmax ignores a
    constant). Their float32 gradients are rounding noise near 1e-9, which Adam's first
    step (lr * g / (|g| + eps)) turns into a step of random sign: the tests check those
    entries only for a step of at most lr, and the conditioning check skips them."""
    m = torch.zeros(v.shape, dtype=torch.bool)
    if name.endswith(".in_proj_bias"):
        E = v.shape[0] // 3
        m[E:2 * E] = True
    elif name.endswith(".key.bias"):
        m[:] = True
    return m


def make_case(name, spec):
    res = compute(spec, torch.float32)
    path = os.path.join(mf.OUT_DIR, name + ".txt")
    with open(path, "w") as f:
        f.write("# tsattn fixture '%s', written by tools/make_fixtures_attention.py (torch %s)\n"
                % (name, torch.__version__))
        f.write("\n".join(mf.fmt_tensor(k, v) for k, v in res.items()))
        f.write("\n")
    # conditioning: PyTorch's float32 result against its float64 one, relative to the
    # tests' tolerance (see make_fixtures.py)
    ref = compute(spec, torch.float64)
    worst, worst_name = 0.0, ""
    for k, v in res.items():
        rtol, atol = tolerance(k)
        r = (v.double() - ref[k]).abs() / (atol + rtol * ref[k].abs())
        if k.startswith("adam1."):
            r = r.masked_fill(zero_grad_entries(k, v), 0.0)
        r = r.max().item()
        if r > worst:
            worst, worst_name = r, k
    warn = "  WARNING: ill-conditioned, pick another seed" if worst > 0.25 else ""
    print("%-22s loss %.6g  worst |f32-f64|/tol %.3g (%s)%s -> %s"
          % (name, res["loss"].item(), worst, worst_name, warn, os.path.relpath(path)))


def main(argv):
    os.makedirs(mf.OUT_DIR, exist_ok=True)
    defs = case_defs()
    for name in argv[1:] or list(defs):
        make_case(name, defs[name])


if __name__ == "__main__":
    main(sys.argv)
