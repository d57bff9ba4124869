/* Layer normalisation on the CPU: the row formulas of ta_norm_math.h (which the GPU's
 * norm_cuda.cu runs too) in loops over rows. */
#include "ta_norm.h"
#include "ta_norm_math.h"

void ta_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                          const float *beta, size_t R, size_t F, float eps) {
  for (size_t r = 0; r < R; r++) {
    const float *xr = x + r * F;
    float mu, rs;
    ta_ln_row_stats(&mu, &rs, xr, F, eps);
    mean[r] = mu;
    rstd[r] = rs;
    float *yr = y + r * F;
    for (size_t f = 0; f < F; f++) yr[f] = ta_ln_out(xr[f], mu, rs, gamma[f], beta[f]);
  }
}

void ta_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
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
    if (!dx) continue;
    /* dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma */
    float m1, m2;
    ta_ln_row_means(&m1, &m2, xr, dyr, gamma, mu, rs, F);
    float *dxr = dx + r * F;
    for (size_t f = 0; f < F; f++) dxr[f] = ta_ln_dx(xr[f], dyr[f], gamma[f], mu, rs, m1, m2);
  }
}
