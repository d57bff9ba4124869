/* What the attention, multi-head attention and transformer layers share: masks and the
 * single-head layer's parameter offsets (the kernels: ta_attn_block.h on the CPU,
 * ta_cuda_attn.h on the GPU). Masks: key j is visible to query i when
 *   j < len               (padding: len = the sequence's valid length, or T)
 *   !(causal && j > i)    (no query sees a later key)
 *   !(window >= 0 && |i - j| > window)   (local attention)
 * Masked keys get exactly zero weight; a query that sees no key at all gets all-zero
 * weights and a zero output. Softmax subtracts the row maximum (stable). Multi-head
 * self-attention is ta_mha.h's. */
#ifndef TA_ATTN_H
#define TA_ATTN_H

#include <stddef.h>
#include "ta_layer.h"

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

#endif
