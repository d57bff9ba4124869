/* The layer interface. A layer is its shapes and configuration plus a table of
 * functions; it owns no memory. The network hands it slices of its blocks:
 *   params  [n_params]        read in forward/backward
 *   dparams [n_params]        backward adds (+=) parameter gradients
 *   cache   [cache_size(B,T)] written by forward, read by backward
 *   scratch [scratch_size(B,T)] free for backward's temporaries
 * Activations are [B, T, F] row-major (batch first, features fastest). Backward writes
 * the input gradient (=) and skips it when din is NULL (the first layer). */
#ifndef TA_LAYER_H
#define TA_LAYER_H

#include <stddef.h>
#include "ta_common.h"
#include "ta_rng.h"
#include "ta_layer_kinds.h"

/* TA_LAYER_DENSE = 1, ... in the order of the one list of kinds (ta_layer_kinds.h) */
#define TA_LAYER_ENUM(id, name, cpu, gpu) TA_LAYER_##id,
enum { TA_LAYER_NONE = 0, TA_LAYER_KINDS(TA_LAYER_ENUM) TA_LAYER_N };
#undef TA_LAYER_ENUM

/* Codes of the settings below. R names them; the glue maps each name to its code with
 * one table per enum (src/api_spec.c), so a new code needs its name there too. */
/* attention and seq2seq scores, one numbering: layer_attention() takes dot, scaled_dot,
 * additive, cosine; seq2seq() additive, dot, general */
enum {
  TA_SCORE_DOT = 0,
  TA_SCORE_SCALED_DOT = 1,
  TA_SCORE_ADDITIVE = 2,
  TA_SCORE_COSINE = 3,
  TA_SCORE_GENERAL = 4
};
enum { TA_PAD_SAME = 0, TA_PAD_CAUSAL = 1, TA_PAD_VALID = 2 };
enum { TA_POSENC_SINUSOIDAL = 0, TA_POSENC_LEARNED = 1 };
enum { TA_CELL_GRU = 0, TA_CELL_LSTM = 1 }; /* seq2seq's encoder and decoder */

/* What R asks for, one per layer (validated by each layer's setup). The glue fills it
 * by field name from R's named list (layer_spec() in R/layers.R): a field R leaves out
 * is 0, window -1. Each field has one meaning. */
typedef struct {
  int type;             /* TA_LAYER_* */
  int units;            /* dense, gru, lstm: output width; seq2seq: hidden size; attention:
                           value width (0 = input width); conv1d: filters */
  int num_layers;       /* gru, lstm: stacked cells */
  int activation;       /* TA_ACT_*: dense (fused), activation, conv1d, transformer
                           feed-forward */
  int bias;             /* dense, conv1d, attention projections */
  int return_sequences; /* gru, lstm */
  int key_dim;          /* attention, mha: query/key width (0 = default) */
  int heads;            /* mha, transformer */
  int score;            /* attention, seq2seq: TA_SCORE_* */
  int window;           /* attention, mha: keys within +-window of the query; -1 = all */
  int causal;           /* attention, mha, transformer: no query sees a later key */
  int kernel_size;      /* conv1d */
  int padding;          /* conv1d: TA_PAD_* */
  int encoding;         /* positional encoding: TA_POSENC_* */
  int max_len;          /* positional encoding */
  int d_ff;             /* transformer feed-forward width */
  int norm_first;       /* transformer: 1 = pre-norm */
  int cell;             /* seq2seq: TA_CELL_* */
  int attn_dim;         /* seq2seq: additive score width (0 = units) */
  int horizon;          /* seq2seq: decoder steps */
  int out_dim;          /* seq2seq: output features (the first of the input's) */
  double rate;          /* dropout rate (dropout, rnn inter-layer, attention, posenc, transformer) */
  double eps;           /* layer norm epsilon (layer_norm, transformer) */
} ta_layer_spec;

/* Per-type configuration: small structs, one per family, never one struct for all. */
typedef struct { int units, activation, bias; } ta_dense_cfg;
typedef struct { int activation; } ta_act_cfg;
typedef struct { float rate; } ta_dropout_cfg;
typedef struct { int hidden, num_layers, return_sequences; float dropout; } ta_rnn_cfg;
typedef struct { int filters, kernel, padding, bias, activation; } ta_conv_cfg;
typedef struct { float eps; } ta_norm_cfg;
typedef struct { int type, max_len; float rate; } ta_posenc_cfg;
/* single-head attention (heads = 1) and multi-head attention */
typedef struct { int units, key_dim, heads, score, window, causal, bias; float rate; } ta_attn_cfg;
typedef struct { int heads, d_ff, causal, norm_first, activation; float rate, eps; } ta_transformer_cfg;
/* seq2seq: hidden H, attention width A, score (TA_SCORE_ADDITIVE, _DOT or _GENERAL),
 * horizon, cell (TA_CELL_*) */
typedef struct { int hidden, attn_dim, score, horizon, cell; } ta_seq2seq_cfg;

/* What a forward or backward pass needs besides buffers. valid_len, when not NULL, gives
 * per sequence the number of leading steps that are real [B]; attention gives the keys
 * after them exactly zero weight. target, when not NULL, is the batch's target
 * [B, T_out, out_dim] of the whole network, for layers that train with teacher forcing
 * (seq2seq); it is NULL at prediction time. last_only (inference only, never with a
 * backward after it) says that only step T-1 of each sequence of this layer's output
 * will be read (the next layer is last_step); a layer may then compute just those rows
 * and leave the others of out (and its cache) unwritten. Attention layers use it to run
 * one query instead of T, which is most of a recursive forecast's work. */
typedef struct {
  int training;
  ta_rng *rng;
  const int *valid_len;
  const float *target;
  int last_only;
  ta_stop_fn stop; /* NULL, or the network's interrupt poll (ta_common.h) */
} ta_pass;

/* nonzero when the pass should end early (an interrupt is pending): checked by layers
 * between blocks of their work, so that an interrupt is honoured within a fraction of a
 * second even in one long forward or backward pass */
static inline int ta_pass_stopped(const ta_pass *ps) { return ps->stop && ps->stop(); }

typedef struct ta_layer ta_layer;

#define TA_MAX_NDIM 4
#define TA_NAME_LEN 48
typedef struct {
  char name[TA_NAME_LEN]; /* PyTorch state_dict name without the layer prefix */
  int ndim;
  int dim[TA_MAX_NDIM];
} ta_tensor_info;

typedef struct {
  const char *kind;
  /* validate spec, fill cfg, out_dim, keeps_time, n_params */
  int (*setup)(ta_layer *L, const ta_layer_spec *spec, ta_msg *msg);
  /* T_out for inputs of length T; NULL means keeps_time decides (T or 1). Returns 0 if
   * T is too short for the layer. */
  size_t (*out_time)(const ta_layer *L, size_t T);
  size_t (*cache_size)(const ta_layer *L, size_t B, size_t T);
  size_t (*scratch_size)(const ta_layer *L, size_t B, size_t T);
  int (*n_tensors)(const ta_layer *L);
  void (*tensor)(const ta_layer *L, int k, ta_tensor_info *info);
  void (*init)(const ta_layer *L, float *params, ta_rng *rng);
  /* out [B, T_out, out_dim], cache, in [B, T, in_dim] */
  void (*forward)(const ta_layer *L, float *out, float *cache, const float *in,
                  const float *params, const ta_pass *ps, size_t B, size_t T);
  /* din [B, T, in_dim] (or NULL), dparams +=, dout [B, T_out, out_dim] */
  void (*backward)(const ta_layer *L, float *din, float *dparams, float *scratch,
                   const float *dout, const float *in, const float *out, const float *cache,
                   const float *params, const ta_pass *ps, size_t B, size_t T);
  /* optional (NULL when the layer has no attention): heads of attention weights kept in
   * the cache, and a copy of them after a forward: out [B, heads, T_out, T_key] */
  int (*attn_heads)(const ta_layer *L);
  void (*attn_weights)(const ta_layer *L, float *out, const float *cache, size_t B, size_t T);
} ta_layer_ops;

struct ta_layer {
  const ta_layer_ops *ops;
  int in_dim, out_dim;
  int keeps_time; /* 1: T_out = T; 0: T_out = 1 (unless ops->out_time says otherwise) */
  size_t n_params;
  union {
    ta_dense_cfg dense;
    ta_act_cfg act;
    ta_dropout_cfg dropout;
    ta_rnn_cfg rnn;
    ta_conv_cfg conv;
    ta_norm_cfg norm;
    ta_posenc_cfg posenc;
    ta_attn_cfg attn;
    ta_transformer_cfg tf;
    ta_seq2seq_cfg s2s;
  } cfg;
};

/* every kind's CPU table (layer_X.c), from the list */
#define TA_LAYER_CPU_DECL(id, name, cpu, gpu) extern const ta_layer_ops cpu;
TA_LAYER_KINDS(TA_LAYER_CPU_DECL)
#undef TA_LAYER_CPU_DECL

/* T_out of layer L for inputs of length T */
static inline size_t ta_layer_out_time(const ta_layer *L, size_t T) {
  if (L->ops->out_time) return L->ops->out_time(L, T);
  return L->keeps_time ? T : 1;
}

/* uniform(-bound, bound) fill, PyTorch's default for Linear/GRU/LSTM */
void ta_fill_uniform(float *p, size_t n, float bound, ta_rng *rng);
/* inverted dropout: mask[i] = 0 or 1/(1-rate); out = in * mask */
void ta_dropout_apply(float *out, float *mask, const float *in, size_t n, float rate,
                      ta_rng *rng);

#endif
