/* Per-row formulas of layer normalisation (ta_norm.h), written once for the CPU
 * (ta_norm.c, which the layer-norm layer and the transformer block call) and the GPU
 * (ta_norm_cuda.cu, a warp per row running the same element formulas), as ta_math.h does
 * for the element-wise formulas. The sums run in double (in index order on the CPU, in
 * a fixed lane order on the GPU), so on both sides a row's mean, rstd and backward means
 * round to the same floats but for the rarest ties (nvcc -fmad=false: no contraction). */
#ifndef TA_NORM_MATH_H
#define TA_NORM_MATH_H

#include <math.h>
#include <stddef.h>
#include "ta_common.h"

/* the pieces of a row's statistics, for the CPU's rows (ta_norm.c) and the GPU's warp per
 * row (ta_norm_cuda.cu), which sums the same terms in another order: a deviation's square,
 * and 1 / sqrt(biased variance + eps) from the sum ss of those squares (the mean's sum in
 * double, divided by F) */
TA_HD double ta_ln_var_term(float x, double m) { return ((double)x - m) * ((double)x - m); }
TA_HD float ta_ln_rstd_of(double ss, size_t F, float eps) {
  double v = ss / (double)F;
  return (float)(1.0 / sqrt(v + (double)eps));
}

/* the normalised value xhat = (x - mean) * rstd */
TA_HD float ta_ln_xhat(float x, float mu, float rs) { return (x - mu) * rs; }

/* one output element: xhat * gamma + beta */
TA_HD float ta_ln_out(float x, float mu, float rs, float gamma, float beta) {
  return ta_ln_xhat(x, mu, rs) * gamma + beta;
}

/* the backward means of a row, with dxhat = dy * gamma: m1 = mean(dxhat) and
 * m2 = mean(dxhat * xhat), each summed in double; the terms of those sums for element f */
TA_HD void ta_ln_mean_terms(double *t1, double *t2, float x, float dy, float gamma, float mu,
                            float rs) {
  float xhat = ta_ln_xhat(x, mu, rs);
  float dxhat = dy * gamma;
  *t1 = dxhat;
  *t2 = (double)dxhat * xhat;
}

/* one input-gradient element: rstd * (dxhat - m1 - xhat * m2) */
TA_HD float ta_ln_dx(float x, float dy, float gamma, float mu, float rs, float m1, float m2) {
  float xhat = ta_ln_xhat(x, mu, rs);
  return rs * (dy * gamma - m1 - xhat * m2);
}

#endif
