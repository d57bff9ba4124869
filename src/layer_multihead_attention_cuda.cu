/* The multi-head attention layer on the GPU (see layer_multihead_attention.c for the
 * CPU's): the multi-head self-attention of ta_mha_cuda.cu (ta_cuda_mha_*) with the
 * layer's shape (ta_mha_layer_shape). */
#include "ta_cuda_attn.h"

static size_t mha_cache(const ta_layer *L, size_t B, size_t T) {
  ta_mha_shape sh = ta_mha_layer_shape(L);
  return ta_cuda_mha_cache_size(&sh, (size_t)L->in_dim, B, T);
}

static size_t mha_scratch(const ta_layer *L, size_t B, size_t T) {
  ta_mha_shape sh = ta_mha_layer_shape(L);
  return ta_cuda_mha_scratch_size(&sh, (size_t)L->in_dim, B, T);
}

static int mha_forward(const ta_layer *L, float *out, float *cache, const float *in,
                       const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                       ta_msg *msg) {
  ta_mha_shape sh = ta_mha_layer_shape(L);
  return ta_cuda_mha_forward(&sh, out, cache, in, params, ps, (size_t)L->in_dim, B, T, msg);
}

static int mha_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                        const float *dout, const float *in, const float *out, const float *cache,
                        const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                        ta_msg *msg) {
  (void)out;
  ta_mha_shape sh = ta_mha_layer_shape(L);
  return ta_cuda_mha_backward(&sh, din, dparams, scratch, dout, in, cache, params, ps,
                              (size_t)L->in_dim, B, T, msg);
}

static int mha_weights(const ta_layer *L, float *out, const float *cache, size_t B, size_t T,
                       ta_msg *msg) {
  ta_mha_shape sh = ta_mha_layer_shape(L);
  return ta_cuda_mha_weights(&sh, out, cache, (size_t)L->in_dim, B, T, msg);
}

extern "C" const ta_cuda_layer_ops ta_cuda_mha_ops = {mha_cache, mha_scratch, mha_forward,
                                                      mha_backward, mha_weights};
