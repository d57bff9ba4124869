/* Layer normalisation over the last dimension, shared by the layer-norm layer and the
 * transformer block. Per row r of x [R, F]:
 *   mean[r], rstd[r] = 1 / sqrt(var[r] + eps)   (biased variance, as PyTorch)
 *   y = (x - mean) * rstd * gamma + beta
 * mean and rstd [R] are kept for backward. */
#ifndef TA_NORM_H
#define TA_NORM_H

#include <stddef.h>

void ta_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                          const float *beta, size_t R, size_t F, float eps);
/* dx [R, F] (=, may be NULL), dgamma [F] +=, dbeta [F] += */
void ta_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *x, const float *mean, const float *rstd,
                           const float *gamma, size_t R, size_t F);

#endif
