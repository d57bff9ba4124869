"""Fixture for toy_shapes(): the fourth seed's positions_to_sequences() (François
Fleuret's code, as in the seed) on fixed shapes without noise, so the R port can be
compared exactly. Run by hand: /work/venv-torch/bin/python tools/make_fixtures_toy.py"""
import os
import torch
import torch.nn.functional as F

from make_fixtures import fmt_tensor

seq_length = 100


def positions_to_sequences(tr, bx, noise_level=0.0):
    st = torch.arange(seq_length).float()
    st = st[None, :, None]
    tr = tr[:, None, :, :]
    bx = bx[:, None, :, :]
    xtr = torch.relu(tr[..., 1] - torch.relu(torch.abs(st - tr[..., 0]) - 0.5) * 2 * tr[..., 1] / tr[..., 2])
    xbx = torch.sign(torch.relu(bx[..., 1] - torch.abs((st - bx[..., 0]) * 2 * bx[..., 1] / bx[..., 2]))) * bx[..., 1]
    x = torch.cat((xtr, xbx), 2)
    u = F.max_pool1d(x.sign().permute(0, 2, 1), kernel_size=2, stride=1).permute(0, 2, 1)
    collisions = (u.sum(2) > 1).max(1).values
    y = x.max(2).values
    return y + torch.rand_like(y) * noise_level - noise_level / 2, collisions


def main():
    torch.manual_seed(7)
    nb = 6
    tr = torch.empty(nb, 2, 3)
    bx = torch.empty(nb, 2, 3)
    for a in (tr, bx):
        a[:, :, 0].uniform_(11 / 2, seq_length - 11 / 2)
        a[:, :, 1].uniform_(1.0, 25.0)
        a[:, :, 2].uniform_(5.0, 11.0)
    y, coll = positions_to_sequences(tr, bx)
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "testthat", "fixtures", "toy_shapes.txt")
    with open(out, "w") as f:
        f.write("# toy_shapes fixture: positions_to_sequences() without noise (torch %s)\n" % torch.__version__)
        f.write("\n".join([fmt_tensor("tr", tr), fmt_tensor("bx", bx), fmt_tensor("y", y),
                           fmt_tensor("collisions", coll.float())]))
        f.write("\n")
    print("wrote", os.path.relpath(out), "collisions:", coll.tolist())


if __name__ == "__main__":
    main()
