/* Layer normalisation on the GPU (ta_cuda_layernorm_forward/backward in ta_cuda_layer.h),
 * for the layer-norm layer (layer_layer_norm_cuda.cu) and the transformer block. One warp
 * per row (ta_cuda_warp.h): the lanes read the row with unit stride and run the element
 * formulas of ta_norm_math.h, the ones ta_norm.c runs on the CPU; each row's sums are in
 * double, the lanes' parts added in a fixed order (no atomics, no order that depends on
 * the launch), so they round to the CPU's floats but for the rarest ties. (A thread per
 * row read rows 64 floats apart across a warp: 87 us for one backward of the W4
 * workload's 3200 rows on an H200 (ncu, 2026-12-04), most of a training step's time.)
 * gamma's and beta's gradients are column sums over the rows, as ones^T [dy * xhat] and
 * ones^T dy through cuBLAS (ta_cuda_bias_grad): a fixed order too. */
#include "ta_cuda_check.h"
#include "ta_cuda_layer.h"
#include "ta_cuda_ops.h"
#include "ta_cuda_warp.h"
#include "ta_norm_math.h"

__global__ void ta_ln_forward_kernel(float *y, float *mean, float *rstd, const float *x,
                                     const float *gamma, const float *beta, size_t R, size_t F,
                                     float eps) {
  unsigned lane = ta_lane();
  TA_WARP_ROW_LOOP(r, R) {
    const float *xr = x + r * F;
    double s = 0.0;
    for (size_t f = lane; f < F; f += TA_WARP) s += xr[f];
    double m = ta_warp_sum_d(s) / (double)F;
    double ss = 0.0;
    for (size_t f = lane; f < F; f += TA_WARP) ss += ta_ln_var_term(xr[f], m);
    float mu = (float)m, rs = ta_ln_rstd_of(ta_warp_sum_d(ss), F, eps);
    if (lane == 0) {
      mean[r] = mu;
      rstd[r] = rs;
    }
    float *yr = y + r * F;
    for (size_t f = lane; f < F; f += TA_WARP) yr[f] = ta_ln_out(xr[f], mu, rs, gamma[f], beta[f]);
  }
}

/* per row: dx (when not NULL) and gx = dy * xhat, the terms of gamma's gradient */
__global__ void ta_ln_backward_kernel(float *dx, float *gx, const float *dy, const float *x,
                                      const float *mean, const float *rstd, const float *gamma,
                                      size_t R, size_t F) {
  unsigned lane = ta_lane();
  TA_WARP_ROW_LOOP(r, R) {
    const float *xr = x + r * F, *dyr = dy + r * F;
    float mu = mean[r], rs = rstd[r];
    float *gr = gx + r * F;
    double s1 = 0.0, s2 = 0.0;
    for (size_t f = lane; f < F; f += TA_WARP) {
      gr[f] = dyr[f] * ta_ln_xhat(xr[f], mu, rs);
      double t1, t2;
      ta_ln_mean_terms(&t1, &t2, xr[f], dyr[f], gamma[f], mu, rs);
      s1 += t1;
      s2 += t2;
    }
    if (!dx) continue; /* the same for every lane of the warp */
    float m1 = (float)(ta_warp_sum_d(s1) / (double)F), m2 = (float)(ta_warp_sum_d(s2) / (double)F);
    float *dxr = dx + r * F;
    for (size_t f = lane; f < F; f += TA_WARP)
      dxr[f] = ta_ln_dx(xr[f], dyr[f], gamma[f], mu, rs, m1, m2);
  }
}

extern "C" int ta_cuda_layernorm_forward(float *y, float *mean, float *rstd, const float *x,
                                         const float *gamma, const float *beta, size_t R,
                                         size_t F, float eps, ta_msg *msg) {
  if (R == 0 || F == 0) return TA_OK;
  ta_ln_forward_kernel<<<ta_cuda_warp_blocks(R), TA_CUDA_THREADS>>>(y, mean, rstd, x, gamma, beta, R,
                                                               F, eps);
  return TA_CUDA_LAUNCHED(msg);
}

extern "C" int ta_cuda_layernorm_backward(float *dx, float *dgamma, float *dbeta, float *work,
                                          const float *dy, const float *x, const float *mean,
                                          const float *rstd, const float *gamma, size_t R,
                                          size_t F, const ta_cuda_pass *ps, ta_msg *msg) {
  if (R == 0 || F == 0) return TA_OK;
  int st;
  ta_ln_backward_kernel<<<ta_cuda_warp_blocks(R), TA_CUDA_THREADS>>>(dx, work, dy, x, mean, rstd,
                                                                gamma, R, F);
  if ((st = TA_CUDA_LAUNCHED(msg)) || (st = ta_cuda_bias_grad(dgamma, work, F, R, F, ps, msg)))
    return st;
  return ta_cuda_bias_grad(dbeta, dy, F, R, F, ps, msg);
}
