/* Multi-head self-attention on the GPU (ta_cuda_mha_* of ta_cuda_attn.h), PyTorch's
 * nn.MultiheadAttention layout as ta_mha.c: qkv = x W_in^T + b_in (one product over all
 * B*T rows), the attention core of ta_attn_cuda.cu per head (scaled dot products, causal,
 * window and padding masks, dropout on the weights in training), out = ctx W_out^T +
 * b_out. Used by the multi-head attention layer (layer_multihead_attention_cuda.cu) and
 * the transformer block.
 * Device cache: qkv [B,T,C], ctx [B,T,H*dv], then the core's cache (P [B,H,T,T] first).
 * Device scratch: dqkv [B,T,C], dctx [B,T,H*dv], then the core's scratch.
 * last_only is not used: every query row is computed (row T-1 is the CPU's). */
#include "ta_cuda_check.h"
#include "ta_cuda_attn.h"
#include "ta_cuda_ops.h"

static size_t hk_of(const ta_mha_shape *s) { return (size_t)s->heads * (size_t)s->key_dim; }
static size_t hv_of(const ta_mha_shape *s) { return (size_t)s->heads * (size_t)s->val_dim; }
static size_t cols_of(const ta_mha_shape *s) { return 2 * hk_of(s) + hv_of(s); }

static ta_cuda_attn core_of(const ta_mha_shape *s, size_t B, size_t T) {
  ta_cuda_attn a;
  a.score = TA_SCORE_SCALED_DOT;
  a.causal = s->causal;
  a.window = s->window;
  a.B = B;
  a.H = (size_t)s->heads;
  a.T = T;
  a.dk = (size_t)s->key_dim;
  a.dv = (size_t)s->val_dim;
  a.ldq = a.ldk = a.ldv = cols_of(s);
  a.ldo = hv_of(s);
  a.rate = s->dropout;
  return a;
}

extern "C" size_t ta_cuda_mha_cache_size(const ta_mha_shape *s, size_t E, size_t B, size_t T) {
  (void)E;
  ta_cuda_attn a = core_of(s, B, T);
  return B * T * (cols_of(s) + hv_of(s)) + ta_cuda_attn_cache_size(&a);
}

extern "C" size_t ta_cuda_mha_scratch_size(const ta_mha_shape *s, size_t E, size_t B, size_t T) {
  (void)E;
  ta_cuda_attn a = core_of(s, B, T);
  return B * T * (cols_of(s) + hv_of(s)) + ta_cuda_attn_scratch_size(&a);
}

extern "C" int ta_cuda_mha_forward(const ta_mha_shape *s, float *out, float *cache, const float *x,
                                   const float *params, const ta_cuda_pass *ps, size_t E, size_t B,
                                   size_t T, ta_msg *msg) {
  size_t C = cols_of(s), HV = hv_of(s), HK = hk_of(s), R = B * T;
  const float *w_in = params, *b_in = w_in + C * E, *w_out = b_in + C, *b_out = w_out + E * HV;
  float *qkv = cache, *ctx = qkv + R * C, *core = ctx + R * HV;
  ta_cuda_attn a = core_of(s, B, T);
  int st;
  if ((st = ta_cuda_gemm(TA_GEMM_NT, qkv, C, 0, x, E, 0, w_in, E, 0, R, C, E, 1, 0, msg)) ||
      (st = ta_cuda_add_bias(qkv, C, b_in, NULL, R, C, msg)) ||
      (st = ta_cuda_attn_forward(&a, ctx, core, qkv, qkv + HK, qkv + 2 * HK, NULL, ps, msg)) ||
      (st = ta_cuda_gemm(TA_GEMM_NT, out, E, 0, ctx, HV, 0, w_out, HV, 0, R, E, HV, 1, 0, msg)))
    return st;
  return ta_cuda_add_bias(out, E, b_out, NULL, R, E, msg);
}

extern "C" int ta_cuda_mha_backward(const ta_mha_shape *s, float *dx, float *dparams,
                                    float *scratch, const float *dout, const float *x,
                                    const float *cache, const float *params,
                                    const ta_cuda_pass *ps, size_t E, size_t B, size_t T,
                                    ta_msg *msg) {
  size_t C = cols_of(s), HV = hv_of(s), HK = hk_of(s), R = B * T;
  const float *w_in = params, *w_out = w_in + C * E + C;
  float *dw_in = dparams, *db_in = dw_in + C * E, *dw_out = db_in + C, *db_out = dw_out + E * HV;
  const float *qkv = cache, *ctx = qkv + R * C, *core = ctx + R * HV;
  float *dqkv = scratch, *dctx = dqkv + R * C, *work = dctx + R * HV;
  ta_cuda_attn a = core_of(s, B, T);
  int st;
  /* output projection: dW_out += dout^T ctx, db_out += ones^T dout, dctx = dout W_out */
  if ((st = ta_cuda_gemm(TA_GEMM_TN, dw_out, HV, 0, dout, E, 0, ctx, HV, 0, E, HV, R, 1, 1, msg)) ||
      (st = ta_cuda_bias_grad(db_out, dout, E, R, E, ps, msg)) ||
      (st = ta_cuda_gemm(TA_GEMM_NN, dctx, HV, 0, dout, E, 0, w_out, HV, 0, R, HV, E, 1, 0, msg)))
    return st;
  if ((st = ta_cuda_attn_backward(&a, dqkv, dqkv + HK, dqkv + 2 * HK, NULL, work, dctx, qkv,
                                  qkv + HK, qkv + 2 * HK, core, NULL, ps, msg)))
    return st;
  /* input projection: dW_in += dqkv^T x, db_in += ones^T dqkv, dx = dqkv W_in */
  if ((st = ta_cuda_gemm(TA_GEMM_TN, dw_in, E, 0, dqkv, C, 0, x, E, 0, C, E, R, 1, 1, msg)) ||
      (st = ta_cuda_bias_grad(db_in, dqkv, C, R, C, ps, msg)))
    return st;
  if (dx) return ta_cuda_gemm(TA_GEMM_NN, dx, E, 0, dqkv, C, 0, w_in, E, 0, R, E, C, 1, 0, msg);
  return TA_OK;
}

extern "C" int ta_cuda_mha_weights(const ta_mha_shape *s, float *out, const float *cache, size_t E,
                                   size_t B, size_t T, ta_msg *msg) {
  (void)E;
  ta_cuda_attn a = core_of(s, B, T);
  const float *P = ta_cuda_attn_weights(&a, cache + B * T * (cols_of(s) + hv_of(s)));
  size_t n = B * (size_t)s->heads * T * T;
  return TA_CUDA(cudaMemcpyAsync(out, P, n * sizeof(float), cudaMemcpyDeviceToDevice, 0), msg);
}
