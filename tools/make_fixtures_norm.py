"""Fixture for the layer-norm layer: nn.Linear(3, 6) -> nn.LayerNorm(6) (random affine
weights) -> nn.Linear(6, 2), i.e. sequential(layer_dense(6), layer_layer_norm(),
layer_dense(2), input_dim = 3). Same format and names as tools/make_fixtures.py.
Run by hand: /work/venv-torch/bin/python tools/make_fixtures_norm.py"""
import copy
import os

import torch
from torch import nn

from make_fixtures import OUT_DIR, fmt_tensor

torch.set_num_threads(1)


def main():
    torch.manual_seed(31)
    net = nn.Sequential(nn.Linear(3, 6), nn.LayerNorm(6), nn.Linear(6, 2))
    with torch.no_grad():  # non-trivial affine parameters
        net[1].weight.copy_(torch.randn(6) * 0.5 + 1)
        net[1].bias.copy_(torch.randn(6) * 0.5)
    x = torch.randn(2, 5, 3)
    y = torch.randn(2, 5, 2)
    res = {k: v.detach().clone() for k, v in net.state_dict().items()}
    res["x"], res["y"] = x, y
    f = copy.deepcopy(net)
    xg = x.clone().requires_grad_(True)
    out = f(xg)
    loss = nn.MSELoss()(out, y)
    loss.backward()
    res["output"], res["loss"] = out.detach(), loss.detach()
    for k, p in f.named_parameters():
        res["grad." + k] = p.grad.detach().clone()
    res["grad.x"] = xg.grad.detach().clone()
    a = copy.deepcopy(net)
    opt = torch.optim.Adam(a.parameters(), lr=0.01)
    opt.zero_grad()
    nn.MSELoss()(a(x), y).backward()
    opt.step()
    for k, v in a.state_dict().items():
        res["adam1." + k] = v.detach().clone()
    path = os.path.join(OUT_DIR, "layer_norm.txt")
    with open(path, "w") as fh:
        fh.write("# tsattn fixture 'layer_norm' (torch %s)\n" % torch.__version__)
        fh.write("\n".join(fmt_tensor(k, v) for k, v in res.items()) + "\n")
    print("wrote", os.path.relpath(path), "loss", loss.item())


if __name__ == "__main__":
    main()
