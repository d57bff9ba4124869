/* The layer-norm layer on the GPU (see layer_layer_norm.c for the CPU's): the kernels of
 * ta_norm_cuda.cu (ta_cuda_layernorm_forward/backward) over the B*T rows. Parameters
 * weight [F], bias [F]; cache mean [B*T], rstd [B*T] (the CPU's); scratch dy * xhat
 * [B*T, F]. */
#include "ta_cuda_layer.h"

static size_t ln_cache(const ta_layer *L, size_t B, size_t T) {
  (void)L;
  return 2 * B * T;
}
static size_t ln_scratch(const ta_layer *L, size_t B, size_t T) {
  return B * T * (size_t)L->in_dim;
}

static int ln_forward(const ta_layer *L, float *out, float *cache, const float *in,
                      const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                      ta_msg *msg) {
  (void)ps;
  size_t F = (size_t)L->in_dim, R = B * T;
  return ta_cuda_layernorm_forward(out, cache, cache + R, in, params, params + F, R, F,
                                   L->cfg.norm.eps, msg);
}

static int ln_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                       const float *dout, const float *in, const float *out, const float *cache,
                       const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                       ta_msg *msg) {
  (void)out;
  size_t F = (size_t)L->in_dim, R = B * T;
  return ta_cuda_layernorm_backward(din, dparams, dparams + F, scratch, dout, in, cache,
                                    cache + R, params, R, F, ps, msg);
}

extern "C" const ta_cuda_layer_ops ta_cuda_layer_norm_ops = {ln_cache, ln_scratch, ln_forward,
                                                             ln_backward, NULL};
