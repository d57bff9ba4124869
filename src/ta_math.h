/* Element-wise formulas, written once for the CPU and the GPU (TA_HD). Activation
 * derivatives take both the pre-activation x and the output y so each can use the
 * cheaper one (tanh and sigmoid use y; gelu needs x). */
#ifndef TA_MATH_H
#define TA_MATH_H

#include <math.h>
#include "ta_common.h"

enum { TA_ACT_LINEAR = 0, TA_ACT_RELU = 1, TA_ACT_TANH = 2, TA_ACT_SIGMOID = 3, TA_ACT_GELU = 4 };

TA_HD float ta_sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* exact gelu, as PyTorch's default: x * Phi(x) */
TA_HD float ta_geluf(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
TA_HD float ta_gelu_grad(float x) {
  float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
  float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
  return cdf + x * pdf;
}

TA_HD float ta_act(int code, float x) {
  switch (code) {
  case TA_ACT_RELU: return x > 0.0f ? x : 0.0f;
  case TA_ACT_TANH: return tanhf(x);
  case TA_ACT_SIGMOID: return ta_sigmoidf(x);
  case TA_ACT_GELU: return ta_geluf(x);
  default: return x;
  }
}

/* d act(x) / dx given x and y = act(x) */
TA_HD float ta_act_grad(int code, float x, float y) {
  switch (code) {
  case TA_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
  case TA_ACT_TANH: return 1.0f - y * y;
  case TA_ACT_SIGMOID: return y * (1.0f - y);
  case TA_ACT_GELU: return ta_gelu_grad(x);
  default: return 1.0f;
  }
}

/* GRU cell (PyTorch): r, z from their summed pre-activations; n = tanh(xn + r * hn);
 * h' = (1 - z) n + z h. */
TA_HD float ta_gru_h(float z, float n, float h_prev) { return (1.0f - z) * n + z * h_prev; }

/* LSTM cell (PyTorch): c' = f c + i g; h' = o tanh(c'). */
TA_HD float ta_lstm_c(float i, float f, float g, float c_prev) { return f * c_prev + i * g; }

/* Adam update of one parameter, in PyTorch's single-tensor formulation (lerp for m,
 * bias corrections applied to the step size and to sqrt(v)). Returns the new param. */
TA_HD float ta_adam_update(float p, float g, float *m, float *v, float one_m_beta1,
                           float beta2, float one_m_beta2, float step_size, float bc2_sqrt,
                           float eps) {
  *m = *m + one_m_beta1 * (g - *m);
  *v = *v * beta2 + one_m_beta2 * g * g;
  float denom = sqrtf(*v) / bc2_sqrt + eps;
  return p + (-step_size) * (*m / denom);
}

#endif
