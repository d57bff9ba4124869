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

enum {
  TA_LAYER_DENSE = 1,
  TA_LAYER_ACTIVATION = 2,
  TA_LAYER_DROPOUT = 3,
  TA_LAYER_GRU = 4,
  TA_LAYER_LSTM = 5,
  TA_LAYER_LAST_STEP = 6
};

/* What R asks for, one per layer (validated by each layer's setup). */
typedef struct {
  int type;
  int units;            /* dense, gru, lstm */
  int num_layers;       /* gru, lstm: stacked cells */
  int activation;       /* dense (fused), activation */
  int bias;             /* dense */
  int return_sequences; /* gru, lstm */
  double rate;          /* dropout rate, or the rnn's inter-layer dropout */
} ta_layer_spec;

/* Per-type configuration: small structs, one per family, never one struct for all. */
typedef struct { int units, activation, bias; } ta_dense_cfg;
typedef struct { int activation; } ta_act_cfg;
typedef struct { float rate; } ta_dropout_cfg;
typedef struct { int hidden, num_layers, return_sequences; float dropout; } ta_rnn_cfg;

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
  size_t (*cache_size)(const ta_layer *L, size_t B, size_t T);
  size_t (*scratch_size)(const ta_layer *L, size_t B, size_t T);
  int (*n_tensors)(const ta_layer *L);
  void (*tensor)(const ta_layer *L, int k, ta_tensor_info *info);
  void (*init)(const ta_layer *L, float *params, ta_rng *rng);
  /* out [B, T_out, out_dim], cache, in [B, T, in_dim] */
  void (*forward)(const ta_layer *L, float *out, float *cache, const float *in,
                  const float *params, int training, ta_rng *rng, size_t B, size_t T);
  /* din [B, T, in_dim] (or NULL), dparams +=, dout [B, T_out, out_dim] */
  void (*backward)(const ta_layer *L, float *din, float *dparams, float *scratch,
                   const float *dout, const float *in, const float *out, const float *cache,
                   const float *params, size_t B, size_t T);
} ta_layer_ops;

struct ta_layer {
  const ta_layer_ops *ops;
  int in_dim, out_dim;
  int keeps_time; /* 1: T_out = T; 0: T_out = 1 */
  size_t n_params;
  union {
    ta_dense_cfg dense;
    ta_act_cfg act;
    ta_dropout_cfg dropout;
    ta_rnn_cfg rnn;
  } cfg;
};

extern const ta_layer_ops ta_dense_ops, ta_activation_ops, ta_dropout_ops, ta_gru_ops,
    ta_lstm_ops, ta_last_step_ops;

/* uniform(-bound, bound) fill, PyTorch's default for Linear/GRU/LSTM */
void ta_fill_uniform(float *p, size_t n, float bound, ta_rng *rng);
/* inverted dropout: mask[i] = 0 or 1/(1-rate); out = in * mask */
void ta_dropout_apply(float *out, float *mask, const float *in, size_t n, float rate,
                      ta_rng *rng);

#endif
