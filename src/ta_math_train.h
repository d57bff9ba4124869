/* Element-wise formulas of training (a loss term and its gradient, weight decay, Adam's
 * per-step scalars), written once for the CPU (ta_loss.c, ta_optim.c) and the GPU
 * (ta_loss_cuda.cu, ta_optim_cuda.cu), as ta_math.h does for the layers' formulas. */
#ifndef TA_MATH_TRAIN_H
#define TA_MATH_TRAIN_H

#include <math.h>
#include "ta_common.h"

/* One value's term of the loss sum, d = yhat - y, in double (the sum is accumulated in
 * double); mae != 0 for the mean absolute error, else the mean squared error. */
TA_HD double ta_loss_term(int mae, float d) {
  if (mae) return d < 0.0f ? -(double)d : (double)d;
  return (double)d * (double)d;
}

/* dL/dyhat of that term with scale = 1/n (the mean); PyTorch's L1 gradient is sign(d),
 * 0 at d == 0 */
TA_HD float ta_loss_grad(int mae, float d, float scale) {
  if (mae) return d > 0.0f ? scale : (d < 0.0f ? -scale : 0.0f);
  return 2.0f * d * scale;
}

/* Weight decay as PyTorch's Adam and SGD apply it: an L2 term added to the gradient. */
TA_HD float ta_decay_grad(float g, float p, float wd) { return wd != 0.0f ? g + wd * p : g; }

/* SGD with momentum (PyTorch, no dampening, no Nesterov) of one parameter, its gradient
 * g already decayed: the momentum buffer starts as g at the first step; returns the new
 * parameter. */
TA_HD float ta_sgd_update(float p, float g, float *buf, float lr, float momentum, int first) {
  if (momentum != 0.0f) {
    *buf = first ? g : momentum * *buf + g;
    g = *buf;
  }
  return p - lr * g;
}

/* Adam's scalars for step `step` (from 1), computed once per step on the host: in
 * double, then cast once, as PyTorch passes Python floats to its float kernels. The
 * per-parameter update is ta_adam_update() in ta_math.h. */
typedef struct {
  float step_size, bc2_sqrt, one_m_beta1, beta2, one_m_beta2, eps, weight_decay;
} ta_adam_consts;

static inline ta_adam_consts ta_adam_prepare(double lr, double beta1, double beta2, double eps,
                                             double weight_decay, long step) {
  ta_adam_consts c;
  double bc1 = 1.0 - pow(beta1, (double)step);
  double bc2 = 1.0 - pow(beta2, (double)step);
  c.step_size = (float)(lr / bc1);
  c.bc2_sqrt = (float)sqrt(bc2);
  c.one_m_beta1 = (float)(1.0 - beta1);
  c.beta2 = (float)beta2;
  c.one_m_beta2 = (float)(1.0 - beta2);
  c.eps = (float)eps;
  c.weight_decay = (float)weight_decay;
  return c;
}

/* Inverted-dropout multiplier of element i under a key drawn from the host generator
 * (one ta_rng_next per mask): a counter-based hash (splitmix64 of key + i), so a GPU
 * thread draws its element without a sequential generator and a seed repeats the run.
 * 0 with probability rate, else 1/(1-rate) (uniform from the top 24 bits, as
 * ta_rng_uniform). The CPU layers keep their sequential generator; GPU dropout masks
 * therefore differ from the CPU's (both are valid draws). */
TA_HD float ta_dropout_keep(unsigned long long key, unsigned long long i, float rate) {
  unsigned long long z = key + (i + 1ULL) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  float u = (float)(z >> 40) * (1.0f / 16777216.0f);
  return u < rate ? 0.0f : 1.0f / (1.0f - rate);
}

#endif
