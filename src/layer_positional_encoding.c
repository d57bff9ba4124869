/* Positional encoding: out = dropout(in + P[0:T, :]) with inverted dropout in training.
 * P is the sinusoidal table (ta_posenc_table, the same numbers as positional_encoding()
 * in R; no parameters) or a learned table, parameter weight [max_len, F] initialised
 * from N(0, 0.02^2). Sequences longer than max_len are refused by out_time (0), so the
 * table is never read past its end.
 * cache: flag [1] (1 when a dropout mask was drawn), mask [B,T,F], and for the
 *        sinusoidal variant the table P [T,F] (recomputed every forward: it is cheap).
 * scratch: none. */
#include <math.h>
#include <string.h>
#include "ta_layer.h"
#include "ta_posenc.h"

static int posenc_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  if (s->encoding != TA_POSENC_SINUSOIDAL && s->encoding != TA_POSENC_LEARNED)
    return ta_fail(msg, TA_ERR_ARG, "positional_encoding: unknown encoding code %d", s->encoding);
  if (s->max_len < 1)
    return ta_fail(msg, TA_ERR_ARG, "positional_encoding: max_len must be >= 1, not %d",
                   s->max_len);
  if (!(s->rate >= 0.0 && s->rate < 1.0))
    return ta_fail(msg, TA_ERR_ARG, "positional_encoding: dropout must be in [0, 1), not %g",
                   s->rate);
  L->cfg.posenc.type = s->encoding;
  L->cfg.posenc.max_len = s->max_len;
  L->cfg.posenc.rate = (float)s->rate;
  L->out_dim = L->in_dim;
  L->keeps_time = 1;
  L->n_params = s->encoding == TA_POSENC_LEARNED ? (size_t)s->max_len * (size_t)L->in_dim : 0;
  return TA_OK;
}

static size_t posenc_out_time(const ta_layer *L, size_t T) {
  return T > (size_t)L->cfg.posenc.max_len ? 0 : T;
}

static size_t posenc_cache(const ta_layer *L, size_t B, size_t T) {
  size_t F = (size_t)L->in_dim;
  return 1 + B * T * F + (L->cfg.posenc.type == TA_POSENC_SINUSOIDAL ? T * F : 0);
}
static size_t posenc_scratch(const ta_layer *L, size_t B, size_t T) {
  (void)L; (void)B; (void)T;
  return 0;
}
static int posenc_n_tensors(const ta_layer *L) {
  return L->cfg.posenc.type == TA_POSENC_LEARNED ? 1 : 0;
}

static void posenc_tensor(const ta_layer *L, int k, ta_tensor_info *info) {
  (void)k;
  strcpy(info->name, "weight");
  info->ndim = 2;
  info->dim[0] = L->cfg.posenc.max_len;
  info->dim[1] = L->in_dim;
}

/* standard normal by Box-Muller from two uniforms in [0, 1); 1 - u keeps log() finite */
static void fill_normal(float *p, size_t n, float sd, ta_rng *rng) {
  const double two_pi = 6.28318530717958647692;
  for (size_t i = 0; i < n; i += 2) {
    double u1 = 1.0 - (double)ta_rng_uniform(rng), u2 = (double)ta_rng_uniform(rng);
    double r = sqrt(-2.0 * log(u1));
    p[i] = (float)(sd * r * cos(two_pi * u2));
    if (i + 1 < n) p[i + 1] = (float)(sd * r * sin(two_pi * u2));
  }
}

static void posenc_init(const ta_layer *L, float *params, ta_rng *rng) {
  if (L->cfg.posenc.type == TA_POSENC_LEARNED) fill_normal(params, L->n_params, 0.02f, rng);
}

static void posenc_forward(const ta_layer *L, float *out, float *cache, const float *in,
                           const float *params, const ta_pass *ps, size_t B, size_t T) {
  size_t F = (size_t)L->in_dim, TF = T * F, n = B * TF;
  float *mask = cache + 1;
  const float *P = params;
  if (L->cfg.posenc.type == TA_POSENC_SINUSOIDAL) {
    float *table = mask + n;
    ta_posenc_table(table, T, F);
    P = table;
  }
  for (size_t b = 0; b < B; b++) {
    const float *x = in + b * TF;
    float *o = out + b * TF;
    for (size_t j = 0; j < TF; j++) o[j] = x[j] + P[j];
  }
  if (ps->training && L->cfg.posenc.rate > 0.0f) {
    ta_dropout_apply(out, mask, out, n, L->cfg.posenc.rate, ps->rng);
    cache[0] = 1.0f;
  } else {
    cache[0] = 0.0f;
  }
}

static void posenc_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                            const float *dout, const float *in, const float *out,
                            const float *cache, const float *params, const ta_pass *ps,
                            size_t B, size_t T) {
  (void)scratch; (void)in; (void)out; (void)params; (void)ps;
  size_t F = (size_t)L->in_dim, TF = T * F, n = B * TF;
  int masked = cache[0] != 0.0f;
  const float *mask = cache + 1;
  if (din) {
    if (masked)
      for (size_t j = 0; j < n; j++) din[j] = dout[j] * mask[j];
    else
      memcpy(din, dout, n * sizeof(float));
  }
  if (L->cfg.posenc.type == TA_POSENC_LEARNED) {
    /* dP[t, f] += sum over the batch; rows past T get nothing */
    for (size_t b = 0; b < B; b++) {
      const float *d = dout + b * TF;
      if (masked) {
        const float *m = mask + b * TF;
        for (size_t j = 0; j < TF; j++) dparams[j] += d[j] * m[j];
      } else {
        for (size_t j = 0; j < TF; j++) dparams[j] += d[j];
      }
    }
  }
}

const ta_layer_ops ta_posenc_ops = {
    .kind = "positional_encoding",
    .setup = posenc_setup,
    .out_time = posenc_out_time,
    .cache_size = posenc_cache,
    .scratch_size = posenc_scratch,
    .n_tensors = posenc_n_tensors,
    .tensor = posenc_tensor,
    .init = posenc_init,
    .forward = posenc_forward,
    .backward = posenc_backward};
