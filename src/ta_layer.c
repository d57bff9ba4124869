/* Helpers shared by several layers: initialisation and the dropout mask. */
#include "ta_layer.h"

void ta_fill_uniform(float *p, size_t n, float bound, ta_rng *rng) {
  for (size_t i = 0; i < n; i++) p[i] = (2.0f * ta_rng_uniform(rng) - 1.0f) * bound;
}

void ta_dropout_apply(float *out, float *mask, const float *in, size_t n, float rate,
                      ta_rng *rng) {
  float keep = 1.0f / (1.0f - rate);
  for (size_t i = 0; i < n; i++) {
    mask[i] = ta_rng_uniform(rng) < rate ? 0.0f : keep;
    out[i] = in[i] * mask[i];
  }
}

