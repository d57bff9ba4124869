/* Element-wise formulas, written once for the CPU and the GPU (TA_HD). Activation
 * derivatives take both the pre-activation x and the output y so each can use the
 * cheaper one (tanh and sigmoid use y; gelu needs x). */
#ifndef TA_MATH_H
#define TA_MATH_H

#include <math.h>
#include <string.h>
#include "ta_common.h"

enum { TA_ACT_LINEAR = 0, TA_ACT_RELU = 1, TA_ACT_TANH = 2, TA_ACT_SIGMOID = 3, TA_ACT_GELU = 4 };

/* float bits <-> int32 (memcpy: defined behaviour in C and CUDA C++, compiled to a move) */
TA_HD float ta_bits_to_float(int i) {
  float f;
  memcpy(&f, &i, sizeof f);
  return f;
}

/* e^x for the gates, softmax and sigmoid. Written out rather than calling expf so the
 * loops over gates vectorise (no call, no branch) and so the CPU and the GPU round the
 * same way: x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two for exactness), e^r by
 * Cephes' degree-6 polynomial (within 2 ulp of e^x), 2^n put into the exponent bits.
 * Saturates instead of overflowing: x is clamped to [-87.3, 88], so the result stays
 * within the normal floats (e^88 = 1.65e38); NaN stays NaN. */
TA_HD float ta_expf(float x) {
  x = x > 88.0f ? 88.0f : x;
  x = x < -87.3f ? -87.3f : x;
  /* n = round(x / ln2) by the 1.5 * 2^23 trick: adding it leaves no fraction bits
   * (floorf is a library call on baseline x86-64; this is two adds). Correct unless the
   * compiler reassociates float arithmetic (-ffast-math), which R and nvcc do not. */
  float n = (1.44269504088896341f * x + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  /* n in [-126, 127]: 2^n is a normal float (the clamp keeps n there; NaN's n is
   * meaningless but p is NaN, so the product is too) */
  int e = (int)(n == n ? n : 0.0f) + 127;
  return p * ta_bits_to_float(e << 23);
}

/* tanh: for |x| < 0.625 Cephes' odd polynomial (no cancellation near 0), above it
 * 1 - 2 / (e^{2|x|} + 1) with the sign of x; both are computed and one is selected, so
 * the function has no branch. Within a few ulp of tanh. */
TA_HD float ta_tanhf(float x) {
  float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  p = p * z * x + x;
  float a = fabsf(x);
  float q = 1.0f - 2.0f / (ta_expf(2.0f * a) + 1.0f);
  q = x < 0.0f ? -q : q;
  return a < 0.625f ? p : q;
}

TA_HD float ta_sigmoidf(float x) { return 1.0f / (1.0f + ta_expf(-x)); }

/* exact gelu, as PyTorch's default: x * Phi(x) */
TA_HD float ta_geluf(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
TA_HD float ta_gelu_grad(float x) {
  float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
  float pdf = 0.39894228040143268f * ta_expf(-0.5f * x * x);
  return cdf + x * pdf;
}

TA_HD float ta_act(int code, float x) {
  switch (code) {
  case TA_ACT_RELU: return x > 0.0f ? x : 0.0f;
  case TA_ACT_TANH: return ta_tanhf(x);
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
