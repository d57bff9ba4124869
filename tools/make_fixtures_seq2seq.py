#!/usr/bin/env python3
"""Write PyTorch reference fixtures for tsattn's seq2seq layer.

Run by hand (never in CI), from the repository root:

    /work/venv-torch/bin/python tools/make_fixtures_seq2seq.py

Same file format as tools/make_fixtures.py (whose fmt_tensor this imports); read by
tests/testthat/test-seq2seq.R.

The model is written with PyTorch's own modules: the encoder is nn.GRU / nn.LSTM
(batch_first) over a packed sequence, so its final (h, c) are those at each sequence's
valid length; the decoder is nn.GRUCell / nn.LSTMCell, one step at a time, with
Bahdanau's additive score v' tanh(W_s s + W_h h_j) (Linear layers without bias), or
Luong's dot s.h_j or general s' W h_j, a softmax over the valid encoder steps,
context c_t = sum_j a_tj h_j, input [y_prev, c_t] and output Linear(2H, O) on [s_t; c_t].
y_prev is x[b, len-1, :O] at the first step, then the target (teacher forcing) or the
decoder's own previous output (greedy).

Cases (name: cell, score, decoding, lengths):
  s2s_gru_additive   GRU,  additive (A = 4), teacher forcing, lengths (6, 4, 5)
  s2s_lstm_general   LSTM, general,          greedy,          no lengths
  s2s_lstm_dot       LSTM, dot,              teacher forcing, lengths (3, 6, 2)

Names: 0.<param> initial weights (our names), x, y, lengths (when given), output,
loss (nn.MSELoss over all outputs), grad.0.<param>, grad.x, attn [B, horizon, T].
"""

import os
import sys

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402  (fmt_tensor, OUT_DIR; float32, 1 thread)


class Seq2Seq(nn.Module):
    def __init__(self, cell, score, F, H, O, horizon, A=None):
        super().__init__()
        self.cell, self.score, self.O, self.horizon = cell, score, O, horizon
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        cellm = nn.GRUCell if cell == "gru" else nn.LSTMCell
        self.encoder = rnn(F, H, batch_first=True)
        self.decoder = cellm(O + H, H)
        if score == "additive":
            A = A or H
            self.W_s = nn.Linear(H, A, bias=False)
            self.W_h = nn.Linear(H, A, bias=False)
            self.v = nn.Linear(A, 1, bias=False)
        elif score == "general":
            self.W = nn.Linear(H, H, bias=False)
        self.output = nn.Linear(2 * H, O)

    def our_state(self):
        """state_dict under tsattn's names (prefix "0.")"""
        sd = {}
        for k, v in self.encoder.named_parameters():
            sd["0.encoder." + k] = v
        for k, v in self.decoder.named_parameters():  # weight_ih, ... -> weight_ih_l0
            sd["0.decoder." + k + "_l0"] = v
        if self.score == "additive":
            sd["0.attention.W_s"] = self.W_s.weight
            sd["0.attention.W_h"] = self.W_h.weight
            sd["0.attention.v"] = self.v.weight  # [1, A], written as [A]
        elif self.score == "general":
            sd["0.attention.W"] = self.W.weight
        sd["0.output.weight"] = self.output.weight
        sd["0.output.bias"] = self.output.bias
        return sd

    def forward(self, x, lengths, target=None):
        B, T, _ = x.shape
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True,
                                      enforce_sorted=False)
        out_p, st = self.encoder(packed)
        E, _ = nn.utils.rnn.pad_packed_sequence(out_p, batch_first=True, total_length=T)
        if self.cell == "gru":
            s, c = st[0], None
        else:
            s, c = st[0][0], st[1][0]
        valid = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]
        idx = torch.tensor(lengths) - 1
        y_prev = x[torch.arange(B), idx, : self.O]
        ys, attns = [], []
        for t in range(self.horizon):
            if self.score == "additive":
                e = self.v(torch.tanh(self.W_s(s)[:, None, :] + self.W_h(E))).squeeze(-1)
            elif self.score == "dot":
                e = (E * s[:, None, :]).sum(-1)
            else:
                e = (self.W(E) * s[:, None, :]).sum(-1)
            e = e.masked_fill(~valid, float("-inf"))
            a = torch.softmax(e, dim=-1)
            ctx = (a[:, :, None] * E).sum(1)
            inp = torch.cat([y_prev, ctx], dim=-1)
            if self.cell == "gru":
                s = self.decoder(inp, s)
            else:
                s, c = self.decoder(inp, (s, c))
            y = self.output(torch.cat([s, ctx], dim=-1))
            ys.append(y)
            attns.append(a)
            y_prev = target[:, t, :] if target is not None else y
        return torch.stack(ys, 1), torch.stack(attns, 1)


def case(name, cell, score, lengths, teacher, A=None, seed=0):
    torch.manual_seed(seed)
    B, T, F, H, O, horizon = 3, 6, 3, 5, 2, 3
    net = Seq2Seq(cell, score, F, H, O, horizon, A)
    x = torch.randn(B, T, F, requires_grad=True)
    y = torch.randn(B, horizon, O)
    lens = lengths if lengths is not None else [T] * B
    out, attn = net(x, lens, y if teacher else None)
    loss = nn.MSELoss()(out, y)
    sd = net.our_state()
    grads = torch.autograd.grad(loss, list(sd.values()) + [x])
    parts = ["# seq2seq fixture %s: %s, %s, %s" % (name, cell, score,
                                                     "teacher forcing" if teacher else "greedy")]
    flat = lambda k, v: v.reshape(-1) if k == "0.attention.v" else v  # noqa: E731
    for k, v in sd.items():
        parts.append(mf.fmt_tensor(k, flat(k, v)))
    parts.append(mf.fmt_tensor("x", x))
    parts.append(mf.fmt_tensor("y", y))
    if lengths is not None:
        parts.append(mf.fmt_tensor("lengths", torch.tensor(lengths, dtype=torch.float32)))
    parts.append(mf.fmt_tensor("output", out))
    parts.append(mf.fmt_tensor("attn", attn))
    parts.append(mf.fmt_tensor("loss", loss))
    for k, g in zip(list(sd.keys()) + ["x"], grads):
        parts.append(mf.fmt_tensor("grad." + k, flat(k, g)))
    path = os.path.join(mf.OUT_DIR, name + ".txt")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    case("s2s_gru_additive", "gru", "additive", [6, 4, 5], True, A=4, seed=1)
    case("s2s_lstm_general", "lstm", "general", None, False, seed=2)
    case("s2s_lstm_dot", "lstm", "dot", [3, 6, 2], True, seed=3)
