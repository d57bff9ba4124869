/* Dropout layer on the GPU (see layer_dropout.c): in training (and rate > 0) inverted
 * dropout with ta_cuda_dropout, its key one ta_rng_next() of the host network's
 * generator per mask (the masks are the counter-based hash's, not the CPU's draws: see
 * ta_dropout_keep in ta_math_train.h); otherwise a copy.
 * cache: mask [B,T,F], as the CPU's. Where the CPU fills the cache with ones outside
 * training, here backward asks the pass instead: the GPU network's pass (training, rate)
 * is the same for a forward and the backward that follows it, so backward multiplies by
 * the mask exactly when forward drew one, and otherwise copies. */
#include "ta_cuda_check.h"
#include "ta_cuda_layer.h"
#include "ta_cuda_ops.h"

static int drop_active(const ta_layer *L, const ta_cuda_pass *ps) {
  return ps->training && L->cfg.dropout.rate > 0.0f;
}

static size_t drop_cache(const ta_layer *L, size_t B, size_t T) {
  return B * T * (size_t)L->in_dim;
}
static size_t drop_scratch(const ta_layer *L, size_t B, size_t T) {
  (void)L; (void)B; (void)T;
  return 0;
}

static int drop_forward(const ta_layer *L, float *out, float *cache, const float *in,
                        const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                        ta_msg *msg) {
  (void)params;
  size_t n = B * T * (size_t)L->in_dim;
  if (drop_active(L, ps))
    return ta_cuda_dropout(out, cache, in, n, L->cfg.dropout.rate, ta_rng_next(ps->rng), msg);
  if (n == 0) return TA_OK;
  return TA_CUDA(cudaMemcpyAsync(out, in, n * sizeof(float), cudaMemcpyDeviceToDevice, 0), msg);
}

static int drop_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                         const float *dout, const float *in, const float *out, const float *cache,
                         const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                         ta_msg *msg) {
  (void)dparams; (void)scratch; (void)in; (void)out; (void)params;
  size_t n = B * T * (size_t)L->in_dim;
  if (!din || n == 0) return TA_OK;
  if (drop_active(L, ps)) return ta_cuda_mul(din, dout, cache, n, msg);
  return TA_CUDA(cudaMemcpyAsync(din, dout, n * sizeof(float), cudaMemcpyDeviceToDevice, 0), msg);
}

extern "C" const ta_cuda_layer_ops ta_cuda_dropout_ops = {drop_cache, drop_scratch, drop_forward,
                                                          drop_backward, NULL};
