/* Layer normalisation on the CPU: the formulas of ta_norm_math.h (which the GPU's
 * ta_norm_cuda.cu runs too) in loops over rows, with an AVX2 clone each (ta_simd.h: the
 * element-wise loops vectorise, the sums in double stay in index order, the same
 * roundings).
 *
 * A row's sums in double are chains of dependent additions (64 features: 64 additions
 * one after the other, twice), which bounded the whole loop. The rows are therefore
 * summed LN_ROWS at a time, their chains interleaved: each row still adds its terms in
 * index order, so every row's numbers are those of a row summed alone, while the core
 * overlaps the rows' additions. */
#include "ta_simd.h" /* first: see there */
#include "ta_norm.h"
#include "ta_norm_math.h"

#define LN_ROWS 4

/* mean and rstd of the n <= LN_ROWS rows x [n, F]: two passes in double, exact enough
 * that float32 rounding dominates */
static inline void ln_stats_rows(float *mean, float *rstd, const float *x, size_t n, size_t F,
                                 float eps) {
  double m[LN_ROWS] = {0.0}, v[LN_ROWS] = {0.0};
  for (size_t f = 0; f < F; f++)
    for (size_t l = 0; l < n; l++) m[l] += x[l * F + f];
  for (size_t l = 0; l < n; l++) m[l] /= (double)F;
  for (size_t f = 0; f < F; f++)
    for (size_t l = 0; l < n; l++) v[l] += ta_ln_var_term(x[l * F + f], m[l]);
  for (size_t l = 0; l < n; l++) {
    mean[l] = (float)m[l];
    rstd[l] = ta_ln_rstd_of(v[l], F, eps);
  }
}

/* the backward means of the n <= LN_ROWS rows x, dy [n, F] with their mean and rstd:
 * with dxhat = dy * gamma, m1 = mean(dxhat) and m2 = mean(dxhat * xhat) */
static inline void ln_means_rows(float *m1, float *m2, const float *x, const float *dy,
                                 const float *gamma, const float *mu, const float *rs, size_t n,
                                 size_t F) {
  double s1[LN_ROWS] = {0.0}, s2[LN_ROWS] = {0.0};
  for (size_t f = 0; f < F; f++)
    for (size_t l = 0; l < n; l++) {
      double t1, t2;
      ta_ln_mean_terms(&t1, &t2, x[l * F + f], dy[l * F + f], gamma[f], mu[l], rs[l]);
      s1[l] += t1;
      s2[l] += t2;
    }
  for (size_t l = 0; l < n; l++) {
    m1[l] = (float)(s1[l] / (double)F);
    m2[l] = (float)(s2[l] / (double)F);
  }
}

TA_SIMD_CLONES TA_FLATTEN void ta_layernorm_forward(float *y, float *mean, float *rstd,
                                                    const float *x, const float *gamma,
                                                    const float *beta, size_t R, size_t F,
                                                    float eps) {
  for (size_t r = 0; r < R; r += LN_ROWS) {
    size_t n = R - r < LN_ROWS ? R - r : LN_ROWS;
    ln_stats_rows(mean + r, rstd + r, x + r * F, n, F, eps);
    for (size_t l = 0; l < n; l++) {
      const float *xr = x + (r + l) * F;
      float *yr = y + (r + l) * F, mu = mean[r + l], rs = rstd[r + l];
      for (size_t f = 0; f < F; f++) yr[f] = ta_ln_out(xr[f], mu, rs, gamma[f], beta[f]);
    }
  }
}

TA_SIMD_CLONES TA_FLATTEN void ta_layernorm_backward(float *dx, float *dgamma, float *dbeta,
                                                     const float *dy, const float *x,
                                                     const float *mean, const float *rstd,
                                                     const float *gamma, size_t R, size_t F) {
  for (size_t r = 0; r < R; r += LN_ROWS) {
    size_t n = R - r < LN_ROWS ? R - r : LN_ROWS;
    /* dgamma += dy * xhat, dbeta += dy, summed over the rows in order */
    for (size_t l = 0; l < n; l++) {
      const float *xr = x + (r + l) * F, *dyr = dy + (r + l) * F;
      float mu = mean[r + l], rs = rstd[r + l];
      for (size_t f = 0; f < F; f++) {
        dgamma[f] += dyr[f] * ta_ln_xhat(xr[f], mu, rs);
        dbeta[f] += dyr[f];
      }
    }
    if (!dx) continue;
    /* dx = rstd * (dxhat - m1 - xhat * m2) */
    float m1[LN_ROWS], m2[LN_ROWS];
    ln_means_rows(m1, m2, x + r * F, dy + r * F, gamma, mean + r, rstd + r, n, F);
    for (size_t l = 0; l < n; l++) {
      const float *xr = x + (r + l) * F, *dyr = dy + (r + l) * F;
      float *dxr = dx + (r + l) * F, mu = mean[r + l], rs = rstd[r + l];
      for (size_t f = 0; f < F; f++)
        dxr[f] = ta_ln_dx(xr[f], dyr[f], gamma[f], mu, rs, m1[l], m2[l]);
    }
  }
}
