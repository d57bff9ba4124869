#!/usr/bin/env python3
"""Write PyTorch reference fixtures for tsattn's transformer encoder block.

Run by hand (never in CI), from the repository root:

    /work/venv-torch/bin/python tools/make_fixtures_transformer.py [case ...]

Same file format and names as tools/make_fixtures.py (whose helpers it imports), for
one nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0,
batch_first=True) named "0", i.e. our
sequential(layer_transformer_encoder(heads = 2, d_ff = 16, ...), input_dim = 8).
Cases cover post-norm and pre-norm, relu and gelu, a causal mask, and padding: valid
lengths, written as the tensor `lengths` [B], become src_key_padding_mask, and the loss
is then the MSE over the valid (b, t, f) elements only (as tsattn's loss, which skips
padded steps).

PyTorch caveat: in eval mode nn.TransformerEncoderLayer may take a "fast path" (nested
tensors) that zeroes the outputs of padded steps. Everything here runs in train() mode
with dropout = 0, so the regular path runs and padded queries still attend to the
valid keys, as in tsattn.
"""

import copy
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import OUT_DIR, fmt_tensor, tolerance  # noqa: E402

torch.set_default_dtype(torch.float32)
torch.set_num_threads(1)

E, H, D_FF = 8, 2, 16
B, T = 2, 5


class Block(nn.Module):
    """The encoder layer as module "0", with its masks."""

    def __init__(self, norm_first, activation, causal):
        super().__init__()
        self.add_module("0", nn.TransformerEncoderLayer(
            d_model=E, nhead=H, dim_feedforward=D_FF, dropout=0.0, activation=activation,
            batch_first=True, norm_first=norm_first))
        self.causal = causal

    def forward(self, x, lengths=None):
        t = x.shape[1]
        mask = None
        if self.causal:
            mask = nn.Transformer.generate_square_subsequent_mask(t, dtype=x.dtype)
        pad = None
        if lengths is not None:
            # -inf on padded keys (a float mask, the same type as the causal one)
            padded = torch.arange(t).unsqueeze(0) >= lengths.unsqueeze(1)
            pad = torch.zeros(padded.shape, dtype=x.dtype).masked_fill(padded, float("-inf"))
        return getattr(self, "0")(x, src_mask=mask, src_key_padding_mask=pad,
                                  is_causal=self.causal)


def case_defs():
    c = lambda seed, nf, act, causal=False, lengths=None: dict(
        seed=seed, norm_first=nf, activation=act, causal=causal, lengths=lengths)
    return {
        "transformer_post_relu": c(201, False, "relu"),
        "transformer_pre_relu": c(202, True, "relu"),
        "transformer_post_gelu": c(203, False, "gelu"),
        "transformer_pre_gelu": c(204, True, "gelu"),
        "transformer_post_relu_causal": c(205, False, "relu", causal=True),
        "transformer_pre_gelu_causal": c(206, True, "gelu", causal=True),
        "transformer_post_relu_pad": c(207, False, "relu", lengths=[5, 3]),
        "transformer_pre_gelu_causal_pad": c(208, True, "gelu", causal=True, lengths=[2, 4]),
    }


def masked_mse(out, y, lengths):
    if lengths is None:
        return nn.MSELoss()(out, y)
    valid = (torch.arange(out.shape[1]).unsqueeze(0) < lengths.unsqueeze(1))  # [B, T]
    w = valid.unsqueeze(-1).expand_as(out)
    d = (out - y)[w]
    return (d * d).mean()


def compute(spec, dtype):
    torch.manual_seed(spec["seed"])
    net = Block(spec["norm_first"], spec["activation"], spec["causal"])
    # PyTorch starts the attention biases at 0 and the norms at ones/zeros; perturb them
    # so that the fixture tells every bias and norm parameter apart (norm1 vs norm2)
    with torch.no_grad():
        layer = getattr(net, "0")
        for p in (layer.self_attn.in_proj_bias, layer.self_attn.out_proj.bias,
                  layer.norm1.bias, layer.norm2.bias):
            p.copy_(0.1 * torch.randn(p.shape))
        for p in (layer.norm1.weight, layer.norm2.weight):
            p.copy_(1.0 + 0.1 * torch.randn(p.shape))
    x = torch.randn(B, T, E)
    y = torch.randn(B, T, E)
    lengths = None
    if spec["lengths"] is not None:
        lengths = torch.tensor(spec["lengths"], dtype=torch.long)
    net = net.to(dtype).train()  # train(): the regular (not the fast) path; dropout is 0
    x = x.to(dtype)
    y = y.to(dtype)

    res = {}
    for k, v in net.state_dict().items():
        res[k] = v.detach().clone()
    res["x"] = x
    res["y"] = y
    if lengths is not None:
        res["lengths"] = lengths.to(dtype)

    fnet = copy.deepcopy(net)
    xg = x.clone().requires_grad_(True)
    out = fnet(xg, lengths)
    loss = masked_mse(out, y, lengths)
    loss.backward()
    res["output"] = out.detach()
    res["loss"] = loss.detach()
    for k, p in fnet.named_parameters():
        res["grad." + k] = p.grad.detach().clone()
    res["grad.x"] = xg.grad.detach().clone()

    anet = copy.deepcopy(net)
    opt = torch.optim.Adam(anet.parameters(), lr=0.01)
    opt.zero_grad()
    masked_mse(anet(x, lengths), y, lengths).backward()
    opt.step()
    for k, v in anet.state_dict().items():
        res["adam1." + k] = v.detach().clone()
    return res


def make_case(name, spec):
    res = compute(spec, torch.float32)
    path = os.path.join(OUT_DIR, name + ".txt")
    with open(path, "w") as f:
        f.write("# tsattn fixture '%s', written by tools/make_fixtures_transformer.py "
                "(torch %s)\n" % (name, torch.__version__))
        f.write("\n".join(fmt_tensor(k, v) for k, v in res.items()))
        f.write("\n")

    # Conditioning: PyTorch's float32 result against its float64 one, in units of the
    # tests' tolerance (see make_fixtures.py). The key part of in_proj_bias has an
    # analytically zero gradient (softmax ignores a constant added to every score of a
    # row), so its first Adam step is lr * noise / (|noise| + eps): reported apart,
    # and tests/testthat/test-transformer.R checks it differently.
    ref = compute(spec, torch.float64)
    worst, worst_name, kb = 0.0, "", 0.0
    for k, v in res.items():
        rtol, atol = tolerance(k)
        e = ref[k]
        r = ((v.double() - e).abs() / (atol + rtol * e.abs()))
        if k.endswith("self_attn.in_proj_bias") and k.startswith("adam1."):
            kb = max(kb, r[E:2 * E].max().item())
            r = torch.cat([r[:E], r[2 * E:]])
        r = r.max().item()
        if r > worst:
            worst, worst_name = r, k
    warn = "  WARNING: ill-conditioned, pick another seed" if worst > 0.25 else ""
    print("%-32s loss %.6g  worst |f32-f64|/tol %.3g (%s)%s [adam1 key bias %.3g] -> %s"
          % (name, res["loss"].item(), worst, worst_name, warn, kb, os.path.relpath(path)))


def main(argv):
    os.makedirs(OUT_DIR, exist_ok=True)
    defs = case_defs()
    for name in argv[1:] or list(defs):
        make_case(name, defs[name])


if __name__ == "__main__":
    main(sys.argv)
