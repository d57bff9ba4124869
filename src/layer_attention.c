/* Single-head self-attention (R's layer_attention()): query, key and value projections with a
 * choice of scores, local windows, causal masking and padding:
 *   Q = x Wq^T (+ bq) [B,T,dk], K = x Wk^T (+ bk) [B,T,dk], V = x Wv^T (+ bv) [B,T,U]
 *   out[b] = softmax(score(Q[b], K[b]) masked) V[b]   [B,T,U]
 * Parameters, in order: query.weight [dk, I], query.bias [dk], key.weight [dk, I],
 *   key.bias [dk], value.weight [U, I], value.bias [U] (biases only with bias), then
 *   score.weight [1, dk] (additive) or log_scale [1] (cosine).
 * cache: Q [B,T,dk], K [B,T,dk], V [B,T,U], P [B,T,T], kernel work [B,T].
 * scratch: dQ [B,T,dk], dK [B,T,dk], dV [B,T,U], kernel work [B, ta_attn_bwd_work],
 *   per-sequence gradients of the score parameters [B,dk]. */
#include "ta_threads.h"
#include <math.h>
#include <string.h>
#include "ta_layer.h"
#include "ta_attn.h"
#include "ta_gemm.h"
#include "ta_vec.h"
#include "ta_attn_math.h"


static int attention_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  if (s->units < 0)
    return ta_fail(msg, TA_ERR_ARG, "attention: units must be >= 1 (or 0 for the input width), not %d",
                   s->units);
  if (s->key_dim < 0)
    return ta_fail(msg, TA_ERR_ARG, "attention: key_dim must be >= 1 (or 0 for units), not %d",
                   s->key_dim);
  if (s->window < -1)
    return ta_fail(msg, TA_ERR_ARG, "attention: window must be >= 0 (or -1 for all keys), not %d",
                   s->window);
  if (s->score != TA_SCORE_DOT && s->score != TA_SCORE_SCALED_DOT &&
      s->score != TA_SCORE_ADDITIVE && s->score != TA_SCORE_COSINE)
    return ta_fail(msg, TA_ERR_ARG,
                   "attention: score code %d is none of dot, scaled_dot, additive, cosine", s->score);
  ta_attn_cfg *c = &L->cfg.attn;
  c->units = s->units > 0 ? s->units : L->in_dim;
  c->key_dim = s->key_dim > 0 ? s->key_dim : c->units;
  c->heads = 1;
  c->score = s->score;
  c->window = s->window;
  c->causal = s->causal ? 1 : 0;
  c->bias = s->bias ? 1 : 0;
  c->rate = 0.0f;
  L->out_dim = c->units;
  L->keeps_time = 1;
  size_t I = (size_t)L->in_dim, D = (size_t)c->key_dim, U = (size_t)c->units;
  L->n_params = (2 * D + U) * I + (c->bias ? 2 * D + U : 0) +
                (c->score == TA_SCORE_ADDITIVE ? D : 0) + (c->score == TA_SCORE_COSINE ? 1 : 0);
  return TA_OK;
}

static ta_attn_offsets offsets_of(const ta_layer *L) { return ta_attn_offsets_of(L); }

static size_t attention_cache(const ta_layer *L, size_t B, size_t T) {
  const ta_attn_cfg *c = &L->cfg.attn;
  return B * T * (2 * (size_t)c->key_dim + (size_t)c->units) + B * T * T + B * T;
}

static ta_attn_block block_of(const ta_layer *L, size_t T);

static size_t attention_scratch(const ta_layer *L, size_t B, size_t T) {
  const ta_attn_cfg *c = &L->cfg.attn;
  ta_attn_block a = block_of(L, T);
  return B * T * (2 * (size_t)c->key_dim + (size_t)c->units) + B * ta_attn_bwd_work(&a) +
         B * (size_t)c->key_dim;
}

static int attention_n_tensors(const ta_layer *L) {
  const ta_attn_cfg *c = &L->cfg.attn;
  return (c->bias ? 6 : 3) + (c->score == TA_SCORE_ADDITIVE || c->score == TA_SCORE_COSINE);
}

static void attention_tensor(const ta_layer *L, int k, ta_tensor_info *info) {
  const ta_attn_cfg *c = &L->cfg.attn;
  static const char *const names[] = {"query", "key", "value"};
  int per = c->bias ? 2 : 1;
  if (k < 3 * per) {
    int which = k / per, is_bias = k % per;
    int rows = which == 2 ? c->units : c->key_dim;
    strcpy(info->name, names[which]);
    strcat(info->name, is_bias ? ".bias" : ".weight");
    info->ndim = is_bias ? 1 : 2;
    info->dim[0] = rows;
    info->dim[1] = L->in_dim;
  } else if (c->score == TA_SCORE_ADDITIVE) {
    strcpy(info->name, "score.weight");
    info->ndim = 2;
    info->dim[0] = 1;
    info->dim[1] = c->key_dim;
  } else {
    strcpy(info->name, "log_scale");
    info->ndim = 1;
    info->dim[0] = 1;
  }
}

static void attention_init(const ta_layer *L, float *params, ta_rng *rng) {
  const ta_attn_cfg *c = &L->cfg.attn;
  ta_attn_offsets o = offsets_of(L);
  /* nn.Linear's default for the projections: uniform(+-1/sqrt(in)), weights and biases */
  ta_fill_uniform(params, o.sw, 1.0f / sqrtf((float)L->in_dim), rng);
  if (c->score == TA_SCORE_ADDITIVE) /* as nn.Linear(key_dim, 1, bias = FALSE) */
    ta_fill_uniform(params + o.sw, (size_t)c->key_dim, 1.0f / sqrtf((float)c->key_dim), rng);
  else if (c->score == TA_SCORE_COSINE)
    params[o.sw] = logf(10.0f); /* scale 10: a softmax of cosines in [-1, 1] is not stuck near uniform */
}

static ta_attn_block block_of(const ta_layer *L, size_t T) {
  const ta_attn_cfg *c = &L->cfg.attn;
  ta_attn_block a;
  a.score = c->score;
  a.causal = c->causal;
  a.window = c->window;
  a.Tq = a.Tk = T;
  a.q0 = 0;
  a.dk = (size_t)c->key_dim;
  a.dv = (size_t)c->units;
  a.ldq = a.ldk = a.dk;
  a.ldv = a.ldo = a.dv;
  return a;
}

static inline size_t len_of(const ta_pass *ps, size_t b, size_t T) {
  return ta_attn_len(ps ? ps->valid_len : NULL, b, T);
}

/* y [R, N] (row stride ldy) = x [R, I] (row stride ldx) W[N, I]^T (+ bias) */
static void project_rows(float *y, size_t ldy, const float *x, size_t ldx, const float *W,
                         const float *bias, size_t R, size_t N, size_t I) {
  ta_gemm_nt(y, ldy, x, ldx, W, I, R, N, I, 0);
  if (bias) ta_add_rows(y, ldy, bias, R, N);
}

/* y [R, N] = x [R, I] W[N, I]^T (+ bias), contiguous rows */
static void project(float *y, const float *x, const float *W, const float *bias, size_t R,
                    size_t N, size_t I) {
  project_rows(y, N, x, I, W, bias, R, N, I);
}

static void attention_forward(const ta_layer *L, float *out, float *cache, const float *in,
                              const float *params, const ta_pass *ps, size_t B, size_t T) {
  const ta_attn_cfg *c = &L->cfg.attn;
  size_t I = (size_t)L->in_dim, D = (size_t)c->key_dim, U = (size_t)c->units, R = B * T;
  ta_attn_offsets o = offsets_of(L);
  float *Q = cache, *K = Q + R * D, *V = K + R * D, *P = V + R * U, *work = P + B * T * T;
  /* inference of the last step only: the query of row T-1 alone (rows T apart) */
  int last = ps && ps->last_only && !ps->training;
  size_t q0 = last ? T - 1 : 0, nq = last ? 1 : T;
  if (last) {
    project_rows(Q + q0 * D, T * D, in + q0 * I, T * I, params + o.wq,
                 c->bias ? params + o.bq : NULL, B, D, I);
  } else {
    project(Q, in, params + o.wq, c->bias ? params + o.bq : NULL, R, D, I);
  }
  project(K, in, params + o.wk, c->bias ? params + o.bk : NULL, R, D, I);
  project(V, in, params + o.wv, c->bias ? params + o.bv : NULL, R, U, I);
  ta_attn_block a = block_of(L, T);
  a.Tq = nq;
  a.q0 = q0;
  const float *sw = params + o.sw;
  double flops = (double)B * (double)nq * (double)T * (double)(D + U);
  ptrdiff_t Bi = (ptrdiff_t)B;
  (void)flops;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (flops > TA_PAR_MIN_FLOPS) num_threads(ta_threads())
#endif
  for (ptrdiff_t bi = 0; bi < Bi; bi++) {
    if (ta_pass_stopped(ps)) continue; /* an interrupt: this pass is discarded */
    size_t b = (size_t)bi;
    ta_attn_block_forward(&a, out + (b * T + q0) * U, P + (b * T + q0) * T, work + b * T,
                          Q + (b * T + q0) * D, K + b * T * D, V + b * T * U, NULL, sw,
                          len_of(ps, b, T));
  }
}

static void attention_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                               const float *dout, const float *in, const float *out,
                               const float *cache, const float *params, const ta_pass *ps,
                               size_t B, size_t T) {
  (void)out;
  const ta_attn_cfg *c = &L->cfg.attn;
  size_t I = (size_t)L->in_dim, D = (size_t)c->key_dim, U = (size_t)c->units, R = B * T;
  ta_attn_offsets o = offsets_of(L);
  const float *Q = cache, *K = Q + R * D, *V = K + R * D, *P = V + R * U;
  float *dQ = scratch, *dK = dQ + R * D, *dV = dK + R * D, *work = dV + R * U;
  ta_attn_block a = block_of(L, T);
  size_t wb = ta_attn_bwd_work(&a); /* kernel work per sequence */
  float *dsw_part = work + B * wb; /* [B, D] */
  int has_sw = c->score == TA_SCORE_ADDITIVE || c->score == TA_SCORE_COSINE;
  size_t n_sw = c->score == TA_SCORE_ADDITIVE ? D : (c->score == TA_SCORE_COSINE ? 1 : 0);
  if (has_sw) memset(dsw_part, 0, B * D * sizeof(float));
  const float *sw = params + o.sw;
  double flops = (double)B * (double)T * (double)T * (double)(D + U);
  ptrdiff_t Bi = (ptrdiff_t)B;
  (void)flops;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (flops > TA_PAR_MIN_FLOPS) num_threads(ta_threads())
#endif
  for (ptrdiff_t bi = 0; bi < Bi; bi++) {
    if (ta_pass_stopped(ps)) continue; /* an interrupt: this pass is discarded */
    size_t b = (size_t)bi;
    ta_attn_block_backward(&a, dQ + b * T * D, dK + b * T * D, dV + b * T * U,
                           has_sw ? dsw_part + b * D : NULL, work + b * wb, dout + b * T * U,
                           Q + b * T * D, K + b * T * D, V + b * T * U, P + b * T * T, NULL, sw,
                           len_of(ps, b, T));
  }
  /* the score parameters' gradient: per-sequence parts summed in order (deterministic) */
  for (size_t b = 0; b < B; b++)
    for (size_t d = 0; d < n_sw; d++) dparams[o.sw + d] += dsw_part[b * D + d];
  /* projections: dW += dY^T x, db += colsum dY, dx = sum dY W */
  ta_gemm_tn(dparams + o.wq, I, dQ, D, in, I, D, I, R, 1);
  ta_gemm_tn(dparams + o.wk, I, dK, D, in, I, D, I, R, 1);
  ta_gemm_tn(dparams + o.wv, I, dV, U, in, I, U, I, R, 1);
  if (c->bias) {
    ta_colsum(dparams + o.bq, dQ, D, R, D, 1);
    ta_colsum(dparams + o.bk, dK, D, R, D, 1);
    ta_colsum(dparams + o.bv, dV, U, R, U, 1);
  }
  if (din) {
    ta_gemm_nn(din, I, dQ, D, params + o.wq, I, R, I, D, 0);
    ta_gemm_nn(din, I, dK, D, params + o.wk, I, R, I, D, 1);
    ta_gemm_nn(din, I, dV, U, params + o.wv, I, R, I, U, 1);
  }
}

static int attention_heads(const ta_layer *L) {
  (void)L;
  return 1;
}

/* out [B, 1, T, T]: the weights P of the last forward */
static void attention_weights(const ta_layer *L, float *out, const float *cache, size_t B,
                              size_t T) {
  const ta_attn_cfg *c = &L->cfg.attn;
  size_t R = B * T;
  const float *P = cache + R * (2 * (size_t)c->key_dim + (size_t)c->units);
  memcpy(out, P, B * T * T * sizeof(float));
}

const ta_layer_ops ta_attention_ops = {
    .kind = "attention",
    .setup = attention_setup,
    .cache_size = attention_cache,
    .scratch_size = attention_scratch,
    .n_tensors = attention_n_tensors,
    .tensor = attention_tensor,
    .init = attention_init,
    .forward = attention_forward,
    .backward = attention_backward,
    .attn_heads = attention_heads,
    .attn_weights = attention_weights};
