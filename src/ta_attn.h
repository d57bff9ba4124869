/* The attention core of the CPU (ta_attn.c; the GPU's: ta_cuda_attn.h), for the
 * attention, multi-head attention and transformer layers: masks, the single-head layer's
 * parameter offsets, and the fused kernels of one (sequence, head) block. Masks: key j is visible to query i when
 *   j < len               (padding: len = the sequence's valid length, or T)
 *   !(causal && j > i)    (no query sees a later key)
 *   !(window >= 0 && |i - j| > window)   (local attention)
 * Masked keys get exactly zero weight; a query that sees no key at all gets all-zero
 * weights and a zero output. Softmax subtracts the row maximum (stable). Multi-head
 * self-attention is ta_mha.h's. */
#ifndef TA_ATTN_H
#define TA_ATTN_H

#include <stddef.h>
#include "ta_layer.h" /* TA_SCORE_* */

static inline int ta_attn_visible(size_t i, size_t j, size_t len, int causal, int window) {
  if (j >= len) return 0;
  if (causal && j > i) return 0;
  if (window >= 0 && (i > j ? i - j : j - i) > (size_t)window) return 0;
  return 1;
}

/* Single-head attention (layer_attention.c): offsets of the parameters in the layer's
 * block, query.weight [dk, I], query.bias [dk], key.weight, key.bias, value.weight
 * [U, I], value.bias [U] (biases only with bias), then the score's own (additive
 * score.weight [1, dk], cosine log_scale [1]) at sw. The CPU and GPU layers both read
 * the block through this. */
typedef struct { size_t wq, bq, wk, bk, wv, bv, sw; } ta_attn_offsets;

static inline ta_attn_offsets ta_attn_offsets_of(const ta_layer *L) {
  const ta_attn_cfg *c = &L->cfg.attn;
  size_t I = (size_t)L->in_dim, D = (size_t)c->key_dim, U = (size_t)c->units;
  size_t nb = c->bias ? 1 : 0;
  ta_attn_offsets o;
  o.wq = 0;
  o.bq = o.wq + D * I;
  o.wk = o.bq + nb * D;
  o.bk = o.wk + D * I;
  o.wv = o.bk + nb * D;
  o.bv = o.wv + U * I;
  o.sw = o.bv + nb * U;
  return o;
}

/* ---- the fused kernels (ta_attn.c): one score block [Tq, Tk] of one (sequence, head)
 * at a time. Masks follow ta_attn_visible(): keys j >= len, later keys when causal,
 * keys further than window.
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
