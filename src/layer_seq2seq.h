/* The seq2seq layer's dimensions and parameter offsets (see layer_seq2seq.c for the
 * equations and the parameter order), shared by its CPU (layer_seq2seq.c) and GPU
 * (layer_seq2seq_cuda.cu) paths: the host owns the layout, both read it from here. */
#ifndef TA_LAYER_SEQ2SEQ_H
#define TA_LAYER_SEQ2SEQ_H

#include <stddef.h>
#include "ta_layer.h"

typedef struct {
  size_t F, H, A, O, Hz, G, GH, DI, Kd;
  int score, lstm;
} s2s_dims;

static inline s2s_dims dims_of(const ta_layer *L) {
  const ta_seq2seq_cfg *c = &L->cfg.s2s;
  s2s_dims d;
  d.F = (size_t)L->in_dim;
  d.H = (size_t)c->hidden;
  d.A = (size_t)c->attn_dim;
  d.O = (size_t)L->out_dim;
  d.Hz = (size_t)c->horizon;
  d.lstm = c->cell == TA_CELL_LSTM;
  d.G = d.lstm ? 4 : 3;
  d.GH = d.G * d.H;
  d.DI = d.O + d.H;
  d.score = c->score;
  d.Kd = c->score == TA_SCORE_ADDITIVE ? d.A : d.H;
  return d;
}

/* parameter offsets */
typedef struct {
  size_t e_wih, e_whh, e_bih, e_bhh, d_wih, d_whh, d_bih, d_bhh, a1, a2, a3, wo, bo, n;
} s2s_off;

static inline s2s_off offsets_of(const s2s_dims *d) {
  s2s_off o;
  o.e_wih = 0;
  o.e_whh = o.e_wih + d->GH * d->F;
  o.e_bih = o.e_whh + d->GH * d->H;
  o.e_bhh = o.e_bih + d->GH;
  o.d_wih = o.e_bhh + d->GH;
  o.d_whh = o.d_wih + d->GH * d->DI;
  o.d_bih = o.d_whh + d->GH * d->H;
  o.d_bhh = o.d_bih + d->GH;
  o.a1 = o.d_bhh + d->GH; /* additive W_s, general W */
  o.a2 = o.a3 = o.wo = o.a1;
  if (d->score == TA_SCORE_ADDITIVE) {
    o.a2 = o.a1 + d->A * d->H; /* W_h */
    o.a3 = o.a2 + d->A * d->H; /* v */
    o.wo = o.a3 + d->A;
  } else if (d->score == TA_SCORE_GENERAL) {
    o.wo = o.a1 + d->H * d->H;
  }
  o.bo = o.wo + d->O * 2 * d->H;
  o.n = o.bo + d->O;
  return o;
}

#endif
