/* Dense layer on the GPU (see layer_dense.c for the CPU's): z = x W^T + b through cuBLAS,
 * the activation with ta_act/ta_act_grad (ta_act_cuda.cu), the bias gradient as ones^T dz.
 * cache: z [B,T,U] when the activation is not linear; scratch: dz [B,T,U]. */
#include "ta_cuda_check.h"
#include "ta_cuda_layer.h"
#include "ta_cuda_ops.h"
#include "ta_math.h"

static size_t dense_cache(const ta_layer *L, size_t B, size_t T) {
  return L->cfg.dense.activation == TA_ACT_LINEAR ? 0 : B * T * (size_t)L->cfg.dense.units;
}
static size_t dense_scratch(const ta_layer *L, size_t B, size_t T) {
  return B * T * (size_t)L->cfg.dense.units;
}

static int dense_forward(const ta_layer *L, float *out, float *cache, const float *in,
                         const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                         ta_msg *msg) {
  (void)ps;
  size_t U = (size_t)L->cfg.dense.units, I = (size_t)L->in_dim, R = B * T;
  const float *W = params, *b = params + U * I;
  int a = L->cfg.dense.activation, st;
  float *z = a == TA_ACT_LINEAR ? out : cache;
  /* z[R, U] = x[R, I] W[U, I]^T */
  if ((st = ta_cuda_gemm(TA_GEMM_NT, z, U, 0, in, I, 0, W, I, 0, R, U, I, 1, 0, msg))) return st;
  if (L->cfg.dense.bias && (st = ta_cuda_add_bias(z, U, b, NULL, R, U, msg))) return st;
  if (a != TA_ACT_LINEAR) return ta_cuda_act_forward(out, z, R * U, a, msg);
  return TA_OK;
}

static int dense_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                          const float *dout, const float *in, const float *out,
                          const float *cache, const float *params, const ta_cuda_pass *ps,
                          size_t B, size_t T, ta_msg *msg) {
  size_t U = (size_t)L->cfg.dense.units, I = (size_t)L->in_dim, R = B * T;
  int a = L->cfg.dense.activation, st;
  const float *dz = dout;
  if (a != TA_ACT_LINEAR) {
    if ((st = ta_cuda_act_backward(scratch, dout, cache, out, R * U, a, msg))) return st;
    dz = scratch;
  }
  /* dW[U, I] += dz[R, U]^T x[R, I] */
  if ((st = ta_cuda_gemm(TA_GEMM_TN, dparams, I, 0, dz, U, 0, in, I, 0, U, I, R, 1, 1, msg)))
    return st;
  if (L->cfg.dense.bias && (st = ta_cuda_bias_grad(dparams + U * I, dz, U, R, U, ps, msg)))
    return st;
  /* dx[R, I] = dz[R, U] W[U, I] */
  if (din) return ta_cuda_gemm(TA_GEMM_NN, din, I, 0, dz, U, 0, params, I, 0, R, I, U, 1, 0, msg);
  return TA_OK;
}

extern "C" const ta_cuda_layer_ops ta_cuda_dense_ops = {dense_cache, dense_scratch, dense_forward,
                                                        dense_backward};
