/* Row formulas of the attention layers, written once for the CPU (ta_attn.c) and
 * the GPU (ta_attn_cuda.cu): TA_HD, as ta_math.h. The CPU kernels call them for every row
 * they compute, so the CPU tests cover the arithmetic the GPU kernels run (one GPU
 * thread per score row: the same function, the same order of operations).
 *
 * Masks (ta_attn.h): key j is visible to query i when j < len, !(causal && j > i) and
 * !(window >= 0 && |i - j| > window); those keys form one interval [lo, hi). Masked
 * keys get exactly zero weight; a query that sees no key gets an all-zero row. */
#ifndef TA_ATTN_MATH_H
#define TA_ATTN_MATH_H

#include <math.h>
#include <stddef.h>
#include "ta_math.h"

#define TA_ATTN_NORM_EPS 1e-12f

/* vectorisation hints of the CPU loops (order-independent or element-wise only) */
#if defined(_OPENMP) && !defined(__CUDACC__)
#define TA_ATTN_PRAGMA(x) _Pragma(#x)
#define TA_ATTN_SIMD TA_ATTN_PRAGMA(omp simd)
#define TA_ATTN_SIMD_MAX(v) TA_ATTN_PRAGMA(omp simd reduction(max : v))
#else
#define TA_ATTN_SIMD
#define TA_ATTN_SIMD_MAX(v)
#endif

/* the valid length of sequence b: valid_len[b] clamped to [0, T], or T without one */
TA_HD size_t ta_attn_len(const int *valid_len, size_t b, size_t T) {
  if (!valid_len) return T;
  int l = valid_len[b];
  return l < 0 ? 0 : ((size_t)l < T ? (size_t)l : T);
}

/* the keys [lo, hi) of Tk visible to the query at position i (empty when lo >= hi) */
TA_HD void ta_attn_range(size_t i, size_t Tk, size_t len, int causal, int window, size_t *lo,
                         size_t *hi) {
  size_t l = 0, h = len < Tk ? len : Tk;
  if (causal && i + 1 < h) h = i + 1;
  if (window >= 0) {
    size_t w = (size_t)window;
    if (i > w) l = i - w;
    if (i + w + 1 < h) h = i + w + 1;
  }
  *lo = l;
  *hi = h;
}

/* element of a softmax row: the exponential of a scaled score t against the row's
 * maximum m (the GPU's warp-per-row kernels call it too) */
TA_HD float ta_attn_softmax_exp(float t, float m) { return ta_expf(t - m); }

/* element of the softmax's backward: c * p * (g - r), r = sum_j p_j g_j of the row */
TA_HD float ta_attn_softmax_dgrad(float p, float g, float r, float c) { return c * (p * (g - r)); }

/* The steps of a softmax row over its visible keys [lo, hi) (lo < hi), each written once:
 * the scores times c and their maximum; the exponentials against it; the sum in key
 * order (the caller's: ta_attn_softmax_row below, or the CPU's interleaved rows, which
 * keep each row's order); the division, with zeros outside [lo, hi). */
TA_HD float ta_attn_softmax_scale_max(float *s, size_t lo, size_t hi, float c) {
  float m = -INFINITY;
  /* the maximum does not depend on the order: it vectorises on the CPU */
  TA_ATTN_SIMD_MAX(m)
  for (size_t j = lo; j < hi; j++) {
    float t = c * s[j];
    s[j] = t;
    m = t > m ? t : m;
  }
  return m;
}

TA_HD void ta_attn_softmax_exp_row(float *s, size_t lo, size_t hi, float m) {
  TA_ATTN_SIMD
  for (size_t j = lo; j < hi; j++) s[j] = ta_attn_softmax_exp(s[j], m);
}

TA_HD void ta_attn_softmax_divide(float *s, size_t Tk, size_t lo, size_t hi, float sum) {
  TA_ATTN_SIMD
  for (size_t j = lo; j < hi; j++) s[j] /= sum;
  for (size_t j = 0; j < lo; j++) s[j] = 0.0f;
  for (size_t j = hi; j < Tk; j++) s[j] = 0.0f;
}

/* One row of scores s [Tk] -> softmax weights over the visible keys [lo, hi), zeros
 * elsewhere (all zeros when lo >= hi); the scores are multiplied by c first and the row
 * maximum is subtracted (stable). The sum runs in key order. */
TA_HD void ta_attn_softmax_row(float *s, size_t Tk, size_t lo, size_t hi, float c) {
  if (lo >= hi) {
    for (size_t j = 0; j < Tk; j++) s[j] = 0.0f;
    return;
  }
  float m = ta_attn_softmax_scale_max(s, lo, hi, c);
  ta_attn_softmax_exp_row(s, lo, hi, m);
  float sum = 0.0f;
  for (size_t j = lo; j < hi; j++) sum += s[j];
  ta_attn_softmax_divide(s, Tk, lo, hi, sum);
}

/* The softmax's backward for one row: on entry ds [Tk] holds dL/d(weights after
 * dropout) (dO V^T), drop [Tk] the dropout multipliers (or NULL); on exit
 *   dP = ds * drop,  ds = c * P * (dP - sum_j P dP)
 * over the visible keys, zero elsewhere (c: the factor the scores were multiplied by,
 * or 1 when the caller applies it). */
TA_HD void ta_attn_softmax_row_grad(float *ds, const float *p, const float *drop, size_t Tk,
                                    size_t lo, size_t hi, float c) {
  float r = 0.0f;
  for (size_t j = lo; j < hi; j++) {
    float g = ds[j];
    if (drop) g *= drop[j];
    ds[j] = g;
    r += p[j] * g;
  }
  for (size_t j = lo; j < hi; j++) ds[j] = ta_attn_softmax_dgrad(p[j], ds[j], r, c);
  for (size_t j = 0; j < lo && j < Tk; j++) ds[j] = 0.0f;
  for (size_t j = hi > lo ? hi : lo; j < Tk; j++) ds[j] = 0.0f;
}

/* cosine scores: a vector's norm clamped as F.normalize does, max(|x|, eps), from its
 * sum of squares */
TA_HD float ta_attn_norm(float sumsq) {
  float s = sqrtf(sumsq);
  return s > TA_ATTN_NORM_EPS ? s : TA_ATTN_NORM_EPS;
}

/* cosine score of q.k = dot with clamped norms nq, nk and scale c = exp(log_scale) */
TA_HD float ta_attn_cosine_score(float dot, float c, float nq, float nk) {
  return c * (dot / (nq * nk));
}

/* cosine backward, element t of a row: g = dL/dxh (xh = x / n) -> dL/dx, with
 * xg = (x . g) / n; (g - xh xg) / n, or g / n when the norm was clamped */
TA_HD float ta_attn_unnormalize(float g, float x, float n, float xg) {
  return n > TA_ATTN_NORM_EPS ? (g - (x / n) * xg) / n : g / n;
}

/* additive score w . tanh(q + k) over d features, in feature order */
TA_HD float ta_attn_additive_score(const float *q, const float *k, const float *w, size_t d) {
  float s = 0.0f;
  for (size_t t = 0; t < d; t++) s += w[t] * ta_tanhf(q[t] + k[t]);
  return s;
}

/* additive backward, feature t of the pair (i, j): with th = tanh(q_t + k_t) and ds the
 * score's gradient, dq_t and dk_t both get ds w_t (1 - th^2) (and w_t gets ds th) */
TA_HD float ta_attn_additive_grad(float ds, float w, float th) {
  return ds * w * (1.0f - th * th);
}

#endif
