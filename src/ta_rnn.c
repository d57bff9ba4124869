#include <math.h>
#include <stdio.h>
#include <string.h>
#include "ta_rnn.h"
#include "ta_gemm.h"

int ta_rnn_setup(ta_layer *L, const ta_layer_spec *s, int G, const char *kind, ta_msg *msg) {
  if (s->units < 1) return ta_fail(msg, TA_ERR_ARG, "%s: units must be >= 1, not %d", kind, s->units);
  if (s->num_layers < 1)
    return ta_fail(msg, TA_ERR_ARG, "%s: num_layers must be >= 1, not %d", kind, s->num_layers);
  if (!(s->rate >= 0.0 && s->rate < 1.0))
    return ta_fail(msg, TA_ERR_ARG, "%s: dropout must be in [0, 1), not %g", kind, s->rate);
  L->cfg.rnn.hidden = s->units;
  L->cfg.rnn.num_layers = s->num_layers;
  L->cfg.rnn.return_sequences = s->return_sequences ? 1 : 0;
  L->cfg.rnn.dropout = (float)s->rate;
  L->out_dim = s->units;
  L->keeps_time = L->cfg.rnn.return_sequences;
  size_t H = (size_t)s->units, n = 0;
  for (int l = 0; l < s->num_layers; l++) n += (size_t)G * H * (ta_rnn_in(L, l) + H + 2);
  L->n_params = n;
  return TA_OK;
}

int ta_rnn_n_tensors(const ta_layer *L) { return 4 * L->cfg.rnn.num_layers; }

void ta_rnn_tensor(const ta_layer *L, int G, int k, ta_tensor_info *info) {
  static const char *stem[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  int l = k / 4, which = k % 4, H = L->cfg.rnn.hidden;
  snprintf(info->name, TA_NAME_LEN, "%s_l%d", stem[which], l);
  info->dim[0] = G * H;
  if (which < 2) {
    info->ndim = 2;
    info->dim[1] = which == 0 ? (int)ta_rnn_in(L, l) : H;
  } else {
    info->ndim = 1;
  }
}

void ta_rnn_init(const ta_layer *L, float *params, ta_rng *rng) {
  ta_fill_uniform(params, L->n_params, 1.0f / sqrtf((float)L->cfg.rnn.hidden), rng);
}

/* in closed form (not a sum over the cells below): a cell's forward and backward ask for
 * it once per cell, and a loop made a stack of 10,000 cells quadratic */
size_t ta_rnn_param_offset(const ta_layer *L, int G, int l) {
  if (l == 0) return 0;
  size_t H = (size_t)L->cfg.rnn.hidden, GH = (size_t)G * H;
  /* cell 0 reads the input's features, every later one the H of the cell below */
  return GH * (ta_rnn_in(L, 0) + H + 2) + (size_t)(l - 1) * GH * (2 * H + 2);
}

void ta_rnn_emit(const ta_layer *L, float *out, const float *h, size_t B, size_t T) {
  size_t H = (size_t)L->cfg.rnn.hidden;
  if (L->cfg.rnn.return_sequences) {
    memcpy(out, h, B * T * H * sizeof(float));
  } else {
    for (size_t b = 0; b < B; b++) memcpy(out + b * H, h + (b * T + T - 1) * H, H * sizeof(float));
  }
}

void ta_rnn_collect(const ta_layer *L, float *dH, const float *dout, size_t B, size_t T) {
  size_t H = (size_t)L->cfg.rnn.hidden;
  if (L->cfg.rnn.return_sequences) {
    memcpy(dH, dout, B * T * H * sizeof(float));
  } else {
    memset(dH, 0, B * T * H * sizeof(float));
    for (size_t b = 0; b < B; b++) memcpy(dH + (b * T + T - 1) * H, dout + b * H, H * sizeof(float));
  }
}

ta_rnn_cell ta_rnn_cell_at(const ta_layer *L, int G, float *cache, int l, size_t BT) {
  size_t H = (size_t)L->cfg.rnn.hidden;
  ta_rnn_cell c = {0};
  /* the cells below l, in closed form (see ta_rnn_param_offset): each holds gates, aux
   * and h, and a dropout mask and output when dropout follows it, as every cell below
   * the top one does when dropout > 0 (and l is at most the top one) */
  size_t below = (size_t)G * H + 2 * H + (L->cfg.rnn.dropout > 0.0f ? 2 * H : 0);
  c.gates = cache + (size_t)l * BT * below;
  c.aux = c.gates + BT * (size_t)G * H;
  c.h = c.aux + BT * H;
  if (ta_rnn_has_dropout(L, l)) {
    c.mask = c.h + BT * H;
    c.hd = c.mask + BT * H;
  }
  return c;
}

size_t ta_rnn_cells_size(const ta_layer *L, int G, size_t BT) {
  size_t H = (size_t)L->cfg.rnn.hidden, n = 0;
  for (int l = 0; l < L->cfg.rnn.num_layers; l++)
    n += BT * ((size_t)G + 2) * H + (ta_rnn_has_dropout(L, l) ? 2 * BT * H : 0);
  return n;
}

const float *ta_rnn_next_input(const ta_layer *L, ta_rnn_cell *c, const ta_pass *ps, size_t BT) {
  size_t n = BT * (size_t)L->cfg.rnn.hidden;
  if (!c->mask) return c->h;
  if (ps->training) {
    ta_dropout_apply(c->hd, c->mask, c->h, n, L->cfg.rnn.dropout, ps->rng);
  } else {
    memcpy(c->hd, c->h, n * sizeof(float));
    for (size_t i = 0; i < n; i++) c->mask[i] = 1.0f;
  }
  return c->hd;
}

void ta_rnn_step_product(const ta_rnn_steps *k, size_t G, size_t b0, size_t b1, size_t t) {
  size_t T = k->T, H = k->H, GH = G * H, nb = b1 - b0;
  float *hp = k->hp + b0 * GH;
  if (t > 0) ta_gemm_packed(hp, GH, k->c.h + (b0 * T + t - 1) * H, T * H, k->Wp, nb, GH, H, 0);
  else memset(hp, 0, nb * GH * sizeof(float));
}
