/* The attention core on the GPU (ta_attn_cuda.cu), shared by the attention, multi-head
 * attention and transformer layers: from projected queries, keys and values, the
 * scores of every (sequence, head), the masked softmax, dropout on the weights and the
 * weighted sum of the values, and the backward of all of it. The products (S = Q K^T,
 * O = P V and their gradients) are strided-batched cuBLAS calls over the sequences, one
 * per head; the row formulas (masks, softmax and its backward, the cosine and additive
 * scores) are ta_attn_math.h's, the ones the CPU kernels (ta_attn.c) call, run by
 * one GPU thread per score row. Every sum has a fixed order (no atomics).
 *
 * Layout: head h of sequence b reads its queries at q + b*T*ldq + h*dk (T rows of dk,
 * row stride ldq), keys at k + b*T*ldk + h*dk, values at v + b*T*ldv + h*dv, and writes
 * its output at o + b*T*ldo + h*dv; the gradients dq, dk, dv share the strides of q, k,
 * v. Single-head attention has H = 1; multi-head attention points q, k, v into one
 * qkv buffer. */
#ifndef TA_CUDA_ATTN_H
#define TA_CUDA_ATTN_H

#include "ta_cuda.h" /* first: gives ta_common.h C linkage in C++ */
#include "ta_cuda_layer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int score;  /* TA_SCORE_* */
  int causal; /* no query sees a later key */
  int window; /* -1: all keys */
  size_t B, H, T, dk, dv;
  size_t ldq, ldk, ldv, ldo;
  float rate; /* dropout on the weights in training (0: none) */
} ta_cuda_attn;

/* device cache: P [B,H,T,T] (the weights before dropout), then with rate > 0 the
 * dropout multipliers and P * multipliers [B,H,T,T] each, then for the cosine score the
 * clamped query and key norms [B,H,T] each */
size_t ta_cuda_attn_cache_size(const ta_cuda_attn *a);
size_t ta_cuda_attn_scratch_size(const ta_cuda_attn *a);
/* the weights P of the last forward, inside its cache */
const float *ta_cuda_attn_weights(const ta_cuda_attn *a, const float *cache);

/* o = softmax(score(q, k) masked) v (dropout on the weights in training); sw: the
 * score's parameters (device: additive w [dk], cosine log_scale [1]; else NULL) */
int ta_cuda_attn_forward(const ta_cuda_attn *a, float *o, float *cache, const float *q,
                         const float *k, const float *v, const float *sw,
                         const ta_cuda_pass *ps, ta_msg *msg);
/* dq, dk, dv (=) and dsw (+=: additive [dk], cosine [1]) from dout, after a forward
 * with the same pass (its training flag says whether dropout was applied) */
int ta_cuda_attn_backward(const ta_cuda_attn *a, float *dq, float *dk, float *dv, float *dsw,
                          float *scratch, const float *dout, const float *q, const float *k,
                          const float *v, const float *cache, const float *sw,
                          const ta_cuda_pass *ps, ta_msg *msg);

/* Multi-head self-attention (ta_mha_* of ta_mha.h, PyTorch's layout) on the GPU, for
 * the multi-head attention layer and the transformer block (ta_mha_cuda.cu). Caches and
 * scratch on the device, sized by these. */
#include "ta_attn.h"
#include "ta_mha.h"
size_t ta_cuda_mha_cache_size(const ta_mha_shape *s, size_t E, size_t B, size_t T);
size_t ta_cuda_mha_scratch_size(const ta_mha_shape *s, size_t E, size_t B, size_t T);
int ta_cuda_mha_forward(const ta_mha_shape *s, float *out, float *cache, const float *x,
                        const float *params, const ta_cuda_pass *ps, size_t E, size_t B,
                        size_t T, ta_msg *msg);
/* dx (=, may be NULL), dparams (+=) */
int ta_cuda_mha_backward(const ta_mha_shape *s, float *dx, float *dparams, float *scratch,
                         const float *dout, const float *x, const float *cache,
                         const float *params, const ta_cuda_pass *ps, size_t E, size_t B,
                         size_t T, ta_msg *msg);
/* the weights [B, H, T, T] of the last forward into device out */
int ta_cuda_mha_weights(const ta_mha_shape *s, float *out, const float *cache, size_t E,
                        size_t B, size_t T, ta_msg *msg);

#ifdef __cplusplus
}
#endif

#endif
