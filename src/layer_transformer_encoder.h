/* The transformer encoder block's attention shape, parameter offsets and cache layout
 * (see layer_transformer_encoder.c for the equations and the parameter order), shared by
 * its CPU (layer_transformer_encoder.c) and GPU (layer_transformer_encoder_cuda.cu)
 * paths: both read the layout from here. */
#ifndef TA_LAYER_TRANSFORMER_ENCODER_H
#define TA_LAYER_TRANSFORMER_ENCODER_H

#include <stddef.h>
#include "ta_layer.h"
#include "ta_mha.h"

/* the block's attention shape from its validated configuration (cannot fail after setup) */
static inline ta_mha_shape ta_tf_shape(const ta_layer *L) {
  ta_mha_shape s;
  ta_mha_shape_of(&s, L->in_dim, L->cfg.tf.heads, 0, L->cfg.tf.causal, -1, L->cfg.tf.rate, NULL);
  return s;
}

/* offsets into the parameter block (after the MHA's); n: the block's size */
typedef struct {
  size_t w1, b1, w2, b2, g1, be1, g2, be2, n;
} ta_tf_poff;

static inline ta_tf_poff ta_tf_param_offsets(const ta_layer *L, const ta_mha_shape *s) {
  size_t E = (size_t)L->in_dim, Fd = (size_t)L->cfg.tf.d_ff;
  ta_tf_poff o;
  o.w1 = ta_mha_n_params(s, E);
  o.b1 = o.w1 + Fd * E;
  o.w2 = o.b1 + Fd;
  o.b2 = o.w2 + E * Fd;
  o.g1 = o.b2 + E;
  o.be1 = o.g1 + E;
  o.g2 = o.be1 + E;
  o.be2 = o.g2 + E;
  o.n = o.be2 + E;
  return o;
}

/* pointers into the cache (R = B*T, E = in_dim, Fd = d_ff):
 *   mha      [mha_size]  the attention's cache (CPU: ta_mha_cache_size, GPU:
 *                        ta_cuda_mha_cache_size)
 *   flag     [1]     with_flag only (the CPU's): 1 when the dropout masks were drawn;
 *                    NULL and no room otherwise
 *   s1, u, c [R, E], mean1, rstd1, mean2, rstd2 [R], z, hd [R, Fd]
 *   m1 [R, E], m [R, Fd], m2 [R, E]   dropout masks (only when rate > 0, else NULL)
 * With base NULL every pointer is NULL and only size (in floats) is of use. */
typedef struct {
  float *mha, *flag, *s1, *u, *c, *mean1, *rstd1, *mean2, *rstd2, *z, *hd, *m1, *m, *m2;
  size_t size;
} ta_tf_cache;

static inline ta_tf_cache ta_tf_cache_of(const ta_layer *L, size_t mha_size, int with_flag,
                                         float *base, size_t B, size_t T) {
  size_t E = (size_t)L->in_dim, Fd = (size_t)L->cfg.tf.d_ff, R = B * T, off = 0;
  ta_tf_cache c;
#define TF_TAKE(field, n) do { c.field = base ? base + off : NULL; off += (n); } while (0)
  TF_TAKE(mha, mha_size);
  if (with_flag)
    TF_TAKE(flag, 1);
  else
    c.flag = NULL;
  TF_TAKE(s1, R * E);
  TF_TAKE(u, R * E);
  TF_TAKE(c, R * E);
  TF_TAKE(mean1, R);
  TF_TAKE(rstd1, R);
  TF_TAKE(mean2, R);
  TF_TAKE(rstd2, R);
  TF_TAKE(z, R * Fd);
  TF_TAKE(hd, R * Fd);
  if (L->cfg.tf.rate > 0.0f) {
    TF_TAKE(m1, R * E);
    TF_TAKE(m, R * Fd);
    TF_TAKE(m2, R * E);
  } else {
    c.m1 = c.m = c.m2 = NULL;
  }
#undef TF_TAKE
  c.size = off;
  return c;
}

#endif
