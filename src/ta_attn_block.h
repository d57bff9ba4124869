/* Fused CPU attention kernels (private to the attention layers): one score block
 * [Tq, Tk] of one (sequence, head) at a time. Masks follow ta_attn_visible()
 * (src/ta_attn.h): keys j >= len, later keys when causal, keys further than window.
 *
 * Scores (TA_SCORE_*), with sw the score's own parameters:
 *   dot         s = q.k
 *   scaled_dot  s = q.k / sqrt(dk)
 *   additive    s = w . tanh(q + k)            sw = w [dk]
 *   cosine      s = exp(log_scale) qh . kh,    sw = &log_scale [1]
 *               qh = q / max(|q|, eps) (F.normalize), eps = TA_ATTN_NORM_EPS
 * P = softmax over the visible keys (row max subtracted); masked keys get exactly 0;
 * a query with no visible key gets an all-zero row and a zero output.
 * With drop (inverted-dropout multipliers [Tq, Tk], or NULL) the output uses P * drop;
 * p always holds P before dropout. */
#ifndef TA_ATTN_BLOCK_H
#define TA_ATTN_BLOCK_H

#include <stddef.h>
#include "ta_layer.h" /* TA_SCORE_* */
#include "ta_attn_math.h" /* the row formulas, TA_ATTN_NORM_EPS */

typedef struct {
  int score;        /* TA_SCORE_* */
  int causal;       /* no query sees a later key */
  int window;       /* -1: all keys; w: keys within +-w of the query */
  size_t Tq, Tk;    /* queries, keys */
  size_t q0;        /* position of query row 0 in the sequence (masks see query i at
                       q0 + i): a block of the last query alone has Tq = 1, q0 = T - 1 */
  size_t dk, dv;    /* query/key width, value width */
  size_t ldq, ldk, ldv, ldo; /* row strides (floats) of q, k, v and of o/dout */
} ta_attn_block;

/* Dot-product scores of several queries run as matrix products (S = Q K^T, O = P V and
 * their gradients through ta_gemm) rather than one dot product per (query, key): the
 * score matrix of a block then takes the matrix kernel's speed. Not with dropout on the
 * weights (training with a dropout rate keeps the row loop) nor for the additive and
 * cosine scores. */
static inline int ta_attn_gemm_path(const ta_attn_block *a) {
  return (a->score == TA_SCORE_DOT || a->score == TA_SCORE_SCALED_DOT) && a->Tq >= 2;
}

/* Floats of work the kernels need for one block (backward: room for dS [Tq, Tk] when
 * the block can take the matrix-product path). */
static inline size_t ta_attn_fwd_work(const ta_attn_block *a) { return a->Tk; }
static inline size_t ta_attn_bwd_work(const ta_attn_block *a) {
  return 2 * a->Tk + (ta_attn_gemm_path(a) ? a->Tq * a->Tk : 0);
}

/* o [Tq, dv] (=, stride ldo), p [Tq, Tk] (=, contiguous), work [ta_attn_fwd_work];
 * q [Tq, dk], k [Tk, dk], v [Tk, dv]; len: keys j >= len are padding. */
void ta_attn_block_forward(const ta_attn_block *a, float *o, float *p, float *work,
                           const float *q, const float *k, const float *v, const float *drop,
                           const float *sw, size_t len);

/* dq [Tq, dk], dk [Tk, dk], dv [Tk, dv] (=, strides ldq, ldk, ldv), dsw (+=: additive
 * [dk], cosine [1], else unused), work [ta_attn_bwd_work]; from dout [Tq, dv] (stride
 * ldo) and the forward's q, k, v, p, drop. */
void ta_attn_block_backward(const ta_attn_block *a, float *dq, float *dk, float *dv, float *dsw,
                            float *work, const float *dout, const float *q, const float *k,
                            const float *v, const float *p, const float *drop, const float *sw,
                            size_t len);

#endif
