/* The seq2seq layer's dimensions, parameter offsets and order of steps (see
 * layer_seq2seq.c for the equations and the parameter order), shared by its CPU
 * (layer_seq2seq.c) and GPU (layer_seq2seq_cuda.cu) paths: the host owns the layout and
 * the sequence of the passes, both read them from here; each path supplies the steps on
 * its own buffers (its cache layout) through an s2s_steps table. */
#ifndef TA_LAYER_SEQ2SEQ_H
#define TA_LAYER_SEQ2SEQ_H

#include <stddef.h>
#include "ta_layer.h"
#include "ta_common.h"

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

/* What a pass of either path starts from: shapes, parameter offsets, the batch's shape,
 * its input and the parameters (with their gradients, +=, in a backward; else NULL) */
typedef struct {
  s2s_dims d;
  s2s_off o;
  size_t B, T;
  const float *in, *params, *v; /* v: the additive score's vector, else NULL */
  float *dparams, *dv;          /* dv: v's gradient */
} s2s_base;

static inline s2s_base s2s_base_of(const ta_layer *L, const float *in, const float *params,
                                   float *dparams, size_t B, size_t T) {
  s2s_base b;
  b.d = dims_of(L);
  b.o = offsets_of(&b.d);
  b.B = B;
  b.T = T;
  b.in = in;
  b.params = params;
  b.dparams = dparams;
  b.v = b.d.score == TA_SCORE_ADDITIVE ? params + b.o.a3 : NULL;
  b.dv = dparams && b.d.score == TA_SCORE_ADDITIVE ? dparams + b.o.a3 : NULL;
  return b;
}

/* The steps of a pass, each on the path's own context (its buffers, parameters and pass):
 * every one returns TA_OK or a status (the GPU's launch errors). t is a decoder step,
 * 0 <= t < Hz. NULL: the path has nothing to do there. */
typedef struct {
  int (*stopped)(void *x); /* nonzero: an interrupt, end the pass (its result is discarded) */
  /* forward */
  int (*encode)(void *x);            /* encoder states h_1..h_T (and c) */
  int (*keys)(void *x);              /* k_j: W_h h_j (additive), W h_j (general) */
  int (*start)(void *x);             /* s_0 = h_len (c_0 = c_len), y_prev of step 0 */
  int (*attend)(void *x, size_t t);  /* query, scores, softmax and ctx_t of step t */
  int (*cell)(void *x, size_t t);    /* s_{t+1} = cell([y_prev, ctx_t], s_t) */
  int (*output)(void *x, size_t t);  /* y_t = W_o [s_{t+1}; ctx_t] + b_o */
  int (*feed)(void *x, size_t t);    /* y_prev of step t + 1: the target or y_t */
  /* backward */
  int (*begin_back)(void *x);              /* clear the accumulated gradients */
  int (*output_back)(void *x, size_t t);   /* through y_t to s_{t+1} and ctx_t */
  int (*cell_back)(void *x, size_t t);     /* through the cell to s_t and its input */
  int (*input_back)(void *x, size_t t);    /* the input's parts to y_prev and ctx_t */
  int (*attend_back)(void *x, size_t t);   /* ctx_t to the weights, the keys, the values */
  int (*query_back)(void *x, size_t t);    /* the query to s_t */
  int (*decoder_back)(void *x);            /* what the path sums over all steps at once */
  int (*keys_back)(void *x);               /* the keys to the encoder states */
  int (*start_back)(void *x);              /* s_0 (c_0) to the encoder's last valid step */
  int (*encode_back)(void *x);             /* the encoder, and y_prev of step 0, to the input */
} s2s_steps;

#define S2S_STEP(f, ...) ((f) ? (f)(__VA_ARGS__) : TA_OK)

/* the forward pass: encoder, keys, the decoder's start, then Hz decoder steps */
static inline int s2s_run_forward(const s2s_steps *p, void *x, size_t Hz) {
  int st;
  if ((st = S2S_STEP(p->encode, x)) || (st = S2S_STEP(p->keys, x)) ||
      (st = S2S_STEP(p->start, x)))
    return st;
  for (size_t t = 0; t < Hz; t++) {
    if (p->stopped && p->stopped(x)) break;
    if ((st = S2S_STEP(p->attend, x, t)) || (st = S2S_STEP(p->cell, x, t)) ||
        (st = S2S_STEP(p->output, x, t)) || (t + 1 < Hz && (st = S2S_STEP(p->feed, x, t))))
      return st;
  }
  return TA_OK;
}

/* the backward pass: the decoder's steps last to first, then what they reached of the
 * encoder */
static inline int s2s_run_backward(const s2s_steps *p, void *x, size_t Hz) {
  int st;
  if ((st = S2S_STEP(p->begin_back, x))) return st;
  for (size_t t = Hz; t-- > 0;) {
    if (p->stopped && p->stopped(x)) break;
    if ((st = S2S_STEP(p->output_back, x, t)) || (st = S2S_STEP(p->cell_back, x, t)) ||
        (st = S2S_STEP(p->input_back, x, t)) || (st = S2S_STEP(p->attend_back, x, t)) ||
        (st = S2S_STEP(p->query_back, x, t)))
      return st;
  }
  if ((st = S2S_STEP(p->decoder_back, x)) || (st = S2S_STEP(p->keys_back, x)) ||
      (st = S2S_STEP(p->start_back, x)))
    return st;
  return S2S_STEP(p->encode_back, x);
}
#undef S2S_STEP

#endif
