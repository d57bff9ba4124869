/* Single-head attention (layer_attention.c) on the GPU: the projections Q, K, V through
 * cuBLAS, the attention core of ta_attn_cuda.cu (every score kind, window, causal and
 * padding masks), the projections' gradients as products and ones-vector bias sums.
 * The parameter block is the host's (ta_attn_offsets_of, ta_attn.h).
 * Device cache: Q [B,T,dk], K [B,T,dk], V [B,T,U], then the core's cache (P first).
 * Device scratch: dQ [B,T,dk], dK [B,T,dk], dV [B,T,U], then the core's scratch.
 * last_only is not used: every query row is computed (row T-1 is the CPU's). */
#include "ta_cuda_check.h"
#include "ta_cuda_attn.h"
#include "ta_cuda_ops.h"

static ta_cuda_attn core_of(const ta_layer *L, size_t B, size_t T) {
  const ta_attn_cfg *c = &L->cfg.attn;
  ta_cuda_attn a;
  a.score = c->score;
  a.causal = c->causal;
  a.window = c->window;
  a.B = B;
  a.H = 1;
  a.T = T;
  a.dk = (size_t)c->key_dim;
  a.dv = (size_t)c->units;
  a.ldq = a.ldk = a.dk;
  a.ldv = a.ldo = a.dv;
  a.rate = 0.0f; /* the single-head layer has no dropout on its weights */
  return a;
}

static size_t qkv_floats(const ta_layer *L, size_t B, size_t T) {
  const ta_attn_cfg *c = &L->cfg.attn;
  return B * T * (2 * (size_t)c->key_dim + (size_t)c->units);
}

static size_t attn_cache(const ta_layer *L, size_t B, size_t T) {
  ta_cuda_attn a = core_of(L, B, T);
  return qkv_floats(L, B, T) + ta_cuda_attn_cache_size(&a);
}

static size_t attn_scratch(const ta_layer *L, size_t B, size_t T) {
  ta_cuda_attn a = core_of(L, B, T);
  return qkv_floats(L, B, T) + ta_cuda_attn_scratch_size(&a);
}

/* y [R, N] = x [R, I] W [N, I]^T (+ bias) */
static int project(float *y, const float *x, const float *W, const float *bias, size_t R, size_t N,
                   size_t I, ta_msg *msg) {
  int st = ta_cuda_gemm(TA_GEMM_NT, y, N, 0, x, I, 0, W, I, 0, R, N, I, 1, 0, msg);
  if (!st && bias) st = ta_cuda_add_bias(y, N, bias, NULL, R, N, msg);
  return st;
}

static int attn_forward(const ta_layer *L, float *out, float *cache, const float *in,
                        const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                        ta_msg *msg) {
  const ta_attn_cfg *c = &L->cfg.attn;
  size_t I = (size_t)L->in_dim, D = (size_t)c->key_dim, U = (size_t)c->units, R = B * T;
  ta_attn_offsets o = ta_attn_offsets_of(L);
  float *Q = cache, *K = Q + R * D, *V = K + R * D, *core = V + R * U;
  ta_cuda_attn a = core_of(L, B, T);
  int st;
  if ((st = project(Q, in, params + o.wq, c->bias ? params + o.bq : NULL, R, D, I, msg)) ||
      (st = project(K, in, params + o.wk, c->bias ? params + o.bk : NULL, R, D, I, msg)) ||
      (st = project(V, in, params + o.wv, c->bias ? params + o.bv : NULL, R, U, I, msg)))
    return st;
  return ta_cuda_attn_forward(&a, out, core, Q, K, V, params + o.sw, ps, msg);
}

static int attn_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                         const float *dout, const float *in, const float *out, const float *cache,
                         const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                         ta_msg *msg) {
  (void)out;
  const ta_attn_cfg *c = &L->cfg.attn;
  size_t I = (size_t)L->in_dim, D = (size_t)c->key_dim, U = (size_t)c->units, R = B * T;
  ta_attn_offsets o = ta_attn_offsets_of(L);
  const float *Q = cache, *K = Q + R * D, *V = K + R * D, *core = V + R * U;
  float *dQ = scratch, *dK = dQ + R * D, *dV = dK + R * D, *work = dV + R * U;
  ta_cuda_attn a = core_of(L, B, T);
  int st;
  if ((st = ta_cuda_attn_backward(&a, dQ, dK, dV, dparams + o.sw, work, dout, Q, K, V, core,
                                  params + o.sw, ps, msg)))
    return st;
  /* dW += dY^T x; db += ones^T dY; dx = sum dY W */
  if ((st = ta_cuda_gemm(TA_GEMM_TN, dparams + o.wq, I, 0, dQ, D, 0, in, I, 0, D, I, R, 1, 1, msg)) ||
      (st = ta_cuda_gemm(TA_GEMM_TN, dparams + o.wk, I, 0, dK, D, 0, in, I, 0, D, I, R, 1, 1, msg)) ||
      (st = ta_cuda_gemm(TA_GEMM_TN, dparams + o.wv, I, 0, dV, U, 0, in, I, 0, U, I, R, 1, 1, msg)))
    return st;
  if (c->bias && ((st = ta_cuda_bias_grad(dparams + o.bq, dQ, D, R, D, ps, msg)) ||
                  (st = ta_cuda_bias_grad(dparams + o.bk, dK, D, R, D, ps, msg)) ||
                  (st = ta_cuda_bias_grad(dparams + o.bv, dV, U, R, U, ps, msg))))
    return st;
  if (!din) return TA_OK;
  if ((st = ta_cuda_gemm(TA_GEMM_NN, din, I, 0, dQ, D, 0, params + o.wq, I, 0, R, I, D, 1, 0, msg)) ||
      (st = ta_cuda_gemm(TA_GEMM_NN, din, I, 0, dK, D, 0, params + o.wk, I, 0, R, I, D, 1, 1, msg)))
    return st;
  return ta_cuda_gemm(TA_GEMM_NN, din, I, 0, dV, U, 0, params + o.wv, I, 0, R, I, U, 1, 1, msg);
}

/* out [B, 1, T, T]: P of the last forward */
static int attn_weights(const ta_layer *L, float *out, const float *cache, size_t B, size_t T,
                        ta_msg *msg) {
  ta_cuda_attn a = core_of(L, B, T);
  const float *P = ta_cuda_attn_weights(&a, cache + qkv_floats(L, B, T));
  return TA_CUDA(cudaMemcpyAsync(out, P, B * T * T * sizeof(float), cudaMemcpyDeviceToDevice, 0),
                 msg);
}

extern "C" const ta_cuda_layer_ops ta_cuda_attention_ops = {attn_cache, attn_scratch, attn_forward,
                                                            attn_backward, attn_weights};
