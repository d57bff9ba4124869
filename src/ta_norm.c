#include <math.h>
#include "ta_norm.h"

void ta_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                          const float *beta, size_t R, size_t F, float eps) {
  for (size_t r = 0; r < R; r++) {
    const float *xr = x + r * F;
    /* two passes in double: exact enough that float32 rounding dominates */
    double m = 0.0, v = 0.0;
    for (size_t f = 0; f < F; f++) m += xr[f];
    m /= (double)F;
    for (size_t f = 0; f < F; f++) v += ((double)xr[f] - m) * ((double)xr[f] - m);
    v /= (double)F;
    float mu = (float)m, rs = (float)(1.0 / sqrt(v + (double)eps));
    mean[r] = mu;
    rstd[r] = rs;
    float *yr = y + r * F;
    for (size_t f = 0; f < F; f++) yr[f] = (xr[f] - mu) * rs * gamma[f] + beta[f];
  }
}

void ta_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *x, const float *mean, const float *rstd,
                           const float *gamma, size_t R, size_t F) {
  for (size_t r = 0; r < R; r++) {
    const float *xr = x + r * F, *dyr = dy + r * F;
    float mu = mean[r], rs = rstd[r];
    /* dxhat = dy * gamma; dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) */
    double s1 = 0.0, s2 = 0.0;
    for (size_t f = 0; f < F; f++) {
      float xhat = (xr[f] - mu) * rs;
      float dxhat = dyr[f] * gamma[f];
      s1 += dxhat;
      s2 += (double)dxhat * xhat;
      dgamma[f] += dyr[f] * xhat;
      dbeta[f] += dyr[f];
    }
    if (!dx) continue;
    float m1 = (float)(s1 / (double)F), m2 = (float)(s2 / (double)F);
    float *dxr = dx + r * F;
    for (size_t f = 0; f < F; f++) {
      float xhat = (xr[f] - mu) * rs;
      dxr[f] = rs * (dyr[f] * gamma[f] - m1 - xhat * m2);
    }
  }
}
