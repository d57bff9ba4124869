#!/usr/bin/env python3
"""Write PyTorch reference fixtures for tsattn's layers.

Run by hand (never in CI), from the repository root:

    /work/venv-torch/bin/python tools/make_fixtures.py

It writes tests/testthat/fixtures/<case>.txt, read by tests/testthat/helper-fixtures.R
and used by tests/testthat/test-torch-fixtures.R.  Everything is float32 on the CPU.

File format (plain text):

    # comment lines start with '#'
    @ <name> <ndim> <d1> <d2> ...
    <values, row-major (C order), space separated, possibly over several lines>

A 0-d tensor is written as "@ <name> 0" followed by one value.  Values use "%.9g",
which round-trips float32 exactly.

Names in a case:
  <i>.<param>          initial weights: PyTorch state_dict names, prefixed by the
                       0-based position of the layer in our sequential() network
  x, y                 input [B, T, F] and target
  output               forward output
  loss                 nn.MSELoss() (mean), 0-d
  grad.<weight>        d loss / d weight
  grad.x               d loss / d x
  adam1.<weight>       weights after one Adam step (lr 0.01) from the initial weights
  adam10.<weight>      (seed_gru) after 10 full-batch Adam steps (lr 0.01)
  train300.mse         (seed_gru) MSE of the prediction after 300 such steps
  sgd2.<weight>        (gru1) after 2 SGD steps (lr 0.1, momentum 0.9)
  adamwd1.<weight>     (gru1) after 1 Adam step (lr 0.01, weight_decay 0.1, L2 form)
"""

import copy
import math
import os
import sys

import torch
from torch import nn

OUT_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "testthat", "fixtures"
)

torch.set_default_dtype(torch.float32)
torch.set_num_threads(1)  # deterministic summation order on the CPU


class Net(nn.Module):
    """A stack of layers named "0", "1", ... as in nn.Sequential.

    Each entry of `steps` is (module, kind) where kind says how to apply it:
      "rnn"        GRU/LSTM, keep the whole output sequence
      "rnn_last"   GRU/LSTM, keep only the last time step (shape [B, 1, H])
      "dense"      Linear applied at every time step
      "dense_tanh" Linear then torch.tanh
    """

    def __init__(self, steps):
        super().__init__()
        self.kinds = []
        for i, (module, kind) in enumerate(steps):
            self.add_module(str(i), module)
            self.kinds.append(kind)

    def forward(self, x):
        for i, kind in enumerate(self.kinds):
            m = getattr(self, str(i))
            if kind == "rnn":
                x = m(x)[0]
            elif kind == "rnn_last":
                x = m(x)[0][:, -1:, :]
            elif kind == "dense":
                x = m(x)
            elif kind == "dense_tanh":
                x = torch.tanh(m(x))
            else:
                raise ValueError(kind)
        return x


def rnn(cls, input_size, hidden, num_layers):
    return cls(input_size, hidden, num_layers=num_layers, batch_first=True)


# Each case: seed, a function building the layer list (called right after
# manual_seed, so weights use PyTorch's default initialisation), shapes of x and y
# (None: the case makes its own data), and extras.
def case_defs():
    return {
        "dense": dict(
            seed=101,
            steps=lambda: [(nn.Linear(3, 2), "dense_tanh")],
            x_shape=(2, 4, 3), y_shape=(2, 4, 2),
        ),
        "gru1": dict(
            seed=102,
            steps=lambda: [(rnn(nn.GRU, 3, 5, 1), "rnn"), (nn.Linear(5, 2), "dense")],
            x_shape=(2, 6, 3), y_shape=(2, 6, 2),
            extra=("sgd2", "adamwd1"),
        ),
        "gru2": dict(
            seed=103,
            steps=lambda: [(rnn(nn.GRU, 3, 5, 2), "rnn"), (nn.Linear(5, 2), "dense")],
            x_shape=(2, 6, 3), y_shape=(2, 6, 2),
        ),
        "lstm1": dict(
            seed=104,
            steps=lambda: [(rnn(nn.LSTM, 3, 5, 1), "rnn"), (nn.Linear(5, 2), "dense")],
            x_shape=(2, 6, 3), y_shape=(2, 6, 2),
        ),
        "lstm2": dict(
            seed=505,  # 105 gave an ill-conditioned first Adam step
            steps=lambda: [(rnn(nn.LSTM, 3, 5, 2), "rnn"), (nn.Linear(5, 2), "dense")],
            x_shape=(2, 6, 3), y_shape=(2, 6, 2),
        ),
        "gru_last": dict(
            seed=106,
            steps=lambda: [(rnn(nn.GRU, 3, 5, 2), "rnn_last"), (nn.Linear(5, 2), "dense")],
            x_shape=(2, 6, 3), y_shape=(2, 1, 2),
        ),
        "lstm_last": dict(
            seed=107,
            steps=lambda: [(rnn(nn.LSTM, 3, 5, 2), "rnn_last"), (nn.Linear(5, 2), "dense")],
            x_shape=(2, 6, 3), y_shape=(2, 1, 2),
        ),
        # The first seed task: GRU(1, 4, 2) -> Linear(4, 1) -> tanh on a 5 Hz sine,
        # predicting one step ahead; manual_seed(0) as in the seed.
        "seed_gru": dict(
            seed=0,
            steps=lambda: [(rnn(nn.GRU, 1, 4, 2), "rnn"), (nn.Linear(4, 1), "dense_tanh")],
            data=lambda: seed_gru_data(),
            extra=("adam10", "train300"),
        ),
    }


def seed_gru_data():
    n_pred = 1
    s = torch.sin(torch.linspace(0, 2 * math.pi * 5, 200 + n_pred))
    y = s[n_pred:].unsqueeze(0).unsqueeze(-1)   # [1, 200, 1]
    x = s[:-n_pred].unsqueeze(0).unsqueeze(-1)  # [1, 200, 1]
    return x, y


def loss_fn(net, x, y):
    return nn.MSELoss()(net(x), y)


def train(net0, x, y, make_opt, steps):
    """Copy of net0 after `steps` full-batch optimizer steps."""
    net = copy.deepcopy(net0)
    opt = make_opt(net.parameters())
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(net, x, y).backward()
        opt.step()
    return net


def fmt_tensor(name, t):
    t = t.detach().to(torch.float32).contiguous()
    dims = list(t.shape)
    head = "@ %s %d%s" % (name, len(dims), "".join(" %d" % d for d in dims))
    vals = [("%.9g" % v) for v in t.reshape(-1).double().tolist()]
    lines = [head]
    for i in range(0, len(vals), 8):
        lines.append(" ".join(vals[i:i + 8]))
    return "\n".join(lines)


def compute(spec, dtype):
    """All tensors of a case, in file order, computed in `dtype`.

    Weights and data are drawn in float32 (so both dtypes start from the same
    numbers) and then converted.
    """
    torch.manual_seed(spec["seed"])
    net = Net(spec["steps"]())
    if "data" in spec:
        x, y = spec["data"]()
    else:
        x = torch.randn(*spec["x_shape"])
        y = torch.randn(*spec["y_shape"])
    net = net.to(dtype)
    x = x.to(dtype)
    y = y.to(dtype)

    res = {}
    for k, v in net.state_dict().items():
        res[k] = v.detach().clone()
    res["x"] = x
    res["y"] = y

    # forward and backward on a copy, so the initial weights stay untouched
    fnet = copy.deepcopy(net)
    xg = x.clone().requires_grad_(True)
    out = fnet(xg)
    loss = nn.MSELoss()(out, y)
    loss.backward()
    res["output"] = out.detach()
    res["loss"] = loss.detach()
    for k, p in fnet.named_parameters():
        res["grad." + k] = p.grad.detach().clone()
    res["grad.x"] = xg.grad.detach().clone()

    def dump(prefix, trained):
        for k, v in trained.state_dict().items():
            res[prefix + "." + k] = v.detach().clone()

    adam = lambda params: torch.optim.Adam(params, lr=0.01)
    dump("adam1", train(net, x, y, adam, 1))
    extra = spec.get("extra", ())
    if "adam10" in extra:
        dump("adam10", train(net, x, y, adam, 10))
    if "train300" in extra:
        # the seed task itself: 300 full-batch Adam steps (lr 0.01) from these weights,
        # then the MSE of the prediction
        trained = train(net, x, y, adam, 300)
        with torch.no_grad():
            res["train300.mse"] = loss_fn(trained, x, y).detach()
    if "sgd2" in extra:
        sgd = lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9)
        dump("sgd2", train(net, x, y, sgd, 2))
    if "adamwd1" in extra:
        adamwd = lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=0.1)
        dump("adamwd1", train(net, x, y, adamwd, 1))
    return res


# Tolerances of tests/testthat/test-torch-fixtures.R, by name prefix.
def tolerance(name):
    if name.startswith("train300."):
        return 1e-3, 0.0  # 300 steps amplify float32 summation-order differences
    rtol = 1e-4 if name.startswith("adam10.") else 1e-5
    return rtol, 1e-6


def make_case(name, spec):
    res = compute(spec, torch.float32)
    blocks = [fmt_tensor(k, v) for k, v in res.items()]
    path = os.path.join(OUT_DIR, name + ".txt")
    with open(path, "w") as f:
        f.write("# tsattn fixture '%s', written by tools/make_fixtures.py (torch %s)\n"
                % (name, torch.__version__))
        f.write("\n".join(blocks))
        f.write("\n")

    # Conditioning check: the same computation in float64.  If PyTorch's own
    # float32 result is not well inside the tests' tolerance of the float64 one,
    # a float32 implementation with another summation order could fail through
    # no fault of its own (e.g. a first Adam step on a gradient near eps), so
    # such a case needs another seed.  Printed: the worst |f32 - f64| / tol.
    ref = compute(spec, torch.float64)
    worst, worst_name = 0.0, ""
    for k, v in res.items():
        rtol, atol = tolerance(k)
        e = ref[k]
        r = ((v.double() - e).abs() / (atol + rtol * e.abs())).max().item()
        if r > worst:
            worst, worst_name = r, k
    warn = "  WARNING: ill-conditioned, pick another seed" if worst > 0.25 else ""
    print("%-10s loss %.6g  worst |f32-f64|/tol %.3g (%s)%s -> %s"
          % (name, res["loss"].item(), worst, worst_name, warn, os.path.relpath(path)))


def main(argv):
    os.makedirs(OUT_DIR, exist_ok=True)
    defs = case_defs()
    names = argv[1:] or list(defs)
    for name in names:
        make_case(name, defs[name])


if __name__ == "__main__":
    main(sys.argv)
