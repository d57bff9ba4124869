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

/* the pieces of a row's statistics, for the CPU's loop below and the GPU's warp per row
 * (ta_norm_cuda.cu), which sums the same terms in another order: a deviation's square, and
 * 1 / sqrt(biased variance + eps) from the sum ss of those squares */
TA_HD double ta_ln_var_term(float x, double m) { return ((double)x - m) * ((double)x - m); }
TA_HD float ta_ln_rstd_of(double ss, size_t F, float eps) {
  double v = ss / (double)F;
  return (float)(1.0 / sqrt(v + (double)eps));
}

/* mean and 1 / sqrt(biased variance + eps) of row x [F]: two passes in double, exact
 * enough that float32 rounding dominates */
TA_HD void ta_ln_row_stats(float *mean, float *rstd, const float *x, size_t F, float eps) {
  double m = 0.0, v = 0.0;
  for (size_t f = 0; f < F; f++) m += x[f];
  m /= (double)F;
  for (size_t f = 0; f < F; f++) v += ta_ln_var_term(x[f], m);
  *mean = (float)m;
  *rstd = ta_ln_rstd_of(v, F, eps);
}

/* the normalised value xhat = (x - mean) * rstd */
TA_HD float ta_ln_xhat(float x, float mu, float rs) { return (x - mu) * rs; }

/* one output element: xhat * gamma + beta */
TA_HD float ta_ln_out(float x, float mu, float rs, float gamma, float beta) {
  return ta_ln_xhat(x, mu, rs) * gamma + beta;
}

/* backward means of row r: with dxhat = dy * gamma, m1 = mean(dxhat) and
 * m2 = mean(dxhat * xhat), each summed in double in index order */
/* the terms of those sums for element f: dxhat and dxhat * xhat */
TA_HD void ta_ln_mean_terms(double *t1, double *t2, float x, float dy, float gamma, float mu,
                            float rs) {
  float xhat = ta_ln_xhat(x, mu, rs);
  float dxhat = dy * gamma;
  *t1 = dxhat;
  *t2 = (double)dxhat * xhat;
}

TA_HD void ta_ln_row_means(float *m1, float *m2, const float *x, const float *dy,
                           const float *gamma, float mu, float rs, size_t F) {
  double s1 = 0.0, s2 = 0.0;
  for (size_t f = 0; f < F; f++) {
    double t1, t2;
    ta_ln_mean_terms(&t1, &t2, x[f], dy[f], gamma[f], mu, rs);
    s1 += t1;
    s2 += t2;
  }
  *m1 = (float)(s1 / (double)F);
  *m2 = (float)(s2 / (double)F);
}

/* one input-gradient element: rstd * (dxhat - m1 - xhat * m2) */
TA_HD float ta_ln_dx(float x, float dy, float gamma, float mu, float rs, float m1, float m2) {
  float xhat = ta_ln_xhat(x, mu, rs);
  return rs * (dy * gamma - m1 - xhat * m2);
}

/* the forward of row r of x [R, F]: mean[r], rstd[r] and row r of y */
TA_HD void ta_ln_forward_row(float *y, float *mean, float *rstd, const float *x,
                             const float *gamma, const float *beta, size_t r, size_t F,
                             float eps) {
  const float *xr = x + r * F;
  float mu, rs;
  ta_ln_row_stats(&mu, &rs, xr, F, eps);
  mean[r] = mu;
  rstd[r] = rs;
  float *yr = y + r * F;
  for (size_t f = 0; f < F; f++) yr[f] = ta_ln_out(xr[f], mu, rs, gamma[f], beta[f]);
}

/* the input gradient of one row, dx [F] (=), from x [F], dy [F] and the row's mean and
 * rstd: dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma */
TA_HD void ta_ln_dx_row(float *dx, const float *x, const float *dy, const float *gamma,
                        float mu, float rs, size_t F) {
  float m1, m2;
  ta_ln_row_means(&m1, &m2, x, dy, gamma, mu, rs, F);
  for (size_t f = 0; f < F; f++) dx[f] = ta_ln_dx(x[f], dy[f], gamma[f], mu, rs, m1, m2);
}

#endif
