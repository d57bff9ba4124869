/* Multi-head self-attention (ta_mha.c; on the GPU ta_mha_cuda.cu), shared by the
 * multi-head attention layer and the transformer encoder block; masks as ta_attn.h's.
 * PyTorch's nn.MultiheadAttention layout for x [B, T, E] with H heads of query/key
 * width dk and value width dv per head:
 *   when H*dk == E and H*dv == E (key_dim not given): in_proj_weight [3E, E] (rows: q, k, v),
 *     in_proj_bias [3E]
 *   otherwise: q_proj_weight [H*dk, E], k_proj_weight [H*dk, E], v_proj_weight [H*dv, E],
 *     in_proj_bias [2*H*dk + H*dv]
 *   then out_proj.weight [E, H*dv], out_proj.bias [E]
 * in that order in the parameter block, scores q.k / sqrt(dk), dropout on the attention
 * weights in training. */
#ifndef TA_MHA_H
#define TA_MHA_H

#include <stddef.h>
#include "ta_layer.h"

typedef struct {
  int heads;   /* H */
  int key_dim; /* dk per head */
  int val_dim; /* dv per head */
  int causal;
  int window;  /* -1: all keys */
  int separate_proj; /* 1: q/k/v_proj_weight names (H*dk != E or H*dv != E) */
  float dropout;     /* on the attention weights, training only */
} ta_mha_shape;

/* Fills a ta_mha_shape for model width E from an attention config (heads, key_dim 0 =
 * E / heads); returns TA_ERR_ARG with a message when E is not divisible by heads. */
int ta_mha_shape_of(ta_mha_shape *s, int E, int heads, int key_dim, int causal, int window,
                    float dropout, ta_msg *msg);
size_t ta_mha_n_params(const ta_mha_shape *s, size_t E);
/* the multi-head attention layer's shape from its validated configuration (cannot fail
 * after setup), for its CPU (layer_multihead_attention.c) and GPU (mha_cuda.cu) paths */
static inline ta_mha_shape ta_mha_layer_shape(const ta_layer *L) {
  const ta_attn_cfg *c = &L->cfg.attn;
  ta_mha_shape sh;
  ta_mha_shape_of(&sh, L->in_dim, c->heads, c->key_dim, c->causal, c->window, c->rate, NULL);
  return sh;
}
int ta_mha_n_tensors(const ta_mha_shape *s);
/* tensor k's PyTorch name (without any prefix) and shape */
void ta_mha_tensor(const ta_mha_shape *s, size_t E, int k, ta_tensor_info *info);
void ta_mha_init(const ta_mha_shape *s, size_t E, float *params, ta_rng *rng);
size_t ta_mha_cache_size(const ta_mha_shape *s, size_t E, size_t B, size_t T);
size_t ta_mha_scratch_size(const ta_mha_shape *s, size_t E, size_t B, size_t T);
/* out [B, T, E] = MHA(x [B, T, E]) */
void ta_mha_forward(const ta_mha_shape *s, float *out, float *cache, const float *x,
                    const float *params, const ta_pass *ps, size_t E, size_t B, size_t T);
/* dx [B, T, E] (=, may be NULL), dparams +=, from dout [B, T, E] */
void ta_mha_backward(const ta_mha_shape *s, float *dx, float *dparams, float *scratch,
                     const float *dout, const float *x, const float *cache, const float *params,
                     const ta_pass *ps, size_t E, size_t B, size_t T);
/* the attention weights of the last forward (before dropout): out [B, H, T, T] */
void ta_mha_weights(const ta_mha_shape *s, float *out, const float *cache, size_t E, size_t B,
                    size_t T);

#endif
