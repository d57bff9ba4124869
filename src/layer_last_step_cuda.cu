/* Last step on the GPU (see layer_last_step.c): out[B,1,F] = in[B,T-1,F], a strided
 * copy; backward zeroes din and puts dout at step T-1. */
#include "ta_cuda_check.h"
#include "ta_cuda_layer.h"

static size_t last_zero(const ta_layer *L, size_t B, size_t T) {
  (void)L; (void)B; (void)T;
  return 0;
}

static int last_forward(const ta_layer *L, float *out, float *cache, const float *in,
                        const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                        ta_msg *msg) {
  (void)cache; (void)params; (void)ps;
  size_t F = (size_t)L->in_dim;
  return ta_cuda_copy_rows(out, F, in + (T - 1) * F, T * F, F, B, msg);
}

static int last_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                         const float *dout, const float *in, const float *out, const float *cache,
                         const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                         ta_msg *msg) {
  (void)dparams; (void)scratch; (void)in; (void)out; (void)cache; (void)params; (void)ps;
  if (!din) return TA_OK;
  size_t F = (size_t)L->in_dim;
  int st = ta_cuda_zero(din, B * T * F, msg);
  if (st) return st;
  return ta_cuda_copy_rows(din + (T - 1) * F, T * F, dout, F, F, B, msg);
}

extern "C" const ta_cuda_layer_ops ta_cuda_last_step_ops = {last_zero, last_zero, last_forward,
                                                            last_backward};
