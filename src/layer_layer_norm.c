/* Layer norm layer (nn.LayerNorm(F)): parameters weight [F] (ones), bias [F] (zeros).
 * cache: mean [B*T], rstd [B*T]. */
#include <string.h>
#include "ta_layer.h"
#include "ta_norm.h"

static int ln_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  if (!(s->eps > 0.0)) return ta_fail(msg, TA_ERR_ARG, "layer_norm: eps must be > 0, not %g", s->eps);
  L->cfg.norm.eps = (float)s->eps;
  L->out_dim = L->in_dim;
  L->keeps_time = 1;
  L->n_params = 2 * (size_t)L->in_dim;
  return TA_OK;
}
static size_t ln_cache(const ta_layer *L, size_t B, size_t T) { (void)L; return 2 * B * T; }
static size_t ln_scratch(const ta_layer *L, size_t B, size_t T) { (void)L; (void)B; (void)T; return 0; }
static int ln_n_tensors(const ta_layer *L) { (void)L; return 2; }
static void ln_tensor(const ta_layer *L, int k, ta_tensor_info *info) {
  strcpy(info->name, k == 0 ? "weight" : "bias");
  info->ndim = 1;
  info->dim[0] = L->in_dim;
}
static void ln_init(const ta_layer *L, float *params, ta_rng *rng) {
  (void)rng;
  size_t F = (size_t)L->in_dim;
  for (size_t f = 0; f < F; f++) {
    params[f] = 1.0f;
    params[F + f] = 0.0f;
  }
}
static void ln_forward(const ta_layer *L, float *out, float *cache, const float *in,
                       const float *params, const ta_pass *ps, size_t B, size_t T) {
  (void)ps;
  size_t F = (size_t)L->in_dim, R = B * T;
  ta_layernorm_forward(out, cache, cache + R, in, params, params + F, R, F, L->cfg.norm.eps);
}
static void ln_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                        const float *dout, const float *in, const float *out, const float *cache,
                        const float *params, const ta_pass *ps, size_t B, size_t T) {
  (void)scratch; (void)out; (void)ps;
  size_t F = (size_t)L->in_dim, R = B * T;
  ta_layernorm_backward(din, dparams, dparams + F, dout, in, cache, cache + R, params, R, F);
}

const ta_layer_ops ta_layer_norm_ops = {
    .kind = "layer_norm",
    .setup = ln_setup,
    .cache_size = ln_cache,
    .scratch_size = ln_scratch,
    .n_tensors = ln_n_tensors,
    .tensor = ln_tensor,
    .init = ln_init,
    .forward = ln_forward,
    .backward = ln_backward};
