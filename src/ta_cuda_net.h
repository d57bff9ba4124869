/* A network on the GPU: the host network's layers (shapes, configuration, parameter
 * offsets, generator) with every buffer on the device: parameters, gradients,
 * optimizer state, activations, caches, the batch, and a pinned host staging buffer
 * through which batches go up and outputs come down. Created once per fit() or
 * predict(), sized once per batch shape; nothing is allocated inside the training loop.
 * Every kind of layer has a GPU path (its line in ta_layer_kinds.h);
 * ta_cuda_net_create refuses a layer without one, naming it.
 * A CUDA build implements this in ta_net_cuda.cu and ta_train_cuda.cu; a CPU-only build
 * has none of it (the glue reaches it only through api_backend.c's GPU table, which such a
 * build does not have). No R API, no exit, no printing. */
#ifndef TA_CUDA_NET_H
#define TA_CUDA_NET_H

#include "ta_cuda.h" /* first: gives ta_common.h C linkage in C++ */
#include "ta_cuda_layer.h"

#ifdef __cplusplus
extern "C" {
#endif

#include "ta_train.h"
#include "ta_forecast.h"
#include "ta_loss.h"

typedef struct {
  ta_net *net; /* the host network (borrowed, outlives this): layers, offsets, rng, params */
  const ta_cuda_layer_ops **ops; /* [n_layers] */
  size_t n_params;
  /* device: one block of params, grads [n_params], optimizer state (Adam's m and v,
   * SGD's momentum buffer in m), best and last_good [n_params] (early stopping,
   * divergence), each padded to a 256-byte boundary */
  float *pblock, *params, *grads, *m, *v, *best, *last_good;
  /* device workspace for batches of up to B_cap sequences of T_cap steps */
  size_t B_cap, T_cap;
  float *work;
  float **act, **cache; /* [n_layers] host arrays of device pointers into work */
  float *gA, *gB, *scratch;
  float *x, *y, *dy; /* the batch: x [B, T, in_dim], y and dy [B, T_out, out_dim] */
  int *len_dev;      /* the batch's valid lengths [B] (pass.valid_len when it has some) */
  int *len_stage;    /* pinned host [B]: the same lengths, uploaded from here */
  void *loss_work;   /* ta_cuda_loss's reduction workspace (and the clip norm's) */
  float *stage;      /* pinned host: x [B, T, in_dim] then y [B, T_out, out_dim] */
  ta_cuda_pass pass; /* ones [B_cap * T_cap] for bias gradients */
} ta_cuda_net;

/* 0-based index of the first layer of net without a GPU path (its reason in why), or
 * -1 when every layer has one */
int ta_cuda_net_unsupported(const ta_net *net, ta_msg *why);
/* Puts net (its current parameters) on CUDA device `device`. */
int ta_cuda_net_create(ta_cuda_net **out, ta_net *net, int device, ta_msg *msg);
/* frees everything on the device and the pinned buffer (NULL is fine) */
void ta_cuda_net_free(ta_cuda_net *g);
/* sizes the device workspace for batches of up to B sequences of T steps */
int ta_cuda_net_reserve(ta_cuda_net *g, size_t B, size_t T, ta_msg *msg);
/* forward over the device batch g->x (b <= B_cap sequences, T == T_cap); *yhat points to
 * the device output [b, T_out, out_dim] */
int ta_cuda_net_forward(ta_cuda_net *g, const float **yhat, size_t b, size_t T, ta_msg *msg);
/* the same from device input x [b, T, in_dim] other than g->x (no backward may
 * follow: backward reads its input from g->x) */
int ta_cuda_net_forward_from(ta_cuda_net *g, const float *x, const float **yhat, size_t b,
                             size_t T, ta_msg *msg);
/* backward from dy [b, T_out, out_dim] (device) after a forward: grads +=, and dx
 * [b, T, in_dim] (device) when not NULL */
int ta_cuda_net_backward(ta_cuda_net *g, float *dx, const float *dy, size_t b, size_t T,
                         ta_msg *msg);
/* copies b sequences of host x [b, T, in_dim] (and y [b, T_out, out_dim] unless NULL)
 * into g->x (g->y) through the pinned buffer; the previous upload must be finished
 * (the loss read that ends each step waits for it) */
int ta_cuda_net_upload(ta_cuda_net *g, const float *x, const float *y, size_t b, size_t T,
                       ta_msg *msg);

/* the batch's valid lengths (host [b]; NULL: no padding) to the device, where the
 * layers (pass.valid_len) and ta_cuda_net_loss read them; goes with each upload */
int ta_cuda_net_upload_len(ta_cuda_net *g, const int *len, size_t b, ta_msg *msg);
/* the loss of a forward's output yhat (device) against g->y, as ta_batch_loss: padded
 * steps skipped when lengths were uploaded and the output keeps the input's time
 * steps; dL/dyhat into grad (device, may be NULL). Waits for the result. */
int ta_cuda_net_loss(ta_cuda_net *g, int loss_kind, double *loss, float *grad,
                     const float *yhat, size_t b, size_t T, ta_msg *msg);

/* host x [B, T, in_dim] -> host out [B, T_out, out_dim], in chunks of `chunk` sequences;
 * len [B] valid lengths or NULL */
int ta_cuda_net_predict(ta_cuda_net *g, float *out, const float *x, const int *len, size_t B,
                        size_t T, size_t chunk, ta_msg *msg);
/* loss and gradients on one batch (host in, host out), as C_net_gradient on the CPU:
 * grads [n_params], dx [B, T, in_dim] (may be NULL), yhat [B, T_out, out_dim]; len [B]
 * or NULL; training 1 runs the layers in training mode (dropout, teacher forcing) */
int ta_cuda_net_gradient(ta_cuda_net *g, double *loss, float *grads, float *dx, float *yhat,
                         const float *x, const int *len, const float *y, size_t B, size_t T,
                         int loss_kind, int training, ta_msg *msg);
/* ta_train (ta_train.h) on the GPU: the same batches in the same order (the host
 * network's generator shuffles), the same losses, optimizer, clipping, validation and
 * early stopping; the final weights are copied into g->net->params. Valid lengths
 * (train->len, val->len) mask the loss and the attention as on the CPU. */
int ta_cuda_train(ta_cuda_net *g, const ta_data *train, const ta_data *val, size_t T,
                  const ta_train_cfg *cfg, double *loss_hist, double *val_hist,
                  ta_train_result *res, ta_msg *msg);

/* after a forward of B sequences of T steps, the attention weights of layer i (one with
 * ta_net_attn_heads > 0) into host out [B, heads, T_query, T_key], sized as
 * ta_net_attn_weights gives */
int ta_cuda_net_attn_weights(ta_cuda_net *g, int i, float *out, size_t B, size_t T,
                             ta_msg *msg);

/* ta_simulate (ta_forecast.h) on the GPU: the same loop (ta_sim_run), checks and residual
 * picks, every path's window on the device for all h steps, each pass forwarding the
 * windows in chunks and advancing them with two kernels; the paths come down at the end.
 * Path values agree with the CPU's to float32 rounding. interrupted(ctx) (may be NULL) is
 * asked before each chunk, after the work queued so far. */
int ta_cuda_simulate(ta_cuda_net *g, const ta_sim *s, int (*interrupted)(void *ctx), void *ctx,
                     ta_msg *msg);

#ifdef __cplusplus
}
#endif

#endif
