/* Activation layer on the GPU (see layer_activation.c): out = act(in) with ta_act
 * (ta_act_cuda.cu). No parameters, no cache. */
#include "ta_cuda_check.h"
#include "ta_cuda_layer.h"
#include "ta_cuda_ops.h"

static size_t act_zero(const ta_layer *L, size_t B, size_t T) {
  (void)L; (void)B; (void)T;
  return 0;
}

static int act_forward(const ta_layer *L, float *out, float *cache, const float *in,
                       const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                       ta_msg *msg) {
  (void)cache; (void)params; (void)ps;
  return ta_cuda_act_forward(out, in, B * T * (size_t)L->in_dim, L->cfg.act.activation, msg);
}

static int act_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                        const float *dout, const float *in, const float *out, const float *cache,
                        const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                        ta_msg *msg) {
  (void)dparams; (void)scratch; (void)cache; (void)params; (void)ps;
  if (!din) return TA_OK;
  return ta_cuda_act_backward(din, dout, in, out, B * T * (size_t)L->in_dim,
                              L->cfg.act.activation, msg);
}

extern "C" const ta_cuda_layer_ops ta_cuda_activation_ops = {act_zero, act_zero, act_forward,
                                                             act_backward};
