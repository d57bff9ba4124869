/* Transformer encoder block (layer_transformer_encoder.c: PyTorch's
 * nn.TransformerEncoderLayer, post-norm or pre-norm) on the GPU:
 *   post-norm: x1 = norm1(x + drop1(MHA(x)));   out = norm2(x1 + drop2(FFN(x1)))
 *   pre-norm:  x1 = x + drop1(MHA(norm1(x)));   out = x1 + drop2(FFN(norm2(x1)))
 *   FFN(u) = linear2(drop(act(linear1(u))))
 * The MHA is ta_mha_cuda.cu's (its attention dropout at the block's rate), the norms
 * ta_norm_cuda.cu's (the row formulas of ta_norm_math.h), the linears cuBLAS products
 * with ta_cuda_add_bias / ta_cuda_bias_grad, the activation ta_cuda_act_*, dropout
 * ta_cuda_dropout (one key from the host generator per mask, training only). The
 * parameter block is the CPU layer's, in state_dict order: self_attn.*, linear1.weight
 * [Fd, E], linear1.bias, linear2.weight [E, Fd], linear2.bias, norm1.weight, norm1.bias,
 * norm2.weight, norm2.bias.
 * Device cache (R = B*T): the CPU layer's layout (ta_tf_cache_of of
 *   layer_transformer_encoder.h) without the flag: the MHA's, then s1, u, c [R, E],
 *   mean1, rstd1, mean2, rstd2 [R], z, hd [R, Fd], and with dropout the masks m1 [R, E],
 *   m [R, Fd], m2 [R, E] (the buffers' meanings as in the CPU layer's cache).
 * Device scratch: the MHA's, g1 g2 g3 g4 [R, E], gF [R, Fd].
 * last_only is not used: every row is computed (row T-1 is the CPU's). */
#include "ta_cuda_check.h"
#include "ta_cuda_attn.h"
#include "ta_cuda_ops.h"
#include "ta_math.h"
#include "layer_transformer_encoder.h"

static size_t tf_cache_size(const ta_layer *L, size_t B, size_t T) {
  ta_mha_shape s = ta_tf_shape(L);
  size_t E = (size_t)L->in_dim;
  return ta_tf_cache_of(L, ta_cuda_mha_cache_size(&s, E, B, T), 0, NULL, B, T).size;
}

static size_t tf_scratch_size(const ta_layer *L, size_t B, size_t T) {
  ta_mha_shape s = ta_tf_shape(L);
  size_t E = (size_t)L->in_dim, Fd = (size_t)L->cfg.tf.d_ff, R = B * T;
  return ta_cuda_mha_scratch_size(&s, E, B, T) + 4 * R * E + R * Fd;
}

/* y = a + b, element-wise (y may be a or b) */
__global__ void ta_tf_add_kernel(float *y, const float *a, const float *b, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)blockDim.x * gridDim.x)
    y[i] = a[i] + b[i];
}

static int add(float *y, const float *a, const float *b, size_t n, ta_msg *msg) {
  if (n == 0) return TA_OK;
  ta_tf_add_kernel<<<ta_cuda_blocks(n), TA_CUDA_THREADS>>>(y, a, b, n);
  return TA_CUDA_LAUNCHED(msg);
}

/* v = dropout(v) in place with mask, when active */
static int drop(float *v, float *mask, size_t n, float rate, int active, const ta_cuda_pass *ps,
                ta_msg *msg) {
  if (!active) return TA_OK;
  return ta_cuda_dropout(v, mask, v, n, rate, ta_rng_next(ps->rng), msg);
}

/* y [R, N] = x [R, K] W [N, K]^T + b */
static int linear(float *y, const float *x, const float *W, const float *b, size_t R, size_t N,
                  size_t K, ta_msg *msg) {
  int st = ta_cuda_gemm(TA_GEMM_NT, y, N, 0, x, K, 0, W, K, 0, R, N, K, 1, 0, msg);
  return st ? st : ta_cuda_add_bias(y, N, b, NULL, R, N, msg);
}

/* the feed-forward from c->u into f [R, E] (z, hd in the cache) */
static int ffn_forward(const ta_layer *L, float *f, const ta_tf_cache *c, const float *params,
                       const ta_tf_poff *o, int active, const ta_cuda_pass *ps, size_t R,
                       ta_msg *msg) {
  size_t E = (size_t)L->in_dim, Fd = (size_t)L->cfg.tf.d_ff;
  int st;
  if ((st = linear(c->z, c->u, params + o->w1, params + o->b1, R, Fd, E, msg)) ||
      (st = ta_cuda_act_forward(c->hd, c->z, R * Fd, L->cfg.tf.activation, msg)) ||
      (st = drop(c->hd, c->m, R * Fd, L->cfg.tf.rate, active, ps, msg)))
    return st;
  return linear(f, c->hd, params + o->w2, params + o->b2, R, E, Fd, msg);
}

static int tf_forward(const ta_layer *L, float *out, float *cache, const float *in,
                      const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                      ta_msg *msg) {
  ta_mha_shape s = ta_tf_shape(L);
  size_t E = (size_t)L->in_dim, R = B * T, n = R * E;
  float rate = L->cfg.tf.rate, eps = L->cfg.tf.eps;
  ta_tf_poff o = ta_tf_param_offsets(L, &s);
  ta_tf_cache c = ta_tf_cache_of(L, ta_cuda_mha_cache_size(&s, E, B, T), 0, cache, B, T);
  int active = ps->training && rate > 0.0f, st;
  const float *g1 = params + o.g1, *be1 = params + o.be1, *g2 = params + o.g2,
              *be2 = params + o.be2;
  if (!L->cfg.tf.norm_first) {
    /* out holds a = MHA(x), then f = FFN(x1), then the result */
    if ((st = ta_cuda_mha_forward(&s, out, c.mha, in, params, ps, E, B, T, msg)) ||
        (st = drop(out, c.m1, n, rate, active, ps, msg)) ||
        (st = add(c.s1, in, out, n, msg)) ||
        (st = ta_cuda_layernorm_forward(c.u, c.mean1, c.rstd1, c.s1, g1, be1, R, E, eps, msg)) ||
        (st = ffn_forward(L, out, &c, params, &o, active, ps, R, msg)) ||
        (st = drop(out, c.m2, n, rate, active, ps, msg)) || (st = add(c.c, c.u, out, n, msg)))
      return st;
    return ta_cuda_layernorm_forward(out, c.mean2, c.rstd2, c.c, g2, be2, R, E, eps, msg);
  }
  if ((st = ta_cuda_layernorm_forward(c.c, c.mean1, c.rstd1, in, g1, be1, R, E, eps, msg)) ||
      (st = ta_cuda_mha_forward(&s, out, c.mha, c.c, params, ps, E, B, T, msg)) ||
      (st = drop(out, c.m1, n, rate, active, ps, msg)) || (st = add(c.s1, in, out, n, msg)) ||
      (st = ta_cuda_layernorm_forward(c.u, c.mean2, c.rstd2, c.s1, g2, be2, R, E, eps, msg)) ||
      (st = ffn_forward(L, out, &c, params, &o, active, ps, R, msg)) ||
      (st = drop(out, c.m2, n, rate, active, ps, msg)))
    return st;
  return add(out, out, c.s1, n, msg);
}

/* the feed-forward's backward from df [R, E]: linear1/linear2 gradients +=, du [R, E]
 * (= or += by accumulate); gF [R, Fd] scratch */
static int ffn_backward(const ta_layer *L, float *du, int accumulate, float *dparams, float *gF,
                        const float *df, const ta_tf_cache *c, const float *params,
                        const ta_tf_poff *o, int active, const ta_cuda_pass *ps, size_t R,
                        ta_msg *msg) {
  size_t E = (size_t)L->in_dim, Fd = (size_t)L->cfg.tf.d_ff;
  int a = L->cfg.tf.activation, st;
  /* dW2 += df^T hd, db2 += ones^T df, dhd = df W2 */
  if ((st = ta_cuda_gemm(TA_GEMM_TN, dparams + o->w2, Fd, 0, df, E, 0, c->hd, Fd, 0, E, Fd, R, 1,
                         1, msg)) ||
      (st = ta_cuda_bias_grad(dparams + o->b2, df, E, R, E, ps, msg)) ||
      (st = ta_cuda_gemm(TA_GEMM_NN, gF, Fd, 0, df, E, 0, params + o->w2, Fd, 0, R, Fd, E, 1, 0,
                         msg)))
    return st;
  if (active && (st = ta_cuda_mul(gF, gF, c->m, R * Fd, msg))) return st;
  /* relu and gelu's derivatives read the pre-activation only: z stands in for the output */
  if ((st = ta_cuda_act_backward(gF, gF, c->z, c->z, R * Fd, a, msg))) return st;
  /* dW1 += dz^T u, db1 += ones^T dz, du (+)= dz W1 */
  if ((st = ta_cuda_gemm(TA_GEMM_TN, dparams + o->w1, E, 0, gF, Fd, 0, c->u, E, 0, Fd, E, R, 1, 1,
                         msg)) ||
      (st = ta_cuda_bias_grad(dparams + o->b1, gF, Fd, R, Fd, ps, msg)))
    return st;
  return ta_cuda_gemm(TA_GEMM_NN, du, E, 0, gF, Fd, 0, params + o->w1, E, 0, R, E, Fd, 1,
                      accumulate, msg);
}

static int tf_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                       const float *dout, const float *in, const float *out, const float *cache,
                       const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                       ta_msg *msg) {
  (void)out;
  ta_mha_shape s = ta_tf_shape(L);
  size_t E = (size_t)L->in_dim, R = B * T, n = R * E;
  ta_tf_poff o = ta_tf_param_offsets(L, &s);
  ta_tf_cache c =
      ta_tf_cache_of(L, ta_cuda_mha_cache_size(&s, E, B, T), 0, (float *)cache, B, T);
  int active = ps->training && L->cfg.tf.rate > 0.0f, st;
  float *mha_scratch = scratch;
  float *g1 = scratch + ta_cuda_mha_scratch_size(&s, E, B, T), *g2 = g1 + n, *g3 = g2 + n,
        *g4 = g3 + n, *gF = g4 + n;
  const float *gam1 = params + o.g1, *gam2 = params + o.g2;
  if (!L->cfg.tf.norm_first) {
    /* ds2 = norm2'(dout); dx1 = ds2 + FFN'(drop2'(ds2)) */
    if ((st = ta_cuda_layernorm_backward(g1, dparams + o.g2, dparams + o.be2, g4, dout, c.c,
                                         c.mean2, c.rstd2, gam2, R, E, ps, msg)))
      return st;
    const float *df = g1;
    if (active) {
      if ((st = ta_cuda_mul(g2, g1, c.m2, n, msg))) return st;
      df = g2;
    }
    if ((st = ffn_backward(L, g1, 1, dparams, gF, df, &c, params, &o, active, ps, R, msg)))
      return st;
    /* ds1 = norm1'(dx1); dx = ds1 + MHA'(drop1'(ds1)) */
    if ((st = ta_cuda_layernorm_backward(g2, dparams + o.g1, dparams + o.be1, g4, g1, c.s1,
                                         c.mean1, c.rstd1, gam1, R, E, ps, msg)))
      return st;
    const float *da = g2;
    if (active) {
      if ((st = ta_cuda_mul(g3, g2, c.m1, n, msg))) return st;
      da = g3;
    }
    if ((st = ta_cuda_mha_backward(&s, din, dparams, mha_scratch, da, in, c.mha, params, ps, E, B,
                                   T, msg)))
      return st;
    return din ? add(din, din, g2, n, msg) : TA_OK;
  }
  /* dx1 = dout + norm2'(FFN'(drop2'(dout))) */
  const float *df = dout;
  if (active) {
    if ((st = ta_cuda_mul(g2, dout, c.m2, n, msg))) return st;
    df = g2;
  }
  if ((st = ffn_backward(L, g1, 0, dparams, gF, df, &c, params, &o, active, ps, R, msg)) ||
      (st = ta_cuda_layernorm_backward(g3, dparams + o.g2, dparams + o.be2, g4, g1, c.s1, c.mean2,
                                       c.rstd2, gam2, R, E, ps, msg)) ||
      (st = add(g3, g3, dout, n, msg)))
    return st;
  /* dx = dx1 + norm1'(MHA'(drop1'(dx1))) */
  const float *da = g3;
  if (active) {
    if ((st = ta_cuda_mul(g2, g3, c.m1, n, msg))) return st;
    da = g2;
  }
  if ((st = ta_cuda_mha_backward(&s, g1, dparams, mha_scratch, da, c.c, c.mha, params, ps, E, B, T,
                                 msg)) ||
      (st = ta_cuda_layernorm_backward(din, dparams + o.g1, dparams + o.be1, g4, g1, in, c.mean1,
                                       c.rstd1, gam1, R, E, ps, msg)))
    return st;
  return din ? add(din, din, g3, n, msg) : TA_OK;
}

static int tf_attn_weights(const ta_layer *L, float *out, const float *cache, size_t B, size_t T,
                           ta_msg *msg) {
  ta_mha_shape s = ta_tf_shape(L);
  return ta_cuda_mha_weights(&s, out, cache, (size_t)L->in_dim, B, T, msg); /* MHA cache first */
}

extern "C" const ta_cuda_layer_ops ta_cuda_transformer_ops = {
    tf_cache_size, tf_scratch_size, tf_forward, tf_backward, tf_attn_weights};
