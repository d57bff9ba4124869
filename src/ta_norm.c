/* Layer normalisation on the CPU: the row formulas of ta_norm_math.h (which the GPU's
 * ta_norm_cuda.cu runs too) in loops over rows, with an AVX2 clone each (ta_simd.h: the
 * element-wise loops vectorise, the sums in double stay in index order, the same
 * roundings).
 *
 * A row's sums in double are chains of dependent additions (64 features: 64 additions
 * one after the other, twice), which bounded the whole loop. LN_ROWS rows are therefore
 * summed together, their chains interleaved: each row still adds its terms in index
 * order, exactly as ta_ln_row_stats and ta_ln_row_means do, so every row's numbers are
 * the same, while the core overlaps the rows' additions. */
#include "ta_simd.h" /* first: see there */
#include "ta_norm.h"
#include "ta_norm_math.h"

#define LN_ROWS 4

/* ta_ln_row_stats of the LN_ROWS rows x [LN_ROWS, F] */
static inline void ln_stats_rows(float *mean, float *rstd, const float *x, size_t F, float eps) {
  double m[LN_ROWS] = {0.0}, v[LN_ROWS] = {0.0};
  for (size_t f = 0; f < F; f++)
    for (size_t l = 0; l < LN_ROWS; l++) m[l] += x[l * F + f];
  for (size_t l = 0; l < LN_ROWS; l++) m[l] /= (double)F;
  for (size_t f = 0; f < F; f++)
    for (size_t l = 0; l < LN_ROWS; l++) v[l] += ta_ln_var_term(x[l * F + f], m[l]);
  for (size_t l = 0; l < LN_ROWS; l++) {
    mean[l] = (float)m[l];
    rstd[l] = ta_ln_rstd_of(v[l], F, eps);
  }
}

/* ta_ln_row_means of the LN_ROWS rows x, dy [LN_ROWS, F] with their mean and rstd */
static inline void ln_means_rows(float *m1, float *m2, const float *x, const float *dy,
                                 const float *gamma, const float *mu, const float *rs, size_t F) {
  double s1[LN_ROWS] = {0.0}, s2[LN_ROWS] = {0.0};
  for (size_t f = 0; f < F; f++)
    for (size_t l = 0; l < LN_ROWS; l++) {
      double t1, t2;
      ta_ln_mean_terms(&t1, &t2, x[l * F + f], dy[l * F + f], gamma[f], mu[l], rs[l]);
      s1[l] += t1;
      s2[l] += t2;
    }
  for (size_t l = 0; l < LN_ROWS; l++) {
    m1[l] = (float)(s1[l] / (double)F);
    m2[l] = (float)(s2[l] / (double)F);
  }
}

TA_SIMD_CLONES TA_FLATTEN void ta_layernorm_forward(float *y, float *mean, float *rstd,
                                                    const float *x, const float *gamma,
                                                    const float *beta, size_t R, size_t F,
                                                    float eps) {
  size_t r = 0;
  for (; r + LN_ROWS <= R; r += LN_ROWS) {
    ln_stats_rows(mean + r, rstd + r, x + r * F, F, eps);
    for (size_t l = 0; l < LN_ROWS; l++) {
      const float *xr = x + (r + l) * F;
      float *yr = y + (r + l) * F, mu = mean[r + l], rs = rstd[r + l];
      for (size_t f = 0; f < F; f++) yr[f] = ta_ln_out(xr[f], mu, rs, gamma[f], beta[f]);
    }
  }
  for (; r < R; r++) ta_ln_forward_row(y, mean, rstd, x, gamma, beta, r, F, eps);
}

/* dgamma += dy * xhat, dbeta += dy for row r (the rows in order) */
static inline void ln_param_grads(float *dgamma, float *dbeta, const float *xr,
                                  const float *dyr, float mu, float rs, size_t F) {
  for (size_t f = 0; f < F; f++) {
    dgamma[f] += dyr[f] * ta_ln_xhat(xr[f], mu, rs);
    dbeta[f] += dyr[f];
  }
}

TA_SIMD_CLONES TA_FLATTEN void ta_layernorm_backward(float *dx, float *dgamma, float *dbeta,
                                                     const float *dy, const float *x,
                                                     const float *mean, const float *rstd,
                                                     const float *gamma, size_t R, size_t F) {
  size_t r = 0;
  for (; r + LN_ROWS <= R; r += LN_ROWS) {
    for (size_t l = 0; l < LN_ROWS; l++)
      ln_param_grads(dgamma, dbeta, x + (r + l) * F, dy + (r + l) * F, mean[r + l],
                     rstd[r + l], F);
    if (!dx) continue;
    float m1[LN_ROWS], m2[LN_ROWS];
    ln_means_rows(m1, m2, x + r * F, dy + r * F, gamma, mean + r, rstd + r, F);
    for (size_t l = 0; l < LN_ROWS; l++) {
      const float *xr = x + (r + l) * F, *dyr = dy + (r + l) * F;
      float *dxr = dx + (r + l) * F, mu = mean[r + l], rs = rstd[r + l];
      for (size_t f = 0; f < F; f++)
        dxr[f] = ta_ln_dx(xr[f], dyr[f], gamma[f], mu, rs, m1[l], m2[l]);
    }
  }
  for (; r < R; r++) {
    const float *xr = x + r * F, *dyr = dy + r * F;
    ln_param_grads(dgamma, dbeta, xr, dyr, mean[r], rstd[r], F);
    if (dx) ta_ln_dx_row(dx + r * F, xr, dyr, gamma, mean[r], rstd[r], F);
  }
}
