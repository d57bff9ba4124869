/* Multi-head self-attention with PyTorch's nn.MultiheadAttention layout (src/ta_mha.h).
 * With C = 2*H*dk + H*dv projection columns (q | k | v, head h at columns h*dk.. of
 * its part) the parameter block is
 *   W_in [C, E]  (in_proj_weight, or q/k/v_proj_weight one after the other: the same
 *                 rows in the same order), b_in [C], W_out [E, H*dv], b_out [E].
 * Forward: qkv = x W_in^T + b_in (one GEMM over all B*T rows), the fused kernel per
 * (sequence, head) writing ctx [B, T, H*dv], then out = ctx W_out^T + b_out.
 * cache: qkv [B,T,C], ctx [B,T,H*dv], P [B,H,T,T], kernel work [B*H, T],
 *   dropout multipliers [B,H,T,T] (only when dropout > 0), then one flag (1: the last
 *   forward applied dropout).
 * scratch: dqkv [B,T,C], dctx [B,T,H*dv], kernel work [B*H, ta_attn_bwd_work]. */
#include "ta_threads.h"
#include <limits.h>
#include <math.h>
#include <string.h>
#include "ta_mha.h"
#include "ta_gemm.h"
#include "ta_vec.h"
#include "ta_attn.h"
#include "ta_attn_math.h"


int ta_mha_shape_of(ta_mha_shape *s, int E, int heads, int key_dim, int causal, int window,
                    float dropout, ta_msg *msg) {
  if (heads < 1)
    return ta_fail(msg, TA_ERR_ARG, "multihead_attention: heads must be >= 1, not %d", heads);
  if (E < 1)
    return ta_fail(msg, TA_ERR_ARG, "multihead_attention: the input width must be >= 1, not %d", E);
  if (E % heads != 0) {
    /* suggest a width with at least 4 columns per head, when that width is an int
     * (heads = 1e9 would make it overflow and advise a negative width) */
    long long per = ((long long)E + heads - 1) / heads;
    if (per < 4) per = 4;
    if ((long long)heads * per > INT_MAX)
      return ta_fail(msg, TA_ERR_ARG,
                     "multihead_attention: the input width %d is not divisible by heads = %d; "
                     "use fewer heads (a divisor of %d)", E, heads, E);
    return ta_fail(msg, TA_ERR_ARG,
                   "multihead_attention: the input width %d is not divisible by heads = %d; "
                   "project the input first, e.g. layer_dense(%d) before this layer "
                   "(%d = %d heads x %d)",
                   E, heads, (int)(heads * per), (int)(heads * per), heads, (int)per);
  }
  if (key_dim < 0)
    return ta_fail(msg, TA_ERR_ARG,
                   "multihead_attention: key_dim must be >= 1 (or 0 for width / heads), not %d",
                   key_dim);
  if (window < -1)
    return ta_fail(msg, TA_ERR_ARG,
                   "multihead_attention: window must be >= 0 (or -1 for all keys), not %d", window);
  if (!(dropout >= 0.0f && dropout < 1.0f))
    return ta_fail(msg, TA_ERR_ARG, "multihead_attention: dropout must be in [0, 1), not %g",
                   (double)dropout);
  s->heads = heads;
  s->val_dim = E / heads;
  s->key_dim = key_dim > 0 ? key_dim : s->val_dim;
  s->causal = causal ? 1 : 0;
  s->window = window;
  /* in long long: heads * key_dim can exceed INT_MAX */
  s->separate_proj = (long long)s->heads * s->key_dim != E || (long long)s->heads * s->val_dim != E;
  s->dropout = dropout;
  return TA_OK;
}

/* projection columns C = 2*H*dk + H*dv */
static size_t proj_cols(const ta_mha_shape *s) {
  return 2 * (size_t)s->heads * (size_t)s->key_dim + (size_t)s->heads * (size_t)s->val_dim;
}
static size_t hv_of(const ta_mha_shape *s) { return (size_t)s->heads * (size_t)s->val_dim; }

size_t ta_mha_n_params(const ta_mha_shape *s, size_t E) {
  size_t C = proj_cols(s), HV = hv_of(s);
  return C * E + C + E * HV + E;
}

int ta_mha_n_tensors(const ta_mha_shape *s) { return s->separate_proj ? 6 : 4; }

static void set_info(ta_tensor_info *info, const char *name, int ndim, size_t d0, size_t d1) {
  strcpy(info->name, name);
  info->ndim = ndim;
  info->dim[0] = (int)d0;
  info->dim[1] = ndim > 1 ? (int)d1 : 0;
}

void ta_mha_tensor(const ta_mha_shape *s, size_t E, int k, ta_tensor_info *info) {
  size_t C = proj_cols(s), HK = (size_t)s->heads * (size_t)s->key_dim, HV = hv_of(s);
  if (s->separate_proj) {
    switch (k) {
    case 0: set_info(info, "q_proj_weight", 2, HK, E); return;
    case 1: set_info(info, "k_proj_weight", 2, HK, E); return;
    case 2: set_info(info, "v_proj_weight", 2, HV, E); return;
    default: k -= 2; break; /* 3.. map onto the shared tail 1.. */
    }
  } else if (k == 0) {
    set_info(info, "in_proj_weight", 2, C, E);
    return;
  }
  switch (k) {
  case 1: set_info(info, "in_proj_bias", 1, C, 0); return;
  case 2: set_info(info, "out_proj.weight", 2, E, HV); return;
  default: set_info(info, "out_proj.bias", 1, E, 0); return;
  }
}

void ta_mha_init(const ta_mha_shape *s, size_t E, float *params, ta_rng *rng) {
  size_t C = proj_cols(s), HK = (size_t)s->heads * (size_t)s->key_dim, HV = hv_of(s);
  float *w = params;
  /* xavier_uniform_: bound sqrt(6 / (fan_in + fan_out)) of each projection matrix */
  if (s->separate_proj) {
    ta_fill_uniform(w, HK * E, sqrtf(6.0f / (float)(E + HK)), rng);
    ta_fill_uniform(w + HK * E, HK * E, sqrtf(6.0f / (float)(E + HK)), rng);
    ta_fill_uniform(w + 2 * HK * E, HV * E, sqrtf(6.0f / (float)(E + HV)), rng);
  } else {
    ta_fill_uniform(w, C * E, sqrtf(6.0f / (float)(E + C)), rng);
  }
  float *b_in = w + C * E, *w_out = b_in + C, *b_out = w_out + E * HV;
  memset(b_in, 0, C * sizeof(float));
  /* out_proj: nn.Linear's kaiming_uniform(a = sqrt(5)), i.e. uniform(+-1/sqrt(fan_in)) */
  ta_fill_uniform(w_out, E * HV, 1.0f / sqrtf((float)HV), rng);
  memset(b_out, 0, E * sizeof(float));
}

static size_t bh_tt(const ta_mha_shape *s, size_t B, size_t T) {
  return B * (size_t)s->heads * T * T;
}

size_t ta_mha_cache_size(const ta_mha_shape *s, size_t E, size_t B, size_t T) {
  (void)E;
  size_t R = B * T;
  return R * proj_cols(s) + R * hv_of(s) + bh_tt(s, B, T) + B * (size_t)s->heads * T +
         (s->dropout > 0.0f ? bh_tt(s, B, T) : 0) + 1;
}

static ta_attn_block block_of(const ta_mha_shape *s, size_t T);

size_t ta_mha_scratch_size(const ta_mha_shape *s, size_t E, size_t B, size_t T) {
  (void)E;
  size_t R = B * T;
  ta_attn_block a = block_of(s, T);
  return R * proj_cols(s) + R * hv_of(s) + B * (size_t)s->heads * ta_attn_bwd_work(&a);
}

typedef struct { float *qkv, *ctx, *P, *work, *drop, *flag; } mha_cache;

static mha_cache cache_of(const ta_mha_shape *s, float *cache, size_t B, size_t T) {
  size_t R = B * T;
  mha_cache m;
  m.qkv = cache;
  m.ctx = m.qkv + R * proj_cols(s);
  m.P = m.ctx + R * hv_of(s);
  m.work = m.P + bh_tt(s, B, T);
  m.drop = m.work + B * (size_t)s->heads * T;
  m.flag = m.drop + (s->dropout > 0.0f ? bh_tt(s, B, T) : 0);
  return m;
}

/* the kernel's view of head h: q, k, v columns in qkv [., C], output columns in ctx */
static ta_attn_block block_of(const ta_mha_shape *s, size_t T) {
  ta_attn_block a;
  a.score = TA_SCORE_SCALED_DOT;
  a.causal = s->causal;
  a.window = s->window;
  a.Tq = a.Tk = T;
  a.q0 = 0;
  a.dk = (size_t)s->key_dim;
  a.dv = (size_t)s->val_dim;
  a.ldq = a.ldk = a.ldv = proj_cols(s);
  a.ldo = hv_of(s);
  return a;
}

static inline size_t len_of(const ta_pass *ps, size_t b, size_t T) {
  return ta_attn_len(ps ? ps->valid_len : NULL, b, T);
}

/* The attention of every (sequence, head) block from m.qkv into m.ctx and m.P, for the
 * queries q0..T-1 (q0 = 0: all of them; q0 = T-1: the last one only, for ps->last_only),
 * over all keys; with use_drop, m.drop multiplies the weights. */
static void forward_blocks(const ta_mha_shape *s, mha_cache m, const ta_pass *ps, int use_drop,
                           size_t B, size_t T, size_t q0) {
  size_t C = proj_cols(s), HV = hv_of(s), H = (size_t)s->heads;
  size_t HK = H * (size_t)s->key_dim;
  ta_attn_block a = block_of(s, T);
  a.Tq = T - q0;
  a.q0 = q0;
  double flops = (double)B * (double)H * (double)a.Tq * (double)T *
                 (double)(s->key_dim + s->val_dim);
  ptrdiff_t n_blk = (ptrdiff_t)(B * H);
  (void)flops;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (flops > TA_PAR_MIN_FLOPS) num_threads(ta_threads())
#endif
  for (ptrdiff_t bh = 0; bh < n_blk; bh++) {
    if (ta_pass_stopped(ps)) continue; /* an interrupt: this pass is discarded */
    size_t b = (size_t)bh / H, h = (size_t)bh % H;
    const float *row = m.qkv + b * T * C;
    ta_attn_block_forward(&a, m.ctx + (b * T + q0) * HV + h * (size_t)s->val_dim,
                          m.P + ((size_t)bh * T + q0) * T, m.work + (size_t)bh * T,
                          row + q0 * C + h * (size_t)s->key_dim,
                          row + HK + h * (size_t)s->key_dim, row + 2 * HK + h * (size_t)s->val_dim,
                          use_drop ? m.drop + (size_t)bh * T * T : NULL, NULL, len_of(ps, b, T));
  }
}

/* qkv's bias on rows [R] (stride ld) of columns [c0, c1) */
static void add_bias_cols(float *y, size_t ld, const float *b, size_t R, size_t c0, size_t c1) {
  ta_add_rows(y + c0, ld, b + c0, R, c1 - c0);
}

/* Inference for the last query of each sequence only (ps->last_only): keys and values
 * of every row, the query, the attention and the output projection of row T-1 alone.
 * Row T-1 of out is what the full pass gives (each row's products sum in the same
 * order whatever the number of rows); the other rows of out and of the cache are left
 * as they were. */
static void mha_forward_last(const ta_mha_shape *s, float *out, mha_cache m, const float *x,
                             const float *params, const ta_pass *ps, size_t E, size_t B,
                             size_t T) {
  size_t C = proj_cols(s), HV = hv_of(s), H = (size_t)s->heads, R = B * T;
  size_t HK = H * (size_t)s->key_dim;
  const float *w_in = params, *b_in = w_in + C * E, *w_out = b_in + C, *b_out = w_out + E * HV;
  size_t last = T - 1;
  /* k | v columns of every row; q columns of the last rows (row stride T) */
  ta_gemm_nt(m.qkv + HK, C, x, E, w_in + HK * E, E, R, C - HK, E, 0);
  add_bias_cols(m.qkv, C, b_in, R, HK, C);
  ta_gemm_nt(m.qkv + last * C, T * C, x + last * E, T * E, w_in, E, B, HK, E, 0);
  add_bias_cols(m.qkv + last * C, T * C, b_in, B, 0, HK);
  *m.flag = 0.0f;

  forward_blocks(s, m, ps, 0, B, T, last);
  ta_gemm_nt(out + last * E, T * E, m.ctx + last * HV, T * HV, w_out, HV, B, E, HV, 0);
  add_bias_cols(out + last * E, T * E, b_out, B, 0, E);
}

void ta_mha_forward(const ta_mha_shape *s, float *out, float *cache, const float *x,
                    const float *params, const ta_pass *ps, size_t E, size_t B, size_t T) {
  size_t C = proj_cols(s), HV = hv_of(s), R = B * T;
  const float *w_in = params, *b_in = w_in + C * E, *w_out = b_in + C, *b_out = w_out + E * HV;
  mha_cache m = cache_of(s, cache, B, T);
  if (ps && ps->last_only && !ps->training) {
    mha_forward_last(s, out, m, x, params, ps, E, B, T);
    return;
  }

  ta_gemm_nt(m.qkv, C, x, E, w_in, E, R, C, E, 0);
  ta_add_rows(m.qkv, C, b_in, R, C);

  /* dropout multipliers drawn serially, in (b, h, i, j) order: the same stream
   * whatever the thread count */
  int use_drop = ps && ps->training && s->dropout > 0.0f;
  if (use_drop) {
    size_t n = bh_tt(s, B, T);
    float keep = 1.0f / (1.0f - s->dropout);
    for (size_t i = 0; i < n; i++) m.drop[i] = ta_rng_uniform(ps->rng) < s->dropout ? 0.0f : keep;
  }
  *m.flag = use_drop ? 1.0f : 0.0f;

  forward_blocks(s, m, ps, use_drop, B, T, 0);

  ta_gemm_nt(out, E, m.ctx, HV, w_out, HV, R, E, HV, 0);
  ta_add_rows(out, E, b_out, R, E);
}

void ta_mha_backward(const ta_mha_shape *s, float *dx, float *dparams, float *scratch,
                     const float *dout, const float *x, const float *cache, const float *params,
                     const ta_pass *ps, size_t E, size_t B, size_t T) {
  size_t C = proj_cols(s), HV = hv_of(s), H = (size_t)s->heads, R = B * T;
  size_t HK = H * (size_t)s->key_dim;
  const float *w_in = params, *w_out = w_in + C * E + C;
  float *dw_in = dparams, *db_in = dw_in + C * E, *dw_out = db_in + C, *db_out = dw_out + E * HV;
  mha_cache m = cache_of(s, (float *)cache, B, T);
  int use_drop = *m.flag != 0.0f;
  float *dqkv = scratch, *dctx = dqkv + R * C, *work = dctx + R * HV;

  /* output projection */
  ta_gemm_tn(dw_out, HV, dout, E, m.ctx, HV, E, HV, R, 1); /* dW_out += dout^T ctx */
  ta_colsum(db_out, dout, E, R, E, 1);
  ta_gemm_nn(dctx, HV, dout, E, w_out, HV, R, HV, E, 0);    /* dctx = dout W_out */

  ta_attn_block a = block_of(s, T);
  size_t wb = ta_attn_bwd_work(&a); /* kernel work per block */
  double flops = (double)B * (double)H * (double)T * (double)T * (double)(s->key_dim + s->val_dim);
  ptrdiff_t n_blk = (ptrdiff_t)(B * H);
  (void)flops;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (flops > TA_PAR_MIN_FLOPS) num_threads(ta_threads())
#endif
  for (ptrdiff_t bh = 0; bh < n_blk; bh++) {
    if (ta_pass_stopped(ps)) continue; /* an interrupt: this pass is discarded */
    size_t b = (size_t)bh / H, h = (size_t)bh % H;
    const float *row = m.qkv + b * T * C;
    float *drow = dqkv + b * T * C;
    size_t qo = h * (size_t)s->key_dim, ko = HK + h * (size_t)s->key_dim,
           vo = 2 * HK + h * (size_t)s->val_dim;
    ta_attn_block_backward(&a, drow + qo, drow + ko, drow + vo, NULL, work + (size_t)bh * wb,
                           dctx + b * T * HV + h * (size_t)s->val_dim, row + qo, row + ko, row + vo,
                           m.P + (size_t)bh * T * T, use_drop ? m.drop + (size_t)bh * T * T : NULL,
                           NULL, len_of(ps, b, T));
  }

  /* input projection */
  ta_gemm_tn(dw_in, E, dqkv, C, x, E, C, E, R, 1); /* dW_in += dqkv^T x */
  ta_colsum(db_in, dqkv, C, R, C, 1);
  if (dx) ta_gemm_nn(dx, E, dqkv, C, w_in, E, R, E, C, 0); /* dx = dqkv W_in */
}

void ta_mha_weights(const ta_mha_shape *s, float *out, const float *cache, size_t E, size_t B,
                    size_t T) {
  (void)E;
  mha_cache m = cache_of(s, (float *)cache, B, T);
  memcpy(out, m.P, bh_tt(s, B, T) * sizeof(float));
}
