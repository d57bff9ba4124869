/* The GPU side of the layers that have one (dense, activation, last_step, GRU, LSTM,
 * layer_norm, positional_encoding, dropout, conv1d, seq2seq, attention,
 * multihead_attention, transformer_encoder): for each, a forward and a backward on
 * device buffers with the meaning and shapes of ta_layer_ops (ta_layer.h), plus the
 * sizes of the device cache and scratch they need. The layer itself (shapes,
 * configuration, parameter layout) is the host's ta_layer: only the buffers live on the
 * device. Each function launches its work on the default stream and returns without
 * waiting; a status and a message, never an exit. Layer X's ops table is in
 * layer_X_cuda.cu, the GPU twin of layer_X.c, on the shared kernels of ta_*_cuda.cu
 * (ta_rnn_cuda.cu for GRU, LSTM and seq2seq; ta_norm_cuda.cu for layer_norm and the
 * transformer block; ta_attn_cuda.cu and ta_mha_cuda.cu for the attention layers);
 * used by ta_net_cuda.cu. */
#ifndef TA_CUDA_LAYER_H
#define TA_CUDA_LAYER_H

#include <stdint.h>
#include "ta_cuda.h" /* first: gives ta_common.h C linkage in C++ */

/* the core's declarations keep C linkage when a .cu file includes them through here */
#ifdef __cplusplus
extern "C" {
#endif

#include "ta_layer.h"
#include "ta_rnn.h"

/* What a GPU pass needs besides the layer's buffers: ta_pass's fields (ta_layer.h) with
 * the per-sequence arrays on the device, plus the ones vector of bias gradients. */
typedef struct {
  const float *ones; /* [ones_len] of 1.0f: bias gradients as ones^T dZ (a GEMM, fixed order) */
  size_t ones_len;
  int training;      /* 1 in a training step (dropout active), 0 in evaluation/prediction */
  ta_rng *rng;       /* the host network's generator: dropout keys are drawn from it */
  const int *valid_len; /* device [B] or NULL: leading real steps per sequence (padding mask) */
  const float *target;  /* device [B, T_out, out_dim] or NULL: teacher forcing (seq2seq) */
  int last_only;        /* as ta_pass: only step T-1 of the output will be read */
} ta_cuda_pass;

typedef struct {
  size_t (*cache_size)(const ta_layer *L, size_t B, size_t T);
  size_t (*scratch_size)(const ta_layer *L, size_t B, size_t T);
  /* out [B, T_out, out_dim], cache, in [B, T, in_dim] (all device) */
  int (*forward)(const ta_layer *L, float *out, float *cache, const float *in,
                 const float *params, const ta_cuda_pass *ps, size_t B, size_t T, ta_msg *msg);
  /* din [B, T, in_dim] (=, or NULL), dparams (+=), dout [B, T_out, out_dim] */
  int (*backward)(const ta_layer *L, float *din, float *dparams, float *scratch,
                  const float *dout, const float *in, const float *out, const float *cache,
                  const float *params, const ta_cuda_pass *ps, size_t B, size_t T, ta_msg *msg);
  /* optional, as ta_layer_ops.attn_weights (NULL for layers without attention; the
   * host's attn_heads gives the count): after a forward, the attention weights kept in
   * the device cache into device out [B, heads, T_out, T_key] */
  int (*attn_weights)(const ta_layer *L, float *out, const float *cache, size_t B, size_t T,
                      ta_msg *msg);
} ta_cuda_layer_ops;

/* every kind's GPU table (layer_X_cuda.cu), from the list (ta_layer_kinds.h) */
#define TA_LAYER_GPU_DECL(id, name, cpu, gpu) extern const ta_cuda_layer_ops gpu;
TA_LAYER_KINDS(TA_LAYER_GPU_DECL)
#undef TA_LAYER_GPU_DECL

/* ---- helpers shared by the layers (ta_layer_cuda.cu) -------------------------------- */

/* Z[rows, n] (row stride ld) += b1[n] (+ b2[n] when b2 is not NULL: Z + (b1 + b2), the
 * CPU's order) */
int ta_cuda_add_bias(float *Z, size_t ld, const float *b1, const float *b2, size_t rows,
                     size_t n, ta_msg *msg);
/* db[n] += column sums of dZ[rows, n] (row stride ld), as ones[rows]^T dZ through
 * cuBLAS: a fixed summation order, no atomics */
int ta_cuda_bias_grad(float *db, const float *dZ, size_t ld, size_t rows, size_t n,
                      const ta_cuda_pass *ps, ta_msg *msg);
/* rows of `width` floats: dst row r (stride dld) = src row r (stride sld), r < rows */
int ta_cuda_copy_rows(float *dst, size_t dld, const float *src, size_t sld, size_t width,
                      size_t rows, ta_msg *msg);
/* n floats of zeros */
int ta_cuda_zero(float *p, size_t n, ta_msg *msg);
/* n floats of value v */
int ta_cuda_fill(float *p, float v, size_t n, ta_msg *msg);

/* Layer normalisation of the rows of x [R, F] (device), as ta_layernorm_forward and
 * ta_layernorm_backward (ta_norm.h) with the same row formulas (ta_norm_math.h; one
 * thread per row, sums in a fixed order); for the layer-norm layer and the blocks that
 * contain one (ta_norm_cuda.cu). Backward: dx [R, F] (=, may be NULL), dgamma and dbeta
 * [F] (+=, column sums as ones^T products: R <= ps->ones_len), work [R, F] free. */
int ta_cuda_layernorm_forward(float *y, float *mean, float *rstd, const float *x,
                              const float *gamma, const float *beta, size_t R, size_t F,
                              float eps, ta_msg *msg);
int ta_cuda_layernorm_backward(float *dx, float *dgamma, float *dbeta, float *work,
                               const float *dy, const float *x, const float *mean,
                               const float *rstd, const float *gamma, size_t R, size_t F,
                               const ta_cuda_pass *ps, ta_msg *msg);

#ifdef __cplusplus
}
#endif

#endif
