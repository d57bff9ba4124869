/* Positional encoding on the GPU (see layer_positional_encoding.c): out = dropout(in +
 * P[0:T, :]) with P the sinusoidal table (ta_posenc_value of ta_posenc.h, the CPU's
 * formula, one thread per entry, recomputed every forward as on the CPU) or the learned
 * weight [max_len, F]. Dropout in training (rate > 0) is ta_cuda_dropout with one
 * ta_rng_next() of the host generator as its key (GPU masks are the counter-based hash's,
 * not the CPU's draws). Backward: din = dout * mask (or dout), and the learned table's
 * gradient dP[t, f] += the same products summed over the batch in order b = 0, 1, ...
 * (one thread per (t, f): the CPU's order, no atomics).
 * cache: mask [B,T,F], then (sinusoidal) the table P [T,F]: the CPU's layout without its
 * flag, since backward asks the pass whether forward drew a mask (the GPU network's
 * pass does not change between a forward and its backward). */
#include "ta_cuda_check.h"
#include "ta_cuda_layer.h"
#include "ta_cuda_ops.h"
#include "ta_posenc.h"

__global__ void ta_posenc_table_kernel(float *P, size_t T, size_t F) {
  size_t n = T * F;
  for (size_t j = blockIdx.x * (size_t)blockDim.x + threadIdx.x; j < n;
       j += (size_t)blockDim.x * gridDim.x)
    P[j] = ta_posenc_value(j / F, j % F, F);
}

/* out[b, t, f] = in[b, t, f] + P[t, f] over n = B * TF elements */
__global__ void ta_posenc_add_kernel(float *out, const float *in, const float *P, size_t n,
                                     size_t TF) {
  for (size_t j = blockIdx.x * (size_t)blockDim.x + threadIdx.x; j < n;
       j += (size_t)blockDim.x * gridDim.x)
    out[j] = in[j] + P[j % TF];
}

/* per (t, f) = j < TF: v_b = dout[b, j] (* mask[b, j]); din[b, j] = v_b when din is not
 * NULL; dP[j] += v_0 + v_1 + ... in that order when dP is not NULL */
__global__ void ta_posenc_backward_kernel(float *din, float *dP, const float *dout,
                                          const float *mask, size_t B, size_t TF) {
  for (size_t j = blockIdx.x * (size_t)blockDim.x + threadIdx.x; j < TF;
       j += (size_t)blockDim.x * gridDim.x) {
    float acc = dP ? dP[j] : 0.0f;
    for (size_t b = 0; b < B; b++) {
      size_t e = b * TF + j;
      float v = mask ? dout[e] * mask[e] : dout[e];
      if (din) din[e] = v;
      acc += v;
    }
    if (dP) dP[j] = acc;
  }
}

static int posenc_active(const ta_layer *L, const ta_cuda_pass *ps) {
  return ps->training && L->cfg.posenc.rate > 0.0f;
}

static size_t posenc_cache(const ta_layer *L, size_t B, size_t T) {
  size_t F = (size_t)L->in_dim;
  return B * T * F + (L->cfg.posenc.type == TA_POSENC_SINUSOIDAL ? T * F : 0);
}
static size_t posenc_scratch(const ta_layer *L, size_t B, size_t T) {
  (void)L; (void)B; (void)T;
  return 0;
}

static int posenc_forward(const ta_layer *L, float *out, float *cache, const float *in,
                          const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                          ta_msg *msg) {
  size_t F = (size_t)L->in_dim, TF = T * F, n = B * TF;
  float *mask = cache;
  const float *P = params;
  int st;
  if (n == 0) return TA_OK;
  if (L->cfg.posenc.type == TA_POSENC_SINUSOIDAL) {
    float *table = mask + n;
    ta_posenc_table_kernel<<<ta_cuda_blocks(TF), TA_CUDA_THREADS>>>(table, T, F);
    if ((st = TA_CUDA_LAUNCHED(msg))) return st;
    P = table;
  }
  ta_posenc_add_kernel<<<ta_cuda_blocks(n), TA_CUDA_THREADS>>>(out, in, P, n, TF);
  if ((st = TA_CUDA_LAUNCHED(msg))) return st;
  if (posenc_active(L, ps))
    return ta_cuda_dropout(out, mask, out, n, L->cfg.posenc.rate, ta_rng_next(ps->rng), msg);
  return TA_OK;
}

static int posenc_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                           const float *dout, const float *in, const float *out,
                           const float *cache, const float *params, const ta_cuda_pass *ps,
                           size_t B, size_t T, ta_msg *msg) {
  (void)scratch; (void)in; (void)out; (void)params;
  size_t F = (size_t)L->in_dim, TF = T * F;
  const float *mask = posenc_active(L, ps) ? cache : NULL;
  /* rows of the learned table past T get nothing */
  float *dP = L->cfg.posenc.type == TA_POSENC_LEARNED ? dparams : NULL;
  if ((!din && !dP) || B == 0 || TF == 0) return TA_OK;
  ta_posenc_backward_kernel<<<ta_cuda_blocks(TF), TA_CUDA_THREADS>>>(din, dP, dout, mask, B, TF);
  return TA_CUDA_LAUNCHED(msg);
}

extern "C" const ta_cuda_layer_ops ta_cuda_posenc_ops = {posenc_cache, posenc_scratch,
                                                         posenc_forward, posenc_backward, NULL};
