/* A network: a chain of layers over [B, T, F] activations. It owns one block of
 * parameters, one of gradients, and one workspace (activations, caches, backward
 * buffers) sized once per batch shape by ta_net_reserve; nothing is allocated in the
 * training loop. Optimizer state belongs to the training loop (ta_train.c). */
#ifndef TA_NET_H
#define TA_NET_H

#include "ta_layer.h"

typedef struct {
  int n_layers;
  ta_layer *layers;
  int in_dim, out_dim;
  size_t n_params;
  size_t *param_off; /* [n_layers] */
  float *params, *grads;
  /* workspace, valid for batches up to B_cap of length T_cap */
  size_t B_cap, T_cap;
  float *work;
  size_t work_bytes; /* its size, for the spare kept by ta_net_free (ta_net.c) */
  float **act;   /* [n_layers] outputs */
  float **cache; /* [n_layers] */
  float *gA, *gB, *scratch;
  ta_rng rng;
  /* the current batch's targets [B, T_out, out_dim] while training (teacher forcing);
   * set by the caller around a training forward/backward, NULL otherwise */
  const float *target;
  /* NULL, or a poll that ends long passes early while an interrupt is pending (ta_common.h):
   * set by a caller that asks for the interrupt after each pass and then discards it */
  ta_stop_fn stop;
} ta_net;

/* Builds the layers from specs for inputs of in_dim features; params zeroed. */
int ta_net_create(ta_net **out, const ta_layer_spec *specs, int n_layers, int in_dim,
                  ta_msg *msg);
void ta_net_free(ta_net *net);
/* frees the spare workspace that ta_net_free may keep for the next network (ta_net.c) */
void ta_net_release_spare(void);
/* on != 0: every CPU workspace, new or reused, is filled with NaN bytes before use, for
 * tests: a layer that reads workspace it has not written then gives other results (or
 * NaN). Returns the previous setting. */
int ta_net_set_poison(int on);
/* T_out of the whole network for inputs of length T */
size_t ta_net_out_time(const ta_net *net, size_t T);
/* Sizes the workspace for batches of up to B sequences of length T (no-op if it fits). */
int ta_net_reserve(ta_net *net, size_t B, size_t T, ta_msg *msg);

/* The workspace of a network for batches of B sequences of T steps, one layout for both
 * backends: each layer's output act[i] [B, T_out, out_dim] and cache cache[i] in layer
 * order, then the backward pass's two buffers gA and gB (each as large as the largest
 * activation, the input included) and scratch (the largest any layer asks). Every
 * region starts at a multiple of `align` floats (1 on the CPU; the GPU aligns them).
 * The layers' cache and scratch sizes come from sizes(ctx, i, B, T, &cache, &scratch):
 * the CPU's layer ops or the GPU's. */
typedef void (*ta_layer_sizes_fn)(const void *ctx, int i, size_t B, size_t T, size_t *cache,
                                  size_t *scratch);
typedef struct {
  float **act, **cache;    /* [n_layers], the caller's: filled when a base is given */
  float *gA, *gB, *scratch;
  size_t floats;           /* the regions' floats in all (aligned) */
} ta_workspace;
/* w->floats for B and T; with base not NULL, also every region's start in base (base may
 * be a device address: it is only added to). An error when a layer does not accept the
 * steps it would be given. */
int ta_workspace_plan(ta_workspace *w, const ta_net *net, ta_layer_sizes_fn sizes,
                      const void *ctx, size_t B, size_t T, size_t align, float *base,
                      ta_msg *msg);
/* Fresh parameters as PyTorch initialises them, drawn from rng. */
void ta_net_init(ta_net *net, ta_rng *rng);
/* Forward over x [B, T, in_dim] with optional valid lengths [B]; returns the output
 * [B, T_out, out_dim] (in the workspace). */
const float *ta_net_forward(ta_net *net, const float *x, const int *valid_len, size_t B,
                            size_t T, int training);
/* Inference when only the output is needed (not the caches or attention weights of
 * the layers): as ta_net_forward(training = 0), with the same output, but the layer
 * before a last_step computes only the last step. */
const float *ta_net_predict(ta_net *net, const float *x, const int *valid_len, size_t B,
                            size_t T);
/* Backward from dy [B, T_out, out_dim] after a forward on the same x: grads += dL/dparams;
 * when dx is not NULL it receives dL/dx [B, T, in_dim]. */
void ta_net_backward(ta_net *net, float *dx, const float *dy, const float *x,
                     const int *valid_len, size_t B, size_t T);
/* nonzero when net->stop says an interrupt is pending: the last pass may have ended early
 * and its outputs are unspecified */
static inline int ta_net_stopped(const ta_net *net) { return net->stop && net->stop(); }
/* Heads of attention weights layer i keeps (0 for layers without attention). */
int ta_net_attn_heads(const ta_net *net, int i);
/* After a forward: layer i's weights out [B, heads, t_query, t_key] (out may be NULL to
 * ask only for the lengths). */
void ta_net_attn_weights(const ta_net *net, int i, float *out, size_t B, size_t T,
                         size_t *t_query, size_t *t_key);

#endif
