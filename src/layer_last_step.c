/* Last step: out[B,1,F] = in[B,T-1,F] (many-to-one). */
#include <string.h>
#include "ta_layer.h"

static int last_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  (void)s; (void)msg;
  L->out_dim = L->in_dim;
  L->keeps_time = 0;
  L->n_params = 0;
  return TA_OK;
}
static size_t last_zero(const ta_layer *L, size_t B, size_t T) { (void)L; (void)B; (void)T; return 0; }
static int last_n_tensors(const ta_layer *L) { (void)L; return 0; }
static void last_tensor(const ta_layer *L, int k, ta_tensor_info *info) { (void)L; (void)k; (void)info; }
static void last_init(const ta_layer *L, float *params, ta_rng *rng) { (void)L; (void)params; (void)rng; }

static void last_forward(const ta_layer *L, float *out, float *cache, const float *in,
                         const float *params, const ta_pass *ps, size_t B, size_t T) {
  (void)cache; (void)params; (void)ps;
  size_t F = (size_t)L->in_dim;
  for (size_t b = 0; b < B; b++) memcpy(out + b * F, in + (b * T + T - 1) * F, F * sizeof(float));
}

static void last_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                          const float *dout, const float *in, const float *out,
                          const float *cache, const float *params, const ta_pass *ps,
                          size_t B, size_t T) {
  (void)ps;
  (void)dparams; (void)scratch; (void)in; (void)out; (void)cache; (void)params;
  if (!din) return;
  size_t F = (size_t)L->in_dim;
  memset(din, 0, B * T * F * sizeof(float));
  for (size_t b = 0; b < B; b++) memcpy(din + (b * T + T - 1) * F, dout + b * F, F * sizeof(float));
}

const ta_layer_ops ta_last_step_ops = {
    .kind = "last_step",
    .setup = last_setup,
    .cache_size = last_zero,
    .scratch_size = last_zero,
    .n_tensors = last_n_tensors,
    .tensor = last_tensor,
    .init = last_init,
    .forward = last_forward,
    .backward = last_backward};
