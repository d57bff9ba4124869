/* Transformer encoder block: PyTorch's nn.TransformerEncoderLayer(d_model = E, nhead = H,
 * dim_feedforward = Fd, dropout, activation, batch_first = True, norm_first).
 *   post-norm: x1 = norm1(x + drop1(MHA(x)));   out = norm2(x1 + drop2(FFN(x1)))
 *   pre-norm:  x1 = x + drop1(MHA(norm1(x)));   out = x1 + drop2(FFN(norm2(x1)))
 *   FFN(u) = linear2(drop(act(linear1(u))))
 * The MHA gets the block's dropout rate on its attention weights, as in PyTorch.
 * Parameters, in state_dict order: self_attn.* (ta_mha_tensor), linear1.weight [Fd, E],
 * linear1.bias [Fd], linear2.weight [E, Fd], linear2.bias [E], norm1.weight [E],
 * norm1.bias [E], norm2.weight [E], norm2.bias [E].
 *
 * cache, with R = B*T (every offset a function of B and T alone; the layout is
 * ta_tf_cache_of of layer_transformer_encoder.h, shared with the GPU path, with the flag):
 *   mha      [ta_mha_cache_size]
 *   flag     [1]     1 when the dropout masks below were drawn (training, rate > 0)
 *   s1       [R, E]  post: norm1 input x + drop1(a);  pre: x1 (norm2 input)
 *   u        [R, E]  linear1 input: post x1, pre norm2(x1)
 *   c        [R, E]  post: norm2 input x1 + drop2(f);  pre: norm1(x) (the MHA input)
 *   mean1, rstd1, mean2, rstd2 [R]
 *   z        [R, Fd] linear1 pre-activation
 *   hd       [R, Fd] drop(act(z)), linear2 input
 *   m1 [R, E], m [R, Fd], m2 [R, E]   dropout masks (only when rate > 0)
 * scratch: mha scratch, g1 g2 g3 [R, E], gF [R, Fd]. */
#include <string.h>
#include <math.h>
#include "ta_layer.h"
#include "ta_act.h"
#include "ta_mha.h"
#include "ta_norm.h"
#include "ta_gemm.h"
#include "ta_vec.h"
#include "ta_math.h"
#include "layer_transformer_encoder.h"

static int tf_setup(ta_layer *L, const ta_layer_spec *sp, ta_msg *msg) {
  if (sp->heads < 1)
    return ta_fail(msg, TA_ERR_ARG, "transformer_encoder: heads must be >= 1, not %d", sp->heads);
  if (sp->d_ff < 1)
    return ta_fail(msg, TA_ERR_ARG, "transformer_encoder: d_ff must be >= 1, not %d", sp->d_ff);
  if (!(sp->rate >= 0.0 && sp->rate < 1.0))
    return ta_fail(msg, TA_ERR_ARG, "transformer_encoder: dropout must be in [0, 1), not %g",
                   sp->rate);
  if (!(sp->eps > 0.0))
    return ta_fail(msg, TA_ERR_ARG, "transformer_encoder: eps must be > 0, not %g", sp->eps);
  if (sp->activation != TA_ACT_RELU && sp->activation != TA_ACT_GELU)
    return ta_fail(msg, TA_ERR_ARG,
                   "transformer_encoder: activation must be relu or gelu (code %d or %d), not %d",
                   TA_ACT_RELU, TA_ACT_GELU, sp->activation);
  ta_mha_shape s;
  ta_msg inner;
  int st = ta_mha_shape_of(&s, L->in_dim, sp->heads, 0, sp->causal ? 1 : 0, -1, (float)sp->rate,
                           &inner);
  if (st != TA_OK) {
    /* the attention's message, told as this layer's */
    static const char pre[] = "multihead_attention: ";
    const char *text = inner.text;
    if (strncmp(text, pre, sizeof pre - 1) == 0) text += sizeof pre - 1;
    return ta_fail(msg, st, "transformer_encoder: %s", text);
  }
  ta_transformer_cfg *c = &L->cfg.tf;
  c->heads = sp->heads;
  c->d_ff = sp->d_ff;
  c->causal = sp->causal ? 1 : 0;
  c->norm_first = sp->norm_first ? 1 : 0;
  c->activation = sp->activation;
  c->rate = (float)sp->rate;
  c->eps = (float)sp->eps;
  L->out_dim = L->in_dim;
  L->keeps_time = 1;
  L->n_params = ta_tf_param_offsets(L, &s).n;
  return TA_OK;
}

static size_t tf_cache_size(const ta_layer *L, size_t B, size_t T) {
  ta_mha_shape s = ta_tf_shape(L);
  return ta_tf_cache_of(L, ta_mha_cache_size(&s, (size_t)L->in_dim, B, T), 1, NULL, B, T).size;
}

static size_t tf_scratch_size(const ta_layer *L, size_t B, size_t T) {
  ta_mha_shape s = ta_tf_shape(L);
  size_t E = (size_t)L->in_dim, Fd = (size_t)L->cfg.tf.d_ff, R = B * T;
  return ta_mha_scratch_size(&s, E, B, T) + 3 * R * E + R * Fd;
}

static int tf_n_tensors(const ta_layer *L) {
  ta_mha_shape s = ta_tf_shape(L);
  return ta_mha_n_tensors(&s) + 8;
}

static void tf_tensor(const ta_layer *L, int k, ta_tensor_info *info) {
  ta_mha_shape s = ta_tf_shape(L);
  int E = L->in_dim, Fd = L->cfg.tf.d_ff, nm = ta_mha_n_tensors(&s);
  if (k < nm) {
    ta_tensor_info inner;
    ta_mha_tensor(&s, (size_t)E, k, &inner);
    *info = inner;
    static const char pre[] = "self_attn.";
    size_t lp = sizeof pre - 1, ln = strlen(inner.name);
    if (ln > TA_NAME_LEN - 1 - lp) ln = TA_NAME_LEN - 1 - lp; /* names are far shorter */
    memcpy(info->name, pre, lp);
    memcpy(info->name + lp, inner.name, ln);
    info->name[lp + ln] = '\0';
    return;
  }
  static const char *names[8] = {"linear1.weight", "linear1.bias", "linear2.weight",
                                 "linear2.bias",   "norm1.weight",  "norm1.bias",
                                 "norm2.weight",   "norm2.bias"};
  int j = k - nm;
  strcpy(info->name, names[j]);
  switch (j) {
  case 0: info->ndim = 2; info->dim[0] = Fd; info->dim[1] = E; break;
  case 1: info->ndim = 1; info->dim[0] = Fd; break;
  case 2: info->ndim = 2; info->dim[0] = E; info->dim[1] = Fd; break;
  default: info->ndim = 1; info->dim[0] = E; break;
  }
}

static void tf_init(const ta_layer *L, float *params, ta_rng *rng) {
  ta_mha_shape s = ta_tf_shape(L);
  size_t E = (size_t)L->in_dim, Fd = (size_t)L->cfg.tf.d_ff;
  ta_tf_poff o = ta_tf_param_offsets(L, &s);
  ta_mha_init(&s, E, params, rng);
  /* nn.Linear: kaiming_uniform(a = sqrt(5)) gives bound 1/sqrt(fan_in) for weight and bias */
  float bound1 = 1.0f / sqrtf((float)E), bound2 = 1.0f / sqrtf((float)Fd);
  ta_fill_uniform(params + o.w1, Fd * E, bound1, rng);
  ta_fill_uniform(params + o.b1, Fd, bound1, rng);
  ta_fill_uniform(params + o.w2, E * Fd, bound2, rng);
  ta_fill_uniform(params + o.b2, E, bound2, rng);
  for (size_t f = 0; f < E; f++) {
    params[o.g1 + f] = 1.0f;
    params[o.be1 + f] = 0.0f;
    params[o.g2 + f] = 1.0f;
    params[o.be2 + f] = 0.0f;
  }
}

/* y[R, N] = x[R, K] W[N, K]^T + b[N] */
static void linear_fwd(float *y, const float *x, const float *W, const float *b, size_t R,
                       size_t N, size_t K) {
  ta_gemm_nt(y, N, x, K, W, K, R, N, K, 0);
  ta_add_rows(y, N, b, R, N);
}

/* v *= mask (identity when mask is NULL) */
static void mask_mul(float *v, const float *mask, size_t n) {
  if (!mask) return;
  for (size_t i = 0; i < n; i++) v[i] *= mask[i];
}

/* dropout in place on v: draws the mask when active */
static void drop_inplace(float *v, float *mask, size_t n, float rate, int active, ta_rng *rng) {
  if (active) ta_dropout_apply(v, mask, v, n, rate, rng);
}

/* feed-forward from u [R, E]: z, hd (cache) and f [R, E] (= linear2 output) */
static void ffn_fwd(const ta_layer *L, float *f, const ta_tf_cache *c, const float *params,
                    const ta_tf_poff *o, int active, ta_rng *rng, size_t R) {
  size_t E = (size_t)L->in_dim, Fd = (size_t)L->cfg.tf.d_ff;
  int a = L->cfg.tf.activation;
  linear_fwd(c->z, c->u, params + o->w1, params + o->b1, R, Fd, E);
  ta_act_forward(c->hd, c->z, R * Fd, a);
  drop_inplace(c->hd, c->m, R * Fd, L->cfg.tf.rate, active, rng);
  linear_fwd(f, c->hd, params + o->w2, params + o->b2, R, E, Fd);
}

/* Inference for the last step only (ps->last_only, T >= 2): the MHA runs the last query
 * of each sequence over all keys, and the rest of the block (residuals, norms,
 * feed-forward) runs on those B rows, gathered into the first rows of the cache's
 * buffers; the result is written to row T-1 of each sequence of out. */
static void tf_forward_last(const ta_layer *L, float *out, const ta_tf_cache *c,
                            const float *in, const float *params, const ta_pass *ps,
                            const ta_mha_shape *s, const ta_tf_poff *o, size_t B, size_t T) {
  size_t E = (size_t)L->in_dim, last = T - 1;
  float eps = L->cfg.tf.eps;
  const float *g1 = params + o->g1, *be1 = params + o->be1, *g2 = params + o->g2,
              *be2 = params + o->be2;
  float *f = c->s1 + B * E; /* [B, E]: s1 holds B*T >= 2B rows */
  const float *mha_in = in;
  if (L->cfg.tf.norm_first) {
    /* every row's norm: the keys and values need them */
    ta_layernorm_forward(c->c, c->mean1, c->rstd1, in, g1, be1, B * T, E, eps);
    mha_in = c->c;
  }
  ta_mha_forward(s, out, c->mha, mha_in, params, ps, E, B, T);
  for (size_t b = 0; b < B; b++) {
    const float *xr = in + (b * T + last) * E, *ar = out + (b * T + last) * E;
    for (size_t e = 0; e < E; e++) c->s1[b * E + e] = xr[e] + ar[e];
  }
  if (!L->cfg.tf.norm_first) {
    ta_layernorm_forward(c->u, c->mean1, c->rstd1, c->s1, g1, be1, B, E, eps);
    ffn_fwd(L, f, c, params, o, 0, NULL, B);
    for (size_t i = 0; i < B * E; i++) c->c[i] = c->u[i] + f[i];
    ta_layernorm_forward(c->u, c->mean2, c->rstd2, c->c, g2, be2, B, E, eps);
    for (size_t b = 0; b < B; b++)
      memcpy(out + (b * T + last) * E, c->u + b * E, E * sizeof(float));
  } else {
    ta_layernorm_forward(c->u, c->mean2, c->rstd2, c->s1, g2, be2, B, E, eps);
    ffn_fwd(L, f, c, params, o, 0, NULL, B);
    for (size_t b = 0; b < B; b++)
      for (size_t e = 0; e < E; e++) out[(b * T + last) * E + e] = c->s1[b * E + e] + f[b * E + e];
  }
}

static void tf_forward(const ta_layer *L, float *out, float *cache, const float *in,
                       const float *params, const ta_pass *ps, size_t B, size_t T) {
  ta_mha_shape s = ta_tf_shape(L);
  size_t E = (size_t)L->in_dim, R = B * T, n = R * E;
  float rate = L->cfg.tf.rate, eps = L->cfg.tf.eps;
  ta_tf_poff o = ta_tf_param_offsets(L, &s);
  ta_tf_cache c = ta_tf_cache_of(L, ta_mha_cache_size(&s, E, B, T), 1, cache, B, T);
  int active = ps->training && rate > 0.0f;
  c.flag[0] = active ? 1.0f : 0.0f;
  const float *g1 = params + o.g1, *be1 = params + o.be1, *g2 = params + o.g2,
              *be2 = params + o.be2;
  if (ps->last_only && !ps->training && T >= 2) {
    tf_forward_last(L, out, &c, in, params, ps, &s, &o, B, T);
    return;
  }

  if (!L->cfg.tf.norm_first) {
    /* out holds a = MHA(x), then f = FFN(x1), then the result */
    ta_mha_forward(&s, out, c.mha, in, params, ps, E, B, T);
    drop_inplace(out, c.m1, n, rate, active, ps->rng);
    for (size_t i = 0; i < n; i++) c.s1[i] = in[i] + out[i];
    ta_layernorm_forward(c.u, c.mean1, c.rstd1, c.s1, g1, be1, R, E, eps);
    ffn_fwd(L, out, &c, params, &o, active, ps->rng, R);
    drop_inplace(out, c.m2, n, rate, active, ps->rng);
    for (size_t i = 0; i < n; i++) c.c[i] = c.u[i] + out[i];
    ta_layernorm_forward(out, c.mean2, c.rstd2, c.c, g2, be2, R, E, eps);
  } else {
    ta_layernorm_forward(c.c, c.mean1, c.rstd1, in, g1, be1, R, E, eps);
    ta_mha_forward(&s, out, c.mha, c.c, params, ps, E, B, T);
    drop_inplace(out, c.m1, n, rate, active, ps->rng);
    for (size_t i = 0; i < n; i++) c.s1[i] = in[i] + out[i];
    ta_layernorm_forward(c.u, c.mean2, c.rstd2, c.s1, g2, be2, R, E, eps);
    ffn_fwd(L, out, &c, params, &o, active, ps->rng, R);
    drop_inplace(out, c.m2, n, rate, active, ps->rng);
    ta_add(out, c.s1, n);
  }
}

/* feed-forward backward from df [R, E]: dparams of linear1/linear2 +=, du [R, E]
 * (= or += by accumulate); gF [R, Fd] is scratch */
static void ffn_bwd(const ta_layer *L, float *du, int accumulate, float *dparams, float *gF,
                    const float *df, const ta_tf_cache *c, const float *params,
                    const ta_tf_poff *o, int active, size_t R) {
  size_t E = (size_t)L->in_dim, Fd = (size_t)L->cfg.tf.d_ff;
  int a = L->cfg.tf.activation;
  ta_gemm_tn(dparams + o->w2, Fd, df, E, c->hd, Fd, E, Fd, R, 1); /* dW2 += df^T hd */
  ta_colsum(dparams + o->b2, df, E, R, E, 1);
  ta_gemm_nn(gF, Fd, df, E, params + o->w2, Fd, R, Fd, E, 0);     /* dhd = df W2 */
  if (active) mask_mul(gF, c->m, R * Fd);
  ta_act_backward(gF, gF, c->z, NULL, R * Fd, a);
  ta_gemm_tn(dparams + o->w1, E, gF, Fd, c->u, E, Fd, E, R, 1);   /* dW1 += dz^T u */
  ta_colsum(dparams + o->b1, gF, Fd, R, Fd, 1);
  ta_gemm_nn(du, E, gF, Fd, params + o->w1, E, R, E, Fd, accumulate); /* du (+)= dz W1 */
}

static void tf_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                        const float *dout, const float *in, const float *out, const float *cache,
                        const float *params, const ta_pass *ps, size_t B, size_t T) {
  (void)out;
  ta_mha_shape s = ta_tf_shape(L);
  size_t E = (size_t)L->in_dim, R = B * T, n = R * E;
  ta_tf_poff o = ta_tf_param_offsets(L, &s);
  ta_tf_cache c = ta_tf_cache_of(L, ta_mha_cache_size(&s, E, B, T), 1, (float *)cache, B, T);
  int active = c.flag[0] != 0.0f;
  float *mha_scratch = scratch;
  float *g1 = scratch + ta_mha_scratch_size(&s, E, B, T), *g2 = g1 + n, *g3 = g2 + n,
        *gF = g3 + n;
  const float *gam1 = params + o.g1, *gam2 = params + o.g2;

  if (!L->cfg.tf.norm_first) {
    /* ds2 = norm2'(dout); dx1 = ds2 + FFN'(drop2'(ds2)) */
    ta_layernorm_backward(g1, dparams + o.g2, dparams + o.be2, dout, c.c, c.mean2, c.rstd2,
                          gam2, R, E);
    const float *df = g1;
    if (active) {
      for (size_t i = 0; i < n; i++) g2[i] = g1[i] * c.m2[i];
      df = g2;
    }
    ffn_bwd(L, g1, 1, dparams, gF, df, &c, params, &o, active, R);
    /* ds1 = norm1'(dx1); dx = ds1 + MHA'(drop1'(ds1)) */
    ta_layernorm_backward(g2, dparams + o.g1, dparams + o.be1, g1, c.s1, c.mean1, c.rstd1, gam1,
                          R, E);
    const float *da = g2;
    if (active) {
      for (size_t i = 0; i < n; i++) g3[i] = g2[i] * c.m1[i];
      da = g3;
    }
    ta_mha_backward(&s, din, dparams, mha_scratch, da, in, c.mha, params, ps, E, B, T);
    if (din)
      ta_add(din, g2, n);
  } else {
    /* dx1 = dout + norm2'(FFN'(drop2'(dout))) */
    const float *df = dout;
    if (active) {
      for (size_t i = 0; i < n; i++) g2[i] = dout[i] * c.m2[i];
      df = g2;
    }
    ffn_bwd(L, g1, 0, dparams, gF, df, &c, params, &o, active, R);
    ta_layernorm_backward(g3, dparams + o.g2, dparams + o.be2, g1, c.s1, c.mean2, c.rstd2, gam2,
                          R, E);
    ta_add(g3, dout, n);
    /* dx = dx1 + norm1'(MHA'(drop1'(dx1))) */
    const float *da = g3;
    if (active) {
      for (size_t i = 0; i < n; i++) g2[i] = g3[i] * c.m1[i];
      da = g2;
    }
    ta_mha_backward(&s, g1, dparams, mha_scratch, da, c.c, c.mha, params, ps, E, B, T);
    ta_layernorm_backward(din, dparams + o.g1, dparams + o.be1, g1, in, c.mean1, c.rstd1, gam1, R,
                          E);
    if (din)
      ta_add(din, g3, n);
  }
}

static int tf_attn_heads(const ta_layer *L) { return L->cfg.tf.heads; }

static void tf_attn_weights(const ta_layer *L, float *out, const float *cache, size_t B,
                            size_t T) {
  ta_mha_shape s = ta_tf_shape(L);
  ta_mha_weights(&s, out, cache, (size_t)L->in_dim, B, T); /* the MHA cache comes first */
}

const ta_layer_ops ta_transformer_ops = {
    .kind = "transformer_encoder",
    .setup = tf_setup,
    .cache_size = tf_cache_size,
    .scratch_size = tf_scratch_size,
    .n_tensors = tf_n_tensors,
    .tensor = tf_tensor,
    .init = tf_init,
    .forward = tf_forward,
    .backward = tf_backward,
    .attn_heads = tf_attn_heads,
    .attn_weights = tf_attn_weights};
