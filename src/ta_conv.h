/* Index arithmetic of the one-dimensional convolution (conv1d), written once for the CPU
 * (layer_conv1d.c) and the GPU (layer_conv1d_cuda.cu) as TA_HD functions: which input
 * step an output step's kernel tap reads, the padding, the output length, and the
 * weight's reordering between PyTorch's (i, k) layout and im2col's (k, i) columns. */
#ifndef TA_CONV_H
#define TA_CONV_H

#include <stddef.h>
#include "ta_common.h"
#include "ta_layer.h" /* TA_PAD_* (a .cu file includes ta_cuda_layer.h first) */
#include "ta_math.h"  /* TA_ACT_LINEAR */

/* zeros added before step 0: same (K-1)/2 (the extra one of an even kernel goes right),
 * causal K-1, valid 0 */
TA_HD size_t ta_conv_pad_left(size_t K, int padding) {
  return padding == TA_PAD_SAME ? (K - 1) / 2 : padding == TA_PAD_CAUSAL ? K - 1 : 0;
}

/* output steps for T input steps: T, or T-K+1 for valid (0 when T < K: too short) */
TA_HD size_t ta_conv_out_time(size_t T, size_t K, int padding) {
  if (padding == TA_PAD_VALID) return T < K ? 0 : T - K + 1;
  return T;
}

/* the input step that tap k of output step t reads, t + k - pad_left, in *s; 0 when it
 * falls in the padding (outside [0, T)) */
TA_HD int ta_conv_in_step(size_t *s, size_t t, size_t k, size_t pl, size_t T) {
  size_t p = t + k; /* input step + pad_left */
  if (p < pl || p - pl >= T) return 0;
  *s = p - pl;
  return 1;
}

/* weight [F, I, K] (PyTorch) element of filter f, input i, tap k, and its column in the
 * reordered Wr [F, K*I] (im2col's columns: tap-major, so a tap reads one input row) */
TA_HD size_t ta_conv_w_index(size_t f, size_t i, size_t k, size_t I, size_t K) {
  return f * I * K + i * K + k;
}
TA_HD size_t ta_conv_wr_index(size_t f, size_t i, size_t k, size_t I, size_t K) {
  return f * I * K + k * I + i;
}

/* The GPU conv1d layer's cache and scratch (layer_conv1d_cuda.cu; the CPU's
 * layer_conv1d.c makes im2col rows a block at a time instead of storing them), with
 * R = B * T_out rows and KI = K*I columns:
 *   cache    Wr [F, KI] (the reordered weight), cols [R, KI] (im2col), then z [R, F]
 *            (the pre-activation) only with an activation
 *   scratch  dz [R, F], dcols [R, KI], dWr [F, KI] */
static inline size_t ta_conv_cache_size(const ta_layer *L, size_t B, size_t T) {
  size_t F = (size_t)L->cfg.conv.filters, K = (size_t)L->cfg.conv.kernel;
  size_t KI = K * (size_t)L->in_dim, R = B * ta_conv_out_time(T, K, L->cfg.conv.padding);
  return F * KI + R * KI + (L->cfg.conv.activation == TA_ACT_LINEAR ? 0 : R * F);
}

static inline size_t ta_conv_scratch_size(const ta_layer *L, size_t B, size_t T) {
  size_t F = (size_t)L->cfg.conv.filters, K = (size_t)L->cfg.conv.kernel;
  size_t KI = K * (size_t)L->in_dim, R = B * ta_conv_out_time(T, K, L->cfg.conv.padding);
  return R * F + R * KI + F * KI;
}

#endif
