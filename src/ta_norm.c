/* Layer normalisation on the CPU: the row formulas of ta_norm_math.h (which the GPU's
 * ta_norm_cuda.cu runs too) in loops over rows, with an AVX2 clone each (ta_simd.h: the
 * element-wise loops vectorise, the sums in double stay in index order, the same
 * roundings). */
#include "ta_simd.h" /* first: see there */
#include "ta_norm.h"
#include "ta_norm_math.h"

TA_SIMD_CLONES TA_FLATTEN void ta_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                          const float *beta, size_t R, size_t F, float eps) {
  for (size_t r = 0; r < R; r++) ta_ln_forward_row(y, mean, rstd, x, gamma, beta, r, F, eps);
}

TA_SIMD_CLONES TA_FLATTEN void ta_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *x, const float *mean, const float *rstd,
                           const float *gamma, size_t R, size_t F) {
  for (size_t r = 0; r < R; r++) {
    const float *xr = x + r * F, *dyr = dy + r * F;
    float mu = mean[r], rs = rstd[r];
    /* dgamma += dy * xhat, dbeta += dy, summed over the rows in order */
    for (size_t f = 0; f < F; f++) {
      dgamma[f] += dyr[f] * ta_ln_xhat(xr[f], mu, rs);
      dbeta[f] += dyr[f];
    }
    if (dx) ta_ln_dx_row(dx + r * F, xr, dyr, gamma, mu, rs, F);
  }
}
