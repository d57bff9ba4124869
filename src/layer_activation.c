/* Activation layer: out[B,T,F] = act(in). No parameters, no cache (backward reads in
 * and out). */
#include <string.h>
#include "ta_layer.h"
#include "ta_act.h"
#include "ta_math.h"

static int act_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  if (s->activation < TA_ACT_LINEAR || s->activation > TA_ACT_GELU)
    return ta_fail(msg, TA_ERR_ARG, "activation: unknown code %d", s->activation);
  L->cfg.act.activation = s->activation;
  L->out_dim = L->in_dim;
  L->keeps_time = 1;
  L->n_params = 0;
  return TA_OK;
}
static size_t act_zero(const ta_layer *L, size_t B, size_t T) { (void)L; (void)B; (void)T; return 0; }
static int act_n_tensors(const ta_layer *L) { (void)L; return 0; }
static void act_tensor(const ta_layer *L, int k, ta_tensor_info *info) { (void)L; (void)k; (void)info; }
static void act_init(const ta_layer *L, float *params, ta_rng *rng) { (void)L; (void)params; (void)rng; }

static void act_forward(const ta_layer *L, float *out, float *cache, const float *in,
                        const float *params, const ta_pass *ps, size_t B, size_t T) {
  (void)cache; (void)params; (void)ps;
  size_t n = B * T * (size_t)L->in_dim;
  int a = L->cfg.act.activation;
  ta_act_forward(out, in, n, a);
}

static void act_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                         const float *dout, const float *in, const float *out,
                         const float *cache, const float *params, const ta_pass *ps,
                          size_t B, size_t T) {
  (void)ps;
  (void)dparams; (void)scratch; (void)cache; (void)params;
  if (!din) return;
  size_t n = B * T * (size_t)L->in_dim;
  int a = L->cfg.act.activation;
  ta_act_backward(din, dout, in, out, n, a);
}

const ta_layer_ops ta_activation_ops = {
    .kind = "activation",
    .setup = act_setup,
    .cache_size = act_zero,
    .scratch_size = act_zero,
    .n_tensors = act_n_tensors,
    .tensor = act_tensor,
    .init = act_init,
    .forward = act_forward,
    .backward = act_backward};
