/* Dropout layer (inverted): in training out = in * mask with mask 0 or 1/(1-rate);
 * identity otherwise. cache: mask [B,T,F]. */
#include <string.h>
#include "ta_layer.h"

static int drop_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  if (!(s->rate >= 0.0 && s->rate < 1.0))
    return ta_fail(msg, TA_ERR_ARG, "dropout: rate must be in [0, 1), not %g", s->rate);
  L->cfg.dropout.rate = (float)s->rate;
  L->out_dim = L->in_dim;
  L->keeps_time = 1;
  L->n_params = 0;
  return TA_OK;
}
static size_t drop_cache(const ta_layer *L, size_t B, size_t T) { return B * T * (size_t)L->in_dim; }
static size_t drop_scratch(const ta_layer *L, size_t B, size_t T) { (void)L; (void)B; (void)T; return 0; }
static int drop_n_tensors(const ta_layer *L) { (void)L; return 0; }
static void drop_tensor(const ta_layer *L, int k, ta_tensor_info *info) { (void)L; (void)k; (void)info; }
static void drop_init(const ta_layer *L, float *params, ta_rng *rng) { (void)L; (void)params; (void)rng; }

static void drop_forward(const ta_layer *L, float *out, float *cache, const float *in,
                         const float *params, const ta_pass *ps, size_t B, size_t T) {
  (void)params;
  size_t n = B * T * (size_t)L->in_dim;
  if (ps->training && L->cfg.dropout.rate > 0.0f) {
    ta_dropout_apply(out, cache, in, n, L->cfg.dropout.rate, ps->rng);
  } else {
    memcpy(out, in, n * sizeof(float));
    for (size_t i = 0; i < n; i++) cache[i] = 1.0f;
  }
}

static void drop_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                          const float *dout, const float *in, const float *out,
                          const float *cache, const float *params, const ta_pass *ps,
                          size_t B, size_t T) {
  (void)ps;
  (void)dparams; (void)scratch; (void)in; (void)out; (void)params;
  if (!din) return;
  size_t n = B * T * (size_t)L->in_dim;
  for (size_t i = 0; i < n; i++) din[i] = dout[i] * cache[i];
}

const ta_layer_ops ta_dropout_ops = {
    .kind = "dropout",
    .setup = drop_setup,
    .cache_size = drop_cache,
    .scratch_size = drop_scratch,
    .n_tensors = drop_n_tensors,
    .tensor = drop_tensor,
    .init = drop_init,
    .forward = drop_forward,
    .backward = drop_backward};
