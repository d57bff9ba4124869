/* Multi-head self-attention layer (R's layer_multihead_attention()): PyTorch's
 * nn.MultiheadAttention with query = key = value = the input [B, T, E]; out [B, T, E].
 * The work is in ta_mha.c (shared with the transformer encoder block); this file maps the
 * layer interface onto the ta_mha_* API of ta_mha.h. */
#include "ta_layer.h"
#include "ta_mha.h"

static int mha_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  ta_mha_shape sh;
  int st = ta_mha_shape_of(&sh, L->in_dim, s->heads, s->key_dim, s->causal, s->window,
                           (float)s->rate, msg);
  if (st != TA_OK) return st;
  ta_attn_cfg *c = &L->cfg.attn;
  c->units = L->in_dim;
  c->key_dim = sh.key_dim;
  c->heads = sh.heads;
  c->score = TA_SCORE_SCALED_DOT;
  c->window = sh.window;
  c->causal = sh.causal;
  c->bias = 1;
  c->rate = sh.dropout;
  L->out_dim = L->in_dim;
  L->keeps_time = 1;
  L->n_params = ta_mha_n_params(&sh, (size_t)L->in_dim);
  return TA_OK;
}

static size_t mha_cache(const ta_layer *L, size_t B, size_t T) {
  ta_mha_shape sh = ta_mha_layer_shape(L);
  return ta_mha_cache_size(&sh, (size_t)L->in_dim, B, T);
}

static size_t mha_scratch(const ta_layer *L, size_t B, size_t T) {
  ta_mha_shape sh = ta_mha_layer_shape(L);
  return ta_mha_scratch_size(&sh, (size_t)L->in_dim, B, T);
}

static int mha_n_tensors(const ta_layer *L) {
  ta_mha_shape sh = ta_mha_layer_shape(L);
  return ta_mha_n_tensors(&sh);
}

static void mha_tensor(const ta_layer *L, int k, ta_tensor_info *info) {
  ta_mha_shape sh = ta_mha_layer_shape(L);
  ta_mha_tensor(&sh, (size_t)L->in_dim, k, info);
}

static void mha_init(const ta_layer *L, float *params, ta_rng *rng) {
  ta_mha_shape sh = ta_mha_layer_shape(L);
  ta_mha_init(&sh, (size_t)L->in_dim, params, rng);
}

static void mha_forward(const ta_layer *L, float *out, float *cache, const float *in,
                        const float *params, const ta_pass *ps, size_t B, size_t T) {
  ta_mha_shape sh = ta_mha_layer_shape(L);
  ta_mha_forward(&sh, out, cache, in, params, ps, (size_t)L->in_dim, B, T);
}

static void mha_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                         const float *dout, const float *in, const float *out, const float *cache,
                         const float *params, const ta_pass *ps, size_t B, size_t T) {
  (void)out;
  ta_mha_shape sh = ta_mha_layer_shape(L);
  ta_mha_backward(&sh, din, dparams, scratch, dout, in, cache, params, ps, (size_t)L->in_dim, B, T);
}

static int mha_heads(const ta_layer *L) { return L->cfg.attn.heads; }

static void mha_weights(const ta_layer *L, float *out, const float *cache, size_t B, size_t T) {
  ta_mha_shape sh = ta_mha_layer_shape(L);
  ta_mha_weights(&sh, out, cache, (size_t)L->in_dim, B, T);
}

const ta_layer_ops ta_mha_ops = {
    .kind = "multihead_attention",
    .setup = mha_setup,
    .cache_size = mha_cache,
    .scratch_size = mha_scratch,
    .n_tensors = mha_n_tensors,
    .tensor = mha_tensor,
    .init = mha_init,
    .forward = mha_forward,
    .backward = mha_backward,
    .attn_heads = mha_heads,
    .attn_weights = mha_weights};
