/* Dense layer applied at every time step, with an optional fused activation:
 *   z[B,T,U] = x[B,T,I] W[U,I]^T + b[U];  out = act(z)
 * Parameters (PyTorch nn.Linear): weight [U, I], bias [U].
 * cache: z [B,T,U] when the activation is not linear (gelu's derivative needs it).
 * scratch: dz [B,T,U]. */
#include <math.h>
#include <string.h>
#include "ta_layer.h"
#include "ta_act.h"
#include "ta_math.h"
#include "ta_gemm.h"
#include "ta_vec.h"

static int dense_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  if (s->units < 1) return ta_fail(msg, TA_ERR_ARG, "dense: units must be >= 1, not %d", s->units);
  if (s->activation < TA_ACT_LINEAR || s->activation > TA_ACT_GELU)
    return ta_fail(msg, TA_ERR_ARG, "dense: unknown activation code %d", s->activation);
  L->cfg.dense.units = s->units;
  L->cfg.dense.activation = s->activation;
  L->cfg.dense.bias = s->bias ? 1 : 0;
  L->out_dim = s->units;
  L->keeps_time = 1;
  L->n_params = (size_t)s->units * (size_t)L->in_dim + (s->bias ? (size_t)s->units : 0);
  return TA_OK;
}

static size_t dense_cache(const ta_layer *L, size_t B, size_t T) {
  return L->cfg.dense.activation == TA_ACT_LINEAR ? 0 : B * T * (size_t)L->cfg.dense.units;
}
static size_t dense_scratch(const ta_layer *L, size_t B, size_t T) {
  return B * T * (size_t)L->cfg.dense.units;
}
static int dense_n_tensors(const ta_layer *L) { return L->cfg.dense.bias ? 2 : 1; }

static void dense_tensor(const ta_layer *L, int k, ta_tensor_info *info) {
  if (k == 0) {
    strcpy(info->name, "weight");
    info->ndim = 2;
    info->dim[0] = L->cfg.dense.units;
    info->dim[1] = L->in_dim;
  } else {
    strcpy(info->name, "bias");
    info->ndim = 1;
    info->dim[0] = L->cfg.dense.units;
  }
}

static void dense_init(const ta_layer *L, float *params, ta_rng *rng) {
  /* PyTorch: kaiming_uniform(a = sqrt(5)) gives bound 1/sqrt(fan_in) for both */
  float bound = 1.0f / sqrtf((float)L->in_dim);
  ta_fill_uniform(params, L->n_params, bound, rng);
}

static void dense_forward(const ta_layer *L, float *out, float *cache, const float *in,
                          const float *params, const ta_pass *ps, size_t B, size_t T) {
  (void)ps;
  size_t U = (size_t)L->cfg.dense.units, I = (size_t)L->in_dim, R = B * T;
  const float *W = params, *b = params + U * I;
  float *z = L->cfg.dense.activation == TA_ACT_LINEAR ? out : cache;
  ta_gemm_nt(z, U, in, I, W, I, R, U, I, 0);
  if (L->cfg.dense.bias) ta_add_rows(z, U, b, R, U);
  if (L->cfg.dense.activation != TA_ACT_LINEAR) {
    int a = L->cfg.dense.activation;
    ta_act_forward(out, z, R * U, a);
  }
}

static void dense_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                           const float *dout, const float *in, const float *out,
                           const float *cache, const float *params, const ta_pass *ps,
                          size_t B, size_t T) {
  (void)ps;
  size_t U = (size_t)L->cfg.dense.units, I = (size_t)L->in_dim, R = B * T;
  const float *dz = dout;
  if (L->cfg.dense.activation != TA_ACT_LINEAR) {
    int a = L->cfg.dense.activation;
    ta_act_backward(scratch, dout, cache, out, R * U, a);
    dz = scratch;
  }
  ta_gemm_tn(dparams, I, dz, U, in, I, U, I, R, 1);           /* dW[U,I] += dz^T x */
  if (L->cfg.dense.bias) ta_colsum(dparams + U * I, dz, U, R, U, 1); /* db += sum dz */
  if (din) ta_gemm_nn(din, I, dz, U, params, I, R, I, U, 0);   /* dx = dz W */
}

const ta_layer_ops ta_dense_ops = {
    .kind = "dense",
    .setup = dense_setup,
    .cache_size = dense_cache,
    .scratch_size = dense_scratch,
    .n_tensors = dense_n_tensors,
    .tensor = dense_tensor,
    .init = dense_init,
    .forward = dense_forward,
    .backward = dense_backward};
