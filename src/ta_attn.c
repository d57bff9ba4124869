/* Fused CPU attention kernels: scores, masks, stable softmax and the weighted sum of
 * the values for one (sequence, head) block, and the backward pass
 *   dV = Pd^T dO,  dPd = dO V^T,  dP = dPd * drop,  dS = P * (dP - rowsum(P * dP)),
 * then dQ, dK (and the score's own parameters) through the score function.
 * Rows are visited in order and every sum runs in a fixed order, so results do not
 * depend on the thread that runs a block. See ta_attn.h for the definitions. */
#include "ta_simd.h" /* first: see there */
#include <math.h>
#include <string.h>
#include "ta_attn.h"
#include "ta_attn_math.h"
#include "ta_vec.h"
#include "ta_math.h"
#include "ta_gemm.h"

/* Keys visible to query i form one interval [lo, hi) (empty when lo >= hi): the same
 * set as ta_attn_visible(i, j, len, causal, window). */
static inline void visible_range(const ta_attn_block *a, size_t i, size_t len, size_t *lo,
                                 size_t *hi) {
  ta_attn_range(i, a->Tk, len, a->causal, a->window, lo, hi);
}

static inline float dotf(const float *a, const float *b, size_t n) { return ta_dot(a, b, n); }

static inline void axpyf(float *y, float alpha, const float *x, size_t n) { ta_axpy(y, alpha, x, n); }

/* max(|x|, eps), as F.normalize clamps the norm */
static inline float clamped_norm(const float *x, size_t n) { return ta_attn_norm(dotf(x, x, n)); }

static inline float dot_scale(const ta_attn_block *a) {
  return a->score == TA_SCORE_SCALED_DOT ? 1.0f / sqrtf((float)a->dk) : 1.0f;
}

/* score of query row qi against key row kj; nq, nk the clamped norms (cosine only) */
static inline float score_of(const ta_attn_block *a, const float *qi, const float *kj,
                             const float *sw, float c, float nq, float nk) {
  switch (a->score) {
  case TA_SCORE_ADDITIVE:
    return ta_attn_additive_score(qi, kj, sw, a->dk);
  case TA_SCORE_COSINE:
    return ta_attn_cosine_score(dotf(qi, kj, a->dk), c, nq, nk);
  default:
    return c * dotf(qi, kj, a->dk);
  }
}

/* The softmax of every query row of p [Tq, Tk] over its visible keys, scores times c
 * (no key seen: a zero row, zero output), and its backward: ds [Tq, Tk] from dO V^T to
 * dS. Their own functions with an AVX2 clone, flattened, so that the element-wise loops of
 * ta_attn_math.h (the exponentials above all) are compiled into vector code: called from
 * a larger function they stayed out of line in baseline (SSE2) code, a sixth of a
 * transformer's training step. The same roundings either way (ta_simd.h).
 * A row's sum is a chain of dependent additions in key order; in the forward SM_ROWS
 * rows that see the same keys are summed together, their chains interleaved, each still
 * in key order: the same sums as ta_attn_softmax_row's, with the rows' additions
 * overlapped (the backward's sum, of products, gained nothing from it). */
#define SM_ROWS 4 /* the four chains written out below */

/* rows i .. i + SM_ROWS - 1 all see the keys [lo, hi) (lo < hi) */
static int same_keys(const ta_attn_block *a, size_t i, size_t len, size_t *lo, size_t *hi) {
  if (i + SM_ROWS > a->Tq) return 0;
  visible_range(a, a->q0 + i, len, lo, hi);
  if (*lo >= *hi) return 0;
  for (size_t l = 1; l < SM_ROWS; l++) {
    size_t lo2, hi2;
    visible_range(a, a->q0 + i + l, len, &lo2, &hi2);
    if (lo2 != *lo || hi2 != *hi) return 0;
  }
  return 1;
}

TA_SIMD_CLONES TA_FLATTEN static void softmax_rows(const ta_attn_block *a, float *p, size_t len,
                                                   float c) {
  const size_t Tk = a->Tk;
  size_t i = 0, lo, hi;
  while (i < a->Tq) {
    if (same_keys(a, i, len, &lo, &hi)) {
      float *s = p + i * Tk;
      for (size_t l = 0; l < SM_ROWS; l++) {
        float m = ta_attn_softmax_scale_max(s + l * Tk, lo, hi, c);
        ta_attn_softmax_exp_row(s + l * Tk, lo, hi, m);
      }
      /* four scalar chains (as vectors, GCC spilled them through the stack) */
      const float *s0 = s, *s1 = s + Tk, *s2 = s + 2 * Tk, *s3 = s + 3 * Tk;
      float u0 = 0.0f, u1 = 0.0f, u2 = 0.0f, u3 = 0.0f;
      for (size_t j = lo; j < hi; j++) {
        u0 += s0[j];
        u1 += s1[j];
        u2 += s2[j];
        u3 += s3[j];
      }
      ta_attn_softmax_divide(s, Tk, lo, hi, u0);
      ta_attn_softmax_divide(s + Tk, Tk, lo, hi, u1);
      ta_attn_softmax_divide(s + 2 * Tk, Tk, lo, hi, u2);
      ta_attn_softmax_divide(s + 3 * Tk, Tk, lo, hi, u3);
      i += SM_ROWS;
      continue;
    }
    visible_range(a, a->q0 + i, len, &lo, &hi);
    ta_attn_softmax_row(p + i * Tk, Tk, lo, hi, c);
    i++;
  }
}

TA_SIMD_CLONES TA_FLATTEN static void softmax_grad_rows(const ta_attn_block *a, float *ds,
                                                        const float *p, size_t len, float c) {
  const size_t Tk = a->Tk;
  for (size_t i = 0; i < a->Tq; i++) {
    size_t lo, hi;
    visible_range(a, a->q0 + i, len, &lo, &hi);
    ta_attn_softmax_row_grad(ds + i * Tk, p + i * Tk, NULL, Tk, lo, hi, c);
  }
}

/* the matrix-product path (ta_attn_gemm_path, no dropout): S = Q K^T into p, row
 * softmax over the visible keys, O = P V */
static void forward_gemm(const ta_attn_block *a, float *o, float *p, const float *q,
                         const float *k, const float *v, size_t len) {
  const size_t Tq = a->Tq, Tk = a->Tk;
  ta_gemm_nt(p, Tk, q, a->ldq, k, a->ldk, Tq, Tk, a->dk, 0);
  softmax_rows(a, p, len, dot_scale(a));
  ta_gemm_nn(o, a->ldo, p, Tk, v, a->ldv, Tq, a->dv, Tk, 0);
}

void ta_attn_block_forward(const ta_attn_block *a, float *o, float *p, float *work,
                           const float *q, const float *k, const float *v, const float *drop,
                           const float *sw, size_t len) {
  if (!drop && ta_attn_gemm_path(a)) {
    forward_gemm(a, o, p, q, k, v, len);
    return;
  }
  const size_t Tq = a->Tq, Tk = a->Tk, dk = a->dk, dv = a->dv;
  const int cosine = a->score == TA_SCORE_COSINE;
  float c = cosine ? ta_expf(sw[0]) : dot_scale(a);
  float *nk = work; /* [Tk] clamped key norms (cosine) */
  if (cosine)
    for (size_t j = 0; j < Tk; j++) nk[j] = clamped_norm(k + j * a->ldk, dk);
  for (size_t i = 0; i < Tq; i++) {
    const float *qi = q + i * a->ldq;
    float *pi = p + i * Tk;
    float *oi = o + i * a->ldo;
    size_t lo, hi;
    visible_range(a, a->q0 + i, len, &lo, &hi);
    memset(oi, 0, dv * sizeof(float));
    if (lo >= hi) {
      memset(pi, 0, Tk * sizeof(float)); /* sees no key: zero weights, zero output */
      continue;
    }
    float nq = cosine ? clamped_norm(qi, dk) : 1.0f;
    for (size_t j = lo; j < hi; j++)
      pi[j] = score_of(a, qi, k + j * a->ldk, sw, c, nq, cosine ? nk[j] : 1.0f);
    /* the scores already carry c */
    ta_attn_softmax_row(pi, Tk, lo, hi, 1.0f);
    const float *di = drop ? drop + i * Tk : NULL;
    for (size_t j = lo; j < hi; j++) {
      float w = di ? pi[j] * di[j] : pi[j];
      if (w != 0.0f) axpyf(oi, w, v + j * a->ldv, dv);
    }
  }
}

/* cosine: turn the gradient g with respect to xh = x / n (n = max(|x|, eps)) into the
 * gradient with respect to x, in place: (g - xh (xh.g)) / n, or g / eps when |x| <= eps */
static inline void normalize_backward(float *g, const float *x, float n, size_t d) {
  float xg = n > TA_ATTN_NORM_EPS ? dotf(x, g, d) / n : 0.0f; /* xh.g */
  for (size_t t = 0; t < d; t++) g[t] = ta_attn_unnormalize(g[t], x[t], n, xg);
}

/* the matrix-product path: dP = dO V^T, dS = c P (dP - rowsum(P dP)) row by row over the
 * visible keys, dV = P^T dO, dQ = dS K, dK = dS^T Q; dS [Tq, Tk] lives in work */
static void backward_gemm(const ta_attn_block *a, float *dq, float *dk, float *dv, float *work,
                          const float *dout, const float *q, const float *k, const float *v,
                          const float *p, size_t len) {
  const size_t Tq = a->Tq, Tk = a->Tk;
  float *ds = work + 2 * Tk;
  float c = dot_scale(a);
  ta_gemm_nt(ds, Tk, dout, a->ldo, v, a->ldv, Tq, Tk, a->dv, 0);
  softmax_grad_rows(a, ds, p, len, c);
  ta_gemm_tn(dv, a->ldv, p, Tk, dout, a->ldo, Tk, a->dv, Tq, 0);
  ta_gemm_nn(dq, a->ldq, ds, Tk, k, a->ldk, Tq, a->dk, Tk, 0);
  ta_gemm_tn(dk, a->ldk, ds, Tk, q, a->ldq, Tk, a->dk, Tq, 0);
}

void ta_attn_block_backward(const ta_attn_block *a, float *dq, float *dk, float *dv, float *dsw,
                            float *work, const float *dout, const float *q, const float *k,
                            const float *v, const float *p, const float *drop, const float *sw,
                            size_t len) {
  if (!drop && ta_attn_gemm_path(a)) {
    backward_gemm(a, dq, dk, dv, work, dout, q, k, v, p, len);
    return;
  }
  const size_t Tq = a->Tq, Tk = a->Tk, D = a->dk, dvw = a->dv;
  const int cosine = a->score == TA_SCORE_COSINE, additive = a->score == TA_SCORE_ADDITIVE;
  float c = cosine ? ta_expf(sw[0]) : dot_scale(a);
  float *nk = work;      /* [Tk] clamped key norms (cosine) */
  float *dp = work + Tk; /* [Tk] one row of dP */
  for (size_t j = 0; j < Tk; j++) {
    memset(dk + j * a->ldk, 0, D * sizeof(float));
    memset(dv + j * a->ldv, 0, dvw * sizeof(float));
    if (cosine) nk[j] = clamped_norm(k + j * a->ldk, D);
  }
  float dls = 0.0f; /* cosine: d loss / d log_scale of this block */
  for (size_t i = 0; i < Tq; i++) {
    const float *qi = q + i * a->ldq, *doi = dout + i * a->ldo, *pi = p + i * Tk;
    const float *di = drop ? drop + i * Tk : NULL;
    float *dqi = dq + i * a->ldq;
    size_t lo, hi;
    visible_range(a, a->q0 + i, len, &lo, &hi);
    memset(dqi, 0, D * sizeof(float));
    if (lo >= hi) continue;
    /* dPd = dO V^T for the row and dV += Pd^T dO; then dS = P (dP - rowsum(P dP)),
     * dP = dPd * drop, with the score's factor applied below */
    for (size_t j = lo; j < hi; j++) {
      dp[j] = dotf(doi, v + j * a->ldv, dvw);
      float w = di ? pi[j] * di[j] : pi[j];
      if (w != 0.0f) axpyf(dv + j * a->ldv, w, doi, dvw);
    }
    ta_attn_softmax_row_grad(dp, pi, di, Tk, lo, hi, 1.0f);
    float nq = cosine ? clamped_norm(qi, D) : 1.0f;
    for (size_t j = lo; j < hi; j++) {
      float ds = dp[j]; /* dS */
      if (ds == 0.0f) continue;
      const float *kj = k + j * a->ldk;
      float *dkj = dk + j * a->ldk;
      if (additive) {
        for (size_t d = 0; d < D; d++) {
          float t = ta_tanhf(qi[d] + kj[d]);
          dsw[d] += ds * t;
          float u = ta_attn_additive_grad(ds, sw[d], t);
          dqi[d] += u;
          dkj[d] += u;
        }
      } else if (cosine) {
        /* s = c qh.kh: d s / d log_scale = s; dqh += c ds kh; dkh += c ds qh */
        float cs = c * ds;
        dls += ds * ta_attn_cosine_score(dotf(qi, kj, D), c, nq, nk[j]);
        axpyf(dqi, cs / nk[j], kj, D);
        axpyf(dkj, cs / nq, qi, D);
      } else {
        axpyf(dqi, c * ds, kj, D);
        axpyf(dkj, c * ds, qi, D);
      }
    }
    if (cosine) normalize_backward(dqi, qi, nq, D);
  }
  if (cosine) {
    for (size_t j = 0; j < Tk; j++) normalize_backward(dk + j * a->ldk, k + j * a->ldk, nk[j], D);
    dsw[0] += dls;
  }
}
