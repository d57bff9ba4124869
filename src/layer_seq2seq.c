/* Recurrent encoder-decoder with attention over the encoder states (R's seq2seq()).
 *
 * x [B, T, F] is the lookback window; by convention its first O features are the series
 * being forecast. With H the hidden size (encoder and decoder), A the additive attention
 * width, Hz the horizon and G the gates of the cell (GRU 3: r, z, n; LSTM 4: i, f, g, o):
 *   encoder   h_j = cell(x_j, h_{j-1}),  h_0 = c_0 = 0, j = 1..T (PyTorch's equations)
 *   decoder   s_0 = h_len (and c_0 = the encoder's c_len for LSTM), len = valid length
 *             for t = 1..Hz:
 *               e_tj = score(s_{t-1}, h_j) for j <= len (later keys get weight exactly 0)
 *                      additive  v' tanh(W_s s + W_h h_j)      (Bahdanau)
 *                      dot       s . h_j                       (Luong)
 *                      general   s' W h_j                      (Luong)
 *               a_t = softmax_j(e_t),  ctx_t = sum_j a_tj h_j
 *               s_t = cell([y_prev, ctx_t], s_{t-1})
 *               y_t = W_o [s_t; ctx_t] + b_o                   out [B, Hz, O]
 *   y_prev = x[b, len-1, 0:O] for t = 1; for t > 1 the target y_{t-1} (teacher forcing:
 *   training with targets), else the decoder's own y_{t-1} (greedy decoding). Backward
 *   follows whichever path the forward took, so greedy decoding is differentiable through
 *   the fed-back outputs as well.
 * Parameters, in order (PyTorch names):
 *   encoder.weight_ih_l0 [GH, F], encoder.weight_hh_l0 [GH, H], encoder.bias_ih_l0 [GH],
 *   encoder.bias_hh_l0 [GH], decoder.weight_ih_l0 [GH, O + H], decoder.weight_hh_l0 [GH, H],
 *   decoder.bias_ih_l0 [GH], decoder.bias_hh_l0 [GH], then attention.W_s [A, H],
 *   attention.W_h [A, H], attention.v [A] (additive) or attention.W [H, H] (general),
 *   then output.weight [O, 2H], output.bias [O].
 * Spec: units = H, attn_dim = A (0: H), score TA_SCORE_ADDITIVE / _DOT / _GENERAL,
 *   horizon = Hz, out_dim = O, cell TA_CELL_GRU / _LSTM.
 * The attention has one query per decoder step: additive: q = W_s s, k_j = W_h h_j,
 *   e_j = v . tanh(q + k_j); dot: q = s, k_j = h_j; general: q = s, k_j = W h_j (so
 *   q . k_j = s' W h_j). Its per-row formulas (valid length, additive score, masked
 *   softmax and their gradients) are the attention layers' ta_attn_math.h's (one query
 *   row, keys [0, len), factor c = 1) and the cells' ta_rnn_math.h's, which the GPU path
 *   (layer_seq2seq_cuda.cu) runs too.
 * cache (BT = B*T, Kd = A additive, H otherwise, DI = O + H):
 *   eg [BT, GH] encoder gates after activation, eaux [BT, H] (GRU: h W_hn^T + b_hn;
 *   LSTM: c), E [BT, H] encoder states, K [BT, Kd] keys (not for dot),
 *   Gd [B, Hz, GH] decoder gates, Ad [B, Hz, H] (GRU's hn), S [B, Hz+1, H] decoder states
 *   s_0..s_Hz, C [B, Hz+1, H] LSTM cell states, U [B, Hz, DI] decoder inputs
 *   [y_prev, ctx], P [B, Hz, T] attention weights, Q [B, Hz, A] additive queries,
 *   hp [B, GH] (h W_hh^T + b_hh of one step), flag [1]
 *   (1: the forward used teacher forcing).
 * scratch: see s2s_scr.
 * The order of the passes' steps is written once in layer_seq2seq.h (s2s_run_forward,
 * s2s_run_backward) for this file and the GPU's; cpu_steps are the steps on the CPU. */
#include <math.h>
#include <string.h>
#include "ta_layer.h"
#include "ta_math.h"
#include "ta_gemm.h"
#include "ta_vec.h"
#include "ta_rnn_math.h"
#include "ta_attn_math.h"
#include "layer_seq2seq.h"

static int s2s_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  if (s->units < 1)
    return ta_fail(msg, TA_ERR_ARG, "seq2seq: units (hidden size) must be >= 1, not %d", s->units);
  if (s->cell != TA_CELL_GRU && s->cell != TA_CELL_LSTM)
    return ta_fail(msg, TA_ERR_ARG, "seq2seq: unknown cell code %d", s->cell);
  if (s->score != TA_SCORE_ADDITIVE && s->score != TA_SCORE_DOT && s->score != TA_SCORE_GENERAL)
    return ta_fail(msg, TA_ERR_ARG,
                   "seq2seq: attention score code %d is none of additive, dot, general", s->score);
  if (s->attn_dim < 0)
    return ta_fail(msg, TA_ERR_ARG, "seq2seq: attention width must be >= 1 (or 0 for units), not %d",
                   s->attn_dim);
  if (s->score != TA_SCORE_ADDITIVE && s->attn_dim != 0 && s->attn_dim != s->units)
    return ta_fail(msg, TA_ERR_ARG,
                   "seq2seq: an attention width (%d) applies only to the additive score; dot and "
                   "general scores compare states of width units = %d",
                   s->attn_dim, s->units);
  if (s->horizon < 1)
    return ta_fail(msg, TA_ERR_ARG, "seq2seq: horizon must be >= 1, not %d", s->horizon);
  if (s->out_dim < 1)
    return ta_fail(msg, TA_ERR_ARG, "seq2seq: output size must be >= 1, not %d", s->out_dim);
  if (s->out_dim > L->in_dim)
    return ta_fail(msg, TA_ERR_ARG,
                   "seq2seq: output size %d exceeds the %d input features (the first output "
                   "features of the input are the series being forecast)",
                   s->out_dim, L->in_dim);
  ta_seq2seq_cfg *c = &L->cfg.s2s;
  c->hidden = s->units;
  c->attn_dim = s->attn_dim > 0 ? s->attn_dim : s->units;
  c->score = s->score;
  c->horizon = s->horizon;
  c->cell = s->cell;
  L->out_dim = s->out_dim;
  L->keeps_time = 0;
  s2s_dims d = dims_of(L);
  L->n_params = offsets_of(&d).n;
  return TA_OK;
}

static size_t s2s_out_time(const ta_layer *L, size_t T) {
  return T >= 1 ? (size_t)L->cfg.s2s.horizon : 0;
}

typedef struct {
  float *eg, *eaux, *E, *K, *Gd, *Ad, *S, *C, *U, *P, *Q, *hp, *flag;
} s2s_cache;

/* Places the cache's buffers at p (when c is not NULL); returns its size in floats. */
#define PLACE(field, n)                                                                    \
  do {                                                                                     \
    if (c) c->field = p + off;                                                             \
    off += (n);                                                                            \
  } while (0)

static size_t cache_layout(const s2s_dims *d, float *p, size_t B, size_t T, s2s_cache *c) {
  size_t BT = B * T, BZ = B * d->Hz, off = 0;
  PLACE(eg, BT * d->GH);
  PLACE(eaux, BT * d->H);
  PLACE(E, BT * d->H);
  PLACE(K, d->score == TA_SCORE_DOT ? 0 : BT * d->Kd);
  PLACE(Gd, BZ * d->GH);
  PLACE(Ad, BZ * d->H);
  PLACE(S, B * (d->Hz + 1) * d->H);
  PLACE(C, B * (d->Hz + 1) * d->H);
  PLACE(U, BZ * d->DI);
  PLACE(P, BZ * T);
  PLACE(Q, d->score == TA_SCORE_ADDITIVE ? BZ * d->A : 0);
  PLACE(hp, B * d->GH);
  PLACE(flag, 1);
  return off;
}

static size_t s2s_cache_size(const ta_layer *L, size_t B, size_t T) {
  s2s_dims d = dims_of(L);
  return cache_layout(&d, NULL, B, T, NULL);
}

typedef struct {
  float *dY, *dsn, *dcn, *ds, *dctx, *dgx, *dgh, *dU, *dq, *dE, *dK, *tK, *tV, *kw, *dY0, *eG,
      *egh, *dhcur, *dhnext, *ecn;
} s2s_scr;

static size_t scratch_layout(const s2s_dims *d, float *p, size_t B, size_t T, s2s_scr *c) {
  size_t BT = B * T, H = d->H, off = 0;
  PLACE(dY, B * d->Hz * d->O); /* [B, Hz, O] output gradient plus the fed-back part */
  PLACE(dsn, B * H);           /* [B, H] d s_{t-1} being accumulated */
  PLACE(dcn, B * H);           /* [B, H] d c_{t-1} (LSTM) */
  PLACE(ds, B * H);            /* [B, H] d s_t (encoder: d h_t) */
  PLACE(dctx, B * H);          /* [B, H] */
  PLACE(dgx, B * d->GH);       /* [B, GH] */
  PLACE(dgh, B * d->GH);       /* [B, GH] */
  PLACE(dU, B * d->DI);        /* [B, DI] */
  PLACE(dq, B * d->Kd);        /* [B, Kd] */
  PLACE(dE, BT * H);           /* [BT, H] encoder states */
  PLACE(dK, BT * d->Kd);       /* [BT, Kd] keys */
  PLACE(tK, T * d->Kd);        /* [T, Kd] one block's key gradient */
  PLACE(tV, T * H);            /* [T, H] one block's value gradient */
  PLACE(kw, T);                /* [T] one row of dP */
  PLACE(dY0, B * d->O);        /* [B, O] the first decoder input */
  PLACE(eG, BT * d->GH);       /* [BT, GH] encoder gate gradients */
  PLACE(egh, B * d->GH);       /* [B, GH] GRU: of h W_hh^T + b_hh */
  PLACE(dhcur, B * H);
  PLACE(dhnext, B * H);
  PLACE(ecn, B * H);           /* LSTM encoder d c */
  return off;
}
#undef PLACE

static size_t s2s_scratch_size(const ta_layer *L, size_t B, size_t T) {
  s2s_dims d = dims_of(L);
  return scratch_layout(&d, NULL, B, T, NULL);
}

static int s2s_n_tensors(const ta_layer *L) {
  int sc = L->cfg.s2s.score;
  return 8 + (sc == TA_SCORE_ADDITIVE ? 3 : (sc == TA_SCORE_GENERAL ? 1 : 0)) + 2;
}

static void s2s_tensor(const ta_layer *L, int k, ta_tensor_info *info) {
  static const char *const rnn[4] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"};
  s2s_dims d = dims_of(L);
  int n_att = s2s_n_tensors(L) - 10;
  info->ndim = 1;
  if (k < 8) {
    strcpy(info->name, k < 4 ? "encoder." : "decoder.");
    strcat(info->name, rnn[k % 4]);
    info->dim[0] = (int)d.GH;
    if (k % 4 < 2) {
      info->ndim = 2;
      info->dim[1] = (int)(k % 4 == 1 ? d.H : (k < 4 ? d.F : d.DI));
    }
  } else if (k < 8 + n_att) {
    int a = k - 8;
    if (d.score == TA_SCORE_GENERAL) {
      strcpy(info->name, "attention.W");
      info->ndim = 2;
      info->dim[0] = info->dim[1] = (int)d.H;
    } else if (a < 2) {
      strcpy(info->name, a == 0 ? "attention.W_s" : "attention.W_h");
      info->ndim = 2;
      info->dim[0] = (int)d.A;
      info->dim[1] = (int)d.H;
    } else {
      strcpy(info->name, "attention.v");
      info->dim[0] = (int)d.A;
    }
  } else if (k == 8 + n_att) {
    strcpy(info->name, "output.weight");
    info->ndim = 2;
    info->dim[0] = (int)d.O;
    info->dim[1] = (int)(2 * d.H);
  } else {
    strcpy(info->name, "output.bias");
    info->dim[0] = (int)d.O;
  }
}

static void s2s_init(const ta_layer *L, float *params, ta_rng *rng) {
  s2s_dims d = dims_of(L);
  s2s_off o = offsets_of(&d);
  /* nn.GRU/nn.LSTM: uniform(+-1/sqrt(H)) for every cell parameter */
  float bh = 1.0f / sqrtf((float)d.H);
  ta_fill_uniform(params, o.a1, bh, rng);
  /* nn.Linear(H, A, bias = FALSE) for W_s, W_h (and nn.Linear(H, H) for general's W);
   * nn.Linear(A, 1, bias = FALSE) for v; nn.Linear(2H, O) for the output */
  if (d.score == TA_SCORE_ADDITIVE) {
    ta_fill_uniform(params + o.a1, 2 * d.A * d.H, bh, rng);
    ta_fill_uniform(params + o.a3, d.A, 1.0f / sqrtf((float)d.A), rng);
  } else if (d.score == TA_SCORE_GENERAL) {
    ta_fill_uniform(params + o.a1, d.H * d.H, bh, rng);
  }
  ta_fill_uniform(params + o.wo, d.O * 2 * d.H + d.O, 1.0f / sqrtf((float)(2 * d.H)), rng);
}

/* ---- one step of a cell for one row (PyTorch's equations, ta_rnn_math.h) ----
 * gx: x W_ih^T + b_ih, overwritten by the gates after activation; p: h W_hh^T + b_hh
 * (its bias already added, so the cell's own bias argument is -0.0f: x + -0.0f is x
 * exactly, for every x). */

/* GRU: gates r, z, n into g; hn = p_n kept for backward. hprev NULL means 0. */
static inline void gru_step(float *g, float *hn, float *h, const float *p, const float *hprev,
                            size_t H) {
  for (size_t j = 0; j < H; j++)
    h[j] = ta_gru_cell(&g[j], &g[H + j], &g[2 * H + j], &hn[j], g[j], g[H + j], g[2 * H + j],
                       p[j], p[H + j], p[2 * H + j], -0.0f, -0.0f, -0.0f,
                       hprev ? hprev[j] : 0.0f);
}

/* dgx [3H] (gradient of gx), dgh [3H] (of p), dhprev [H] = dh z (the direct path only) */
static inline void gru_step_back(float *dgx, float *dgh, float *dhprev, const float *dh,
                                 const float *g, const float *hn, const float *hprev, size_t H) {
  for (size_t j = 0; j < H; j++) {
    float dar, daz, dan, rr = g[j];
    dhprev[j] = ta_gru_cell_grad(&dar, &daz, &dan, dh[j], rr, g[H + j], g[2 * H + j], hn[j],
                                 hprev ? hprev[j] : 0.0f);
    dgx[j] = dar;
    dgx[H + j] = daz;
    dgx[2 * H + j] = dan;
    dgh[j] = dar;
    dgh[H + j] = daz;
    dgh[2 * H + j] = dan * rr;
  }
}

/* LSTM: [i, f, g, o] = [s, s, tanh, s](gx + p); c = f c_prev + i g; h = o tanh(c) */
static inline void lstm_step(float *g, float *c, float *h, const float *p, const float *cprev,
                             size_t H) {
  for (size_t j = 0; j < H; j++)
    h[j] = ta_lstm_cell(&g[j], &g[H + j], &g[2 * H + j], &g[3 * H + j], &c[j], g[j] + p[j],
                        g[H + j] + p[H + j], g[2 * H + j] + p[2 * H + j],
                        g[3 * H + j] + p[3 * H + j], cprev ? cprev[j] : 0.0f);
}

/* dg [4H] (of gx and of p alike); dc [H]: in, the gradient reaching c from later steps;
 * out, the gradient of c_prev (dc f). In place is fine. */
static inline void lstm_step_back(float *dg, float *dc, const float *dh, const float *g,
                                  const float *c, const float *cprev, size_t H) {
  for (size_t j = 0; j < H; j++)
    dc[j] = ta_lstm_cell_grad(&dg[j], &dg[H + j], &dg[2 * H + j], &dg[3 * H + j], dh[j], dc[j],
                              g[j], g[H + j], g[2 * H + j], g[3 * H + j], c[j],
                              cprev ? cprev[j] : 0.0f);
}

static inline size_t len_of(const ta_pass *ps, size_t b, size_t T) {
  return ta_attn_len(ps ? ps->valid_len : NULL, b, T);
}

/* One decoder query against sequence b's keys k [T, Kd] and values (encoder states)
 * e [T, H]: p [T] the weights (zero beyond len), ctx [H] = sum_j p_j e_j. */
static void attend(const s2s_dims *d, float *ctx, float *p, const float *q, const float *k,
                   const float *e, const float *v, size_t len, size_t T) {
  const size_t Kd = d->Kd, H = d->H;
  memset(ctx, 0, H * sizeof(float));
  for (size_t j = 0; j < len; j++)
    p[j] = d->score == TA_SCORE_ADDITIVE ? ta_attn_additive_score(q, k + j * Kd, v, Kd)
                                    : ta_dot(q, k + j * Kd, Kd);
  ta_attn_softmax_row(p, T, 0, len, 1.0f);
  for (size_t j = 0; j < len; j++)
    if (p[j] != 0.0f) ta_axpy(ctx, p[j], e + j * H, H);
}

/* its backward from dctx [H]: dq [Kd], dk [T, Kd], de [T, H] (=), dv [Kd] (+=, additive
 * only); dp [T] work */
static void attend_back(const s2s_dims *d, float *dq, float *dk, float *de, float *dv, float *dp,
                        const float *dctx, const float *q, const float *k, const float *e,
                        const float *p, const float *v, size_t len, size_t T) {
  const size_t Kd = d->Kd, H = d->H;
  memset(dq, 0, Kd * sizeof(float));
  memset(dk, 0, T * Kd * sizeof(float));
  memset(de, 0, T * H * sizeof(float));
  for (size_t j = 0; j < len; j++) {
    dp[j] = ta_dot(dctx, e + j * H, H);
    if (p[j] != 0.0f) ta_axpy(de + j * H, p[j], dctx, H);
  }
  ta_attn_softmax_row_grad(dp, p, NULL, T, 0, len, 1.0f); /* dp becomes dS */
  for (size_t j = 0; j < len; j++) {
    float ds = dp[j];
    if (ds == 0.0f) continue;
    const float *kj = k + j * Kd;
    float *dkj = dk + j * Kd;
    if (d->score == TA_SCORE_ADDITIVE) {
      for (size_t c = 0; c < Kd; c++) {
        float t = ta_tanhf(q[c] + kj[c]), u = ta_attn_additive_grad(ds, v[c], t);
        dv[c] += ds * t;
        dq[c] += u;
        dkj[c] += u;
      }
    } else {
      ta_axpy(dq, ds, kj, Kd);
      ta_axpy(dkj, ds, q, Kd);
    }
  }
}


/* ---- the steps of the passes (their order: s2s_run_forward, s2s_run_backward) ---- */

/* what the steps of one pass read and write */
typedef struct {
  s2s_base b;
  s2s_cache c;
  s2s_scr s;
  const ta_pass *ps;
  size_t ldS; /* S's and C's stride between sequences */
  int tf;     /* teacher forcing */
  const float *keys, *dout;
  float *out, *din;
} s2s_cpu;

static s2s_cpu cpu_pass(const ta_layer *L, float *cache, float *scratch, const float *in,
                        const float *params, float *dparams, const ta_pass *ps, size_t B,
                        size_t T) {
  s2s_cpu x;
  memset(&x, 0, sizeof x);
  x.b = s2s_base_of(L, in, params, dparams, B, T);
  cache_layout(&x.b.d, cache, B, T, &x.c);
  if (scratch) scratch_layout(&x.b.d, scratch, B, T, &x.s);
  x.ps = ps;
  x.ldS = (x.b.d.Hz + 1) * x.b.d.H;
  x.keys = x.b.d.score == TA_SCORE_DOT ? x.c.E : x.c.K;
  return x;
}

static int cpu_stopped(void *vx) { return ta_pass_stopped(((s2s_cpu *)vx)->ps); }

/* encoder: input projections of all steps at once, then the recurrence */
static int cpu_encode(void *vx) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const s2s_cache *c = &x->c;
  const size_t H = x->b.d.H, GH = x->b.d.GH, B = x->b.B, T = x->b.T;
  const float *eWhh = x->b.params + x->b.o.e_whh, *ebhh = x->b.params + x->b.o.e_bhh;
  ta_gemm_nt(c->eg, GH, x->b.in, x->b.d.F, x->b.params + x->b.o.e_wih, x->b.d.F, B * T, GH, x->b.d.F, 0);
  ta_add_rows(c->eg, GH, x->b.params + x->b.o.e_bih, B * T, GH);
  for (size_t t = 0; t < T; t++) {
    if (ta_pass_stopped(x->ps)) break; /* an interrupt: this pass is discarded */
    if (t > 0) ta_gemm_nt(c->hp, GH, c->E + (t - 1) * H, T * H, eWhh, H, B, GH, H, 0);
    else memset(c->hp, 0, B * GH * sizeof(float));
    ta_add_rows(c->hp, GH, ebhh, B, GH);
    for (size_t b = 0; b < B; b++) {
      size_t row = b * T + t;
      const float *hprev = t > 0 ? c->E + (row - 1) * H : NULL;
      const float *cprev = t > 0 ? c->eaux + (row - 1) * H : NULL;
      if (x->b.d.lstm)
        lstm_step(c->eg + row * GH, c->eaux + row * H, c->E + row * H, c->hp + b * GH, cprev, H);
      else
        gru_step(c->eg + row * GH, c->eaux + row * H, c->E + row * H, c->hp + b * GH, hprev, H);
    }
  }
  return TA_OK;
}

static int cpu_keys(void *vx) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const size_t H = x->b.d.H, Kd = x->b.d.Kd, BT = x->b.B * x->b.T;
  if (x->b.d.score == TA_SCORE_ADDITIVE)
    ta_gemm_nt(x->c.K, Kd, x->c.E, H, x->b.params + x->b.o.a2, H, BT, Kd, H, 0); /* W_h h_j */
  else if (x->b.d.score == TA_SCORE_GENERAL)
    ta_gemm_nt(x->c.K, Kd, x->c.E, H, x->b.params + x->b.o.a1, H, BT, Kd, H, 0); /* W h_j */
  return TA_OK;
}

/* the decoder's initial state and first input */
static int cpu_start(void *vx) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const s2s_cache *c = &x->c;
  const size_t H = x->b.d.H, O = x->b.d.O, T = x->b.T;
  c->flag[0] = x->tf ? 1.0f : 0.0f;
  for (size_t b = 0; b < x->b.B; b++) {
    size_t len = len_of(x->ps, b, T);
    float *s0 = c->S + b * x->ldS, *c0 = c->C + b * x->ldS, *u0 = c->U + b * x->b.d.Hz * x->b.d.DI;
    if (len > 0) {
      size_t row = b * T + len - 1;
      memcpy(s0, c->E + row * H, H * sizeof(float));
      if (x->b.d.lstm) memcpy(c0, c->eaux + row * H, H * sizeof(float));
      else memset(c0, 0, H * sizeof(float));
      memcpy(u0, x->b.in + row * x->b.d.F, O * sizeof(float));
    } else {
      memset(s0, 0, H * sizeof(float));
      memset(c0, 0, H * sizeof(float));
      memset(u0, 0, O * sizeof(float));
    }
  }
  return TA_OK;
}

/* the query of each sequence: Q row (additive) or s_t */
static const float *cpu_query(const s2s_cpu *x, size_t b, size_t t) {
  return x->b.d.score == TA_SCORE_ADDITIVE ? x->c.Q + (b * x->b.d.Hz + t) * x->b.d.Kd
                                         : x->c.S + b * x->ldS + t * x->b.d.H;
}

static int cpu_attend(void *vx, size_t t) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const s2s_cache *c = &x->c;
  const size_t H = x->b.d.H, Kd = x->b.d.Kd, Hz = x->b.d.Hz, T = x->b.T;
  if (x->b.d.score == TA_SCORE_ADDITIVE)
    ta_gemm_nt(c->Q + t * Kd, Hz * Kd, c->S + t * H, x->ldS, x->b.params + x->b.o.a1, H, x->b.B, Kd, H,
               0);
  for (size_t b = 0; b < x->b.B; b++) {
    size_t row = b * Hz + t;
    attend(&x->b.d, c->U + row * x->b.d.DI + x->b.d.O, c->P + row * T, cpu_query(x, b, t),
           x->keys + b * T * Kd, c->E + b * T * H, x->b.v, len_of(x->ps, b, T), T);
  }
  return TA_OK;
}

/* the cell on [y_prev, ctx] */
static int cpu_cell(void *vx, size_t t) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const s2s_cache *c = &x->c;
  const size_t H = x->b.d.H, GH = x->b.d.GH, Hz = x->b.d.Hz, DI = x->b.d.DI, B = x->b.B, ldS = x->ldS;
  const float *sprev = c->S + t * H; /* rows b: stride ldS */
  ta_gemm_nt(c->Gd + t * GH, Hz * GH, c->U + t * DI, Hz * DI, x->b.params + x->b.o.d_wih, DI, B, GH,
             DI, 0);
  ta_add_rows(c->Gd + t * GH, Hz * GH, x->b.params + x->b.o.d_bih, B, GH);
  ta_gemm_nt(c->hp, GH, sprev, ldS, x->b.params + x->b.o.d_whh, H, B, GH, H, 0);
  ta_add_rows(c->hp, GH, x->b.params + x->b.o.d_bhh, B, GH);
  for (size_t b = 0; b < B; b++) {
    size_t row = b * Hz + t;
    float *snew = c->S + b * ldS + (t + 1) * H;
    if (x->b.d.lstm)
      lstm_step(c->Gd + row * GH, c->C + b * ldS + (t + 1) * H, snew, c->hp + b * GH,
                c->C + b * ldS + t * H, H);
    else
      gru_step(c->Gd + row * GH, c->Ad + row * H, snew, c->hp + b * GH, c->S + b * ldS + t * H, H);
  }
  return TA_OK;
}

/* y_t = W_o [s_t; ctx_t] + b_o */
static int cpu_output(void *vx, size_t t) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const size_t H = x->b.d.H, O = x->b.d.O, Hz = x->b.d.Hz, DI = x->b.d.DI;
  const float *Wo = x->b.params + x->b.o.wo;
  float *yt = x->out + t * O;
  ta_gemm_nt(yt, Hz * O, x->c.S + (t + 1) * H, x->ldS, Wo, 2 * H, x->b.B, O, H, 0);
  ta_gemm_nt(yt, Hz * O, x->c.U + t * DI + O, Hz * DI, Wo + H, 2 * H, x->b.B, O, H, 1);
  ta_add_rows(yt, Hz * O, x->b.params + x->b.o.bo, x->b.B, O);
  return TA_OK;
}

static int cpu_feed(void *vx, size_t t) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const size_t O = x->b.d.O, Hz = x->b.d.Hz, DI = x->b.d.DI;
  const float *src = x->tf ? x->ps->target : x->out;
  for (size_t b = 0; b < x->b.B; b++)
    memcpy(x->c.U + (b * Hz + t + 1) * DI, src + (b * Hz + t) * O, O * sizeof(float));
  return TA_OK;
}

static int cpu_begin_back(void *vx) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const size_t BH = x->b.B * x->b.d.H, BT = x->b.B * x->b.T;
  memcpy(x->s.dY, x->dout, x->b.B * x->b.d.Hz * x->b.d.O * sizeof(float));
  memset(x->s.dsn, 0, BH * sizeof(float));
  memset(x->s.dcn, 0, BH * sizeof(float));
  memset(x->s.dE, 0, BT * x->b.d.H * sizeof(float));
  if (x->b.d.score != TA_SCORE_DOT) memset(x->s.dK, 0, BT * x->b.d.Kd * sizeof(float));
  return TA_OK;
}

/* output layer: dW_o += dy^T [s_t; ctx], ds_t = dsn + dy W_o[:, :H], dctx = dy W_o[:, H:] */
static int cpu_output_back(void *vx, size_t t) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const s2s_scr *s = &x->s;
  const size_t H = x->b.d.H, O = x->b.d.O, Hz = x->b.d.Hz, DI = x->b.d.DI, B = x->b.B;
  const float *dyt = s->dY + t * O; /* rows b: stride Hz*O */
  const float *snew = x->c.S + (t + 1) * H, *ctx = x->c.U + t * DI + O;
  const float *Wo = x->b.params + x->b.o.wo;
  float *dWo = x->b.dparams + x->b.o.wo;
  ta_gemm_tn(dWo, 2 * H, dyt, Hz * O, snew, x->ldS, O, H, B, 1);
  ta_gemm_tn(dWo + H, 2 * H, dyt, Hz * O, ctx, Hz * DI, O, H, B, 1);
  ta_colsum(x->b.dparams + x->b.o.bo, dyt, Hz * O, B, O, 1);
  memcpy(s->ds, s->dsn, B * H * sizeof(float));
  ta_gemm_nn(s->ds, H, dyt, Hz * O, Wo, 2 * H, B, H, O, 1);
  ta_gemm_nn(s->dctx, H, dyt, Hz * O, Wo + H, 2 * H, B, H, O, 0);
  return TA_OK;
}

static int cpu_cell_back(void *vx, size_t t) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const s2s_cache *c = &x->c;
  const s2s_scr *s = &x->s;
  const size_t H = x->b.d.H, GH = x->b.d.GH, Hz = x->b.d.Hz, DI = x->b.d.DI, B = x->b.B, ldS = x->ldS;
  const int lstm = x->b.d.lstm;
  for (size_t b = 0; b < B; b++) {
    size_t row = b * Hz + t;
    const float *g = c->Gd + row * GH;
    if (lstm)
      lstm_step_back(s->dgx + b * GH, s->dcn + b * H, s->ds + b * H, g, c->C + b * ldS + (t + 1) * H,
                     c->C + b * ldS + t * H, H);
    else
      gru_step_back(s->dgx + b * GH, s->dgh + b * GH, s->dsn + b * H, s->ds + b * H, g,
                    c->Ad + row * H, c->S + b * ldS + t * H, H);
  }
  const float *dgh = lstm ? s->dgx : s->dgh;
  float *dp = x->b.dparams;
  ta_gemm_tn(dp + x->b.o.d_wih, DI, s->dgx, GH, c->U + t * DI, Hz * DI, GH, DI, B, 1);
  ta_colsum(dp + x->b.o.d_bih, s->dgx, GH, B, GH, 1);
  ta_colsum(dp + x->b.o.d_bhh, dgh, GH, B, GH, 1);
  ta_gemm_tn(dp + x->b.o.d_whh, H, dgh, GH, c->S + t * H, ldS, GH, H, B, 1);
  /* d s_{t-1}: GRU's direct path (already in dsn) plus dgh W_hh */
  ta_gemm_nn(s->dsn, H, dgh, GH, x->b.params + x->b.o.d_whh, H, B, H, GH, lstm ? 0 : 1);
  ta_gemm_nn(s->dU, DI, s->dgx, GH, x->b.params + x->b.o.d_wih, DI, B, DI, GH, 0);
  return TA_OK;
}

/* y_prev: the previous output (greedy), a constant target (teacher forcing), or the last
 * observed values (t = 0) */
static int cpu_input_back(void *vx, size_t t) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const s2s_scr *s = &x->s;
  const size_t H = x->b.d.H, O = x->b.d.O, Hz = x->b.d.Hz, DI = x->b.d.DI;
  for (size_t b = 0; b < x->b.B; b++) {
    const float *du = s->dU + b * DI;
    if (t == 0) memcpy(s->dY0 + b * O, du, O * sizeof(float));
    else if (!x->tf)
      for (size_t k = 0; k < O; k++) s->dY[(b * Hz + t - 1) * O + k] += du[k];
    for (size_t j = 0; j < H; j++) s->dctx[b * H + j] += du[O + j];
  }
  return TA_OK;
}

static int cpu_attend_back(void *vx, size_t t) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const s2s_scr *s = &x->s;
  const size_t H = x->b.d.H, Kd = x->b.d.Kd, T = x->b.T;
  for (size_t b = 0; b < x->b.B; b++) {
    size_t row = b * x->b.d.Hz + t;
    attend_back(&x->b.d, s->dq + b * Kd, s->tK, s->tV, x->b.dv, s->kw, s->dctx + b * H,
                cpu_query(x, b, t), x->keys + b * T * Kd, x->c.E + b * T * H, x->c.P + row * T,
                x->b.v, len_of(x->ps, b, T), T);
    float *dkb = (x->b.d.score == TA_SCORE_DOT ? s->dE : s->dK) + b * T * Kd, *deb = s->dE + b * T * H;
    for (size_t i = 0; i < T * Kd; i++) dkb[i] += s->tK[i];
    for (size_t i = 0; i < T * H; i++) deb[i] += s->tV[i];
  }
  return TA_OK;
}

static int cpu_query_back(void *vx, size_t t) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const s2s_scr *s = &x->s;
  const size_t H = x->b.d.H, Kd = x->b.d.Kd, B = x->b.B;
  if (x->b.d.score == TA_SCORE_ADDITIVE) {
    /* q = W_s s_{t-1} */
    ta_gemm_tn(x->b.dparams + x->b.o.a1, H, s->dq, Kd, x->c.S + t * H, x->ldS, Kd, H, B, 1);
    ta_gemm_nn(s->dsn, H, s->dq, Kd, x->b.params + x->b.o.a1, H, B, H, Kd, 1);
  } else {
    for (size_t i = 0; i < B * H; i++) s->dsn[i] += s->dq[i];
  }
  return TA_OK;
}

/* keys back to the encoder states */
static int cpu_keys_back(void *vx) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const size_t H = x->b.d.H, Kd = x->b.d.Kd, BT = x->b.B * x->b.T;
  size_t W = x->b.d.score == TA_SCORE_ADDITIVE ? x->b.o.a2 : x->b.o.a1; /* W_h or W */
  if (x->b.d.score == TA_SCORE_DOT) return TA_OK;
  ta_gemm_tn(x->b.dparams + W, H, x->s.dK, Kd, x->c.E, H, Kd, H, BT, 1);
  ta_gemm_nn(x->s.dE, H, x->s.dK, Kd, x->b.params + W, H, BT, H, Kd, 1);
  return TA_OK;
}

/* s_0 = h_len (and c_0 = c_len) */
static int cpu_start_back(void *vx) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const size_t H = x->b.d.H, T = x->b.T;
  for (size_t b = 0; b < x->b.B; b++) {
    size_t len = len_of(x->ps, b, T);
    if (len > 0)
      for (size_t j = 0; j < H; j++) x->s.dE[(b * T + len - 1) * H + j] += x->s.dsn[b * H + j];
  }
  return TA_OK;
}

/* encoder, backward in time */
static int cpu_encode_back(void *vx) {
  s2s_cpu *x = (s2s_cpu *)vx;
  const s2s_cache *c = &x->c;
  const s2s_scr *s = &x->s;
  const size_t H = x->b.d.H, GH = x->b.d.GH, F = x->b.d.F, O = x->b.d.O, B = x->b.B, T = x->b.T;
  const int lstm = x->b.d.lstm;
  const float *eWhh = x->b.params + x->b.o.e_whh;
  float *dp = x->b.dparams;
  memset(s->dhnext, 0, B * H * sizeof(float));
  memset(s->ecn, 0, B * H * sizeof(float));
  for (size_t t = T; t-- > 0;) {
    if (ta_pass_stopped(x->ps)) break; /* an interrupt: this pass is discarded */
    for (size_t b = 0; b < B; b++) {
      size_t row = b * T + t;
      float *dh = s->ds + b * H;
      for (size_t j = 0; j < H; j++) dh[j] = s->dE[row * H + j] + s->dhnext[b * H + j];
      if (lstm) {
        if (t + 1 == len_of(x->ps, b, T))
          for (size_t j = 0; j < H; j++) s->ecn[b * H + j] += s->dcn[b * H + j];
        lstm_step_back(s->eG + row * GH, s->ecn + b * H, dh, c->eg + row * GH, c->eaux + row * H,
                       t > 0 ? c->eaux + (row - 1) * H : NULL, H);
      } else {
        gru_step_back(s->eG + row * GH, s->egh + b * GH, s->dhcur + b * H, dh, c->eg + row * GH,
                      c->eaux + row * H, t > 0 ? c->E + (row - 1) * H : NULL, H);
      }
    }
    const float *dgh = lstm ? s->eG + t * GH : s->egh;
    size_t ldg = lstm ? T * GH : GH;
    ta_colsum(dp + x->b.o.e_bhh, dgh, ldg, B, GH, 1);
    if (t > 0) {
      ta_gemm_tn(dp + x->b.o.e_whh, H, dgh, ldg, c->E + (t - 1) * H, T * H, GH, H, B, 1);
      if (lstm) {
        ta_gemm_nn(s->dhnext, H, dgh, ldg, eWhh, H, B, H, GH, 0);
      } else {
        ta_gemm_nn(s->dhcur, H, dgh, ldg, eWhh, H, B, H, GH, 1);
        memcpy(s->dhnext, s->dhcur, B * H * sizeof(float));
      }
    }
  }
  ta_gemm_tn(dp + x->b.o.e_wih, F, s->eG, GH, x->b.in, F, GH, F, B * T, 1);
  ta_colsum(dp + x->b.o.e_bih, s->eG, GH, B * T, GH, 1);
  if (x->din) {
    ta_gemm_nn(x->din, F, s->eG, GH, x->b.params + x->b.o.e_wih, F, B * T, F, GH, 0);
    for (size_t b = 0; b < B; b++) {
      size_t len = len_of(x->ps, b, T);
      if (len > 0)
        for (size_t k = 0; k < O; k++) x->din[(b * T + len - 1) * F + k] += s->dY0[b * O + k];
    }
  }
  return TA_OK;
}

static const s2s_steps cpu_steps = {
    .stopped = cpu_stopped,
    .encode = cpu_encode,
    .keys = cpu_keys,
    .start = cpu_start,
    .attend = cpu_attend,
    .cell = cpu_cell,
    .output = cpu_output,
    .feed = cpu_feed,
    .begin_back = cpu_begin_back,
    .output_back = cpu_output_back,
    .cell_back = cpu_cell_back,
    .input_back = cpu_input_back,
    .attend_back = cpu_attend_back,
    .query_back = cpu_query_back,
    .decoder_back = NULL, /* the decoder's weight gradients are summed step by step */
    .keys_back = cpu_keys_back,
    .start_back = cpu_start_back,
    .encode_back = cpu_encode_back};

static void s2s_forward(const ta_layer *L, float *out, float *cache, const float *in,
                        const float *params, const ta_pass *ps, size_t B, size_t T) {
  s2s_cpu x = cpu_pass(L, cache, NULL, in, params, NULL, ps, B, T);
  x.out = out;
  x.tf = ps && ps->training && ps->target != NULL;
  s2s_run_forward(&cpu_steps, &x, x.b.d.Hz);
}

static void s2s_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                         const float *dout, const float *in, const float *out,
                         const float *cache, const float *params, const ta_pass *ps, size_t B,
                         size_t T) {
  (void)out;
  s2s_cpu x = cpu_pass(L, (float *)cache, scratch, in, params, dparams, ps, B, T);
  x.din = din;
  x.dout = dout;
  x.tf = x.c.flag[0] != 0.0f; /* what the forward did */
  s2s_run_backward(&cpu_steps, &x, x.b.d.Hz);
}

static int s2s_attn_heads(const ta_layer *L) {
  (void)L;
  return 1;
}

/* out [B, 1, Hz, T]: query = decoder step, key = encoder step */
static void s2s_attn_weights(const ta_layer *L, float *out, const float *cache, size_t B,
                             size_t T) {
  s2s_dims d = dims_of(L);
  s2s_cache c;
  cache_layout(&d, (float *)cache, B, T, &c);
  memcpy(out, c.P, B * d.Hz * T * sizeof(float));
}

const ta_layer_ops ta_seq2seq_ops = {
    .kind = "seq2seq",
    .setup = s2s_setup,
    .out_time = s2s_out_time,
    .cache_size = s2s_cache_size,
    .scratch_size = s2s_scratch_size,
    .n_tensors = s2s_n_tensors,
    .tensor = s2s_tensor,
    .init = s2s_init,
    .forward = s2s_forward,
    .backward = s2s_backward,
    .attn_heads = s2s_attn_heads,
    .attn_weights = s2s_attn_weights};
