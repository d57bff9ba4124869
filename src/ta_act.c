/* Activations over whole buffers, for the layers that apply one after a product (dense,
 * activation, conv1d, the transformer's feed-forward). One loop per function, so that
 * each vectorises; ta_act()'s switch inside a loop would keep it scalar. Every element
 * is the same ta_math.h formula as ta_act()/ta_act_grad(), so the results are those of
 * the element-wise calls. */
#include "ta_simd.h" /* first: see there */
#include <string.h>
#include "ta_act.h"
#include "ta_math.h"

#ifdef _OPENMP
#define TA_SIMD_LOOP _Pragma("omp simd")
#else
#define TA_SIMD_LOOP
#endif

TA_SIMD_CLONES void ta_act_forward(float *y, const float *x, size_t n, int code) {
  switch (code) {
  case TA_ACT_RELU:
    TA_SIMD_LOOP
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    break;
  case TA_ACT_TANH:
    TA_SIMD_LOOP
    for (size_t i = 0; i < n; i++) y[i] = ta_tanhf(x[i]);
    break;
  case TA_ACT_SIGMOID:
    TA_SIMD_LOOP
    for (size_t i = 0; i < n; i++) y[i] = ta_sigmoidf(x[i]);
    break;
  case TA_ACT_GELU: /* erff is a library call: scalar */
    for (size_t i = 0; i < n; i++) y[i] = ta_geluf(x[i]);
    break;
  default:
    if (y != x) memmove(y, x, n * sizeof(float));
  }
}

TA_SIMD_CLONES void ta_act_backward(float *g, const float *dy, const float *x, const float *y,
                                    size_t n, int code) {
  switch (code) {
  case TA_ACT_RELU:
    TA_SIMD_LOOP
    for (size_t i = 0; i < n; i++) g[i] = dy[i] * ta_act_grad(TA_ACT_RELU, x[i], 0.0f);
    break;
  case TA_ACT_TANH:
    TA_SIMD_LOOP
    for (size_t i = 0; i < n; i++)
      g[i] = dy[i] * ta_act_grad(TA_ACT_TANH, x[i], y ? y[i] : ta_tanhf(x[i]));
    break;
  case TA_ACT_SIGMOID:
    TA_SIMD_LOOP
    for (size_t i = 0; i < n; i++)
      g[i] = dy[i] * ta_act_grad(TA_ACT_SIGMOID, x[i], y ? y[i] : ta_sigmoidf(x[i]));
    break;
  case TA_ACT_GELU:
    for (size_t i = 0; i < n; i++) g[i] = dy[i] * ta_gelu_grad(x[i]);
    break;
  default:
    if (g != dy) memmove(g, dy, n * sizeof(float));
  }
}
