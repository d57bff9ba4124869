/* Per-row formulas of the seq2seq layer's attention (one decoder query against the
 * encoder states of one sequence), written once for the CPU and the GPU (TA_HD, as
 * ta_math.h): layer_seq2seq.c calls them in its loops and layer_seq2seq_cuda.cu in its
 * kernels, so the CPU tests cover the arithmetic of both. Each runs its sums in index
 * order (a GPU thread runs one row or one key, with the CPU's order).
 *   additive score   e_j = w . tanh(q + k_j)     (q = W_s s, k_j = W_h h_j, w = v)
 *   masked softmax   p_j = exp(e_j - max) / sum over the valid keys j < len; p_j = 0
 *                    for j >= len (padding); a row with len = 0 is all zero
 *   its backward     dS_j = p_j (dP_j - r),  r = sum_j p_j dP_j */
#ifndef TA_S2S_MATH_H
#define TA_S2S_MATH_H

#include <stddef.h>
#include "ta_math.h"

/* valid length of sequence b: len[b] clamped to [0, T], or T without lengths */
TA_HD size_t ta_s2s_len(const int *len, size_t b, size_t T) {
  if (!len) return T;
  int l = len[b];
  return l < 0 ? 0 : ((size_t)l < T ? (size_t)l : T);
}

/* additive (Bahdanau) score of query q [A] against key k [A] with weights w [A] */
TA_HD float ta_additive_score(const float *q, const float *k, const float *w, size_t A) {
  float s = 0.0f;
  for (size_t d = 0; d < A; d++) s += w[d] * ta_tanhf(q[d] + k[d]);
  return s;
}

/* one component d of the additive score's gradient for dS = d loss / d e_j: returns
 * the gradient reaching q[d] and k[d] alike (dS w (1 - t^2)); *t = tanh(q + k), whose
 * dS * t is w[d]'s gradient */
TA_HD float ta_additive_score_grad(float ds, float q, float k, float w, float *t) {
  float tt = ta_tanhf(q + k);
  *t = tt;
  return ds * w * (1.0f - tt * tt);
}

/* p [n]: in, the scores of keys j < len; out, their softmax (row maximum subtracted),
 * zero for j >= len (all zero when len = 0) */
TA_HD void ta_softmax_masked_row(float *p, size_t n, size_t len) {
  if (len > n) len = n;
  if (len > 0) {
    float m = -INFINITY;
    for (size_t j = 0; j < len; j++) m = p[j] > m ? p[j] : m;
    float sum = 0.0f;
    for (size_t j = 0; j < len; j++) {
      float e = ta_expf(p[j] - m);
      p[j] = e;
      sum += e;
    }
    for (size_t j = 0; j < len; j++) p[j] /= sum;
  }
  for (size_t j = len; j < n; j++) p[j] = 0.0f;
}

/* r = sum_{j < len} p_j dp_j, in order: the softmax backward's row term */
TA_HD float ta_softmax_row_dot(const float *p, const float *dp, size_t len) {
  float r = 0.0f;
  for (size_t j = 0; j < len; j++) r += p[j] * dp[j];
  return r;
}

/* the score gradient of one key: dS_j = p_j (dP_j - r) */
TA_HD float ta_softmax_grad(float p, float dp, float r) { return p * (dp - r); }

#endif
