/* The backends a network's .Call actions run on: the CPU core (ta_net.h, ta_train.h,
 * ta_forecast.h) or the GPU (ta_cuda_net.h), one table of functions each, as ta_train.c's
 * ta_train_ops does for the training step. Every entry point (api_net.c, api_forecast.c)
 * reads and checks its arguments, builds its result and handles an interrupt once; only
 * the table's call differs. Each entry point takes the device last: R NULL or a negative
 * number for the CPU, else the CUDA device id (device_id() in R/fit.R).
 *
 * A backend is opened after every R conversion of the arguments (which may raise an R
 * error) and closed before the result is built (which allocates): the GPU copy of the
 * network lives in between, in an external pointer whose finalizer frees the device
 * memory, and api_backend_fail() frees it (and the host network) before an R error. A
 * CPU-only build has no GPU table: opening the GPU is then the error that the build has
 * no CUDA backend. */
#ifndef TA_API_BACKEND_H
#define TA_API_BACKEND_H

#include "api_util.h"

typedef struct api_backend api_backend;

/* Every function returns TA_OK or a status with msg; TA_ERR_INTERRUPT (predict,
 * simulate, train) after the interrupt has been taken, for R to signal it. */
typedef struct {
  /* host x [B, T, in_dim] -> host out [B, T_out, out_dim], in chunks of `chunk`
   * sequences; len [B] valid lengths or NULL; ends early on an interrupt */
  int (*predict)(api_backend *b, float *out, const float *x, const int *len, size_t B,
                 size_t T, size_t chunk, ta_msg *msg);
  /* loss and gradients on one batch: grads [n_params], dx [B, T, in_dim], yhat [B, T_out,
   * out_dim]; training 1 runs the layers in training mode (dropout, teacher forcing) */
  int (*gradient)(api_backend *b, double *loss, float *grads, float *dx, float *yhat,
                  const float *x, const int *len, const float *y, size_t B, size_t T,
                  int loss_kind, int training, ta_msg *msg);
  /* ta_train: the final weights into the host network's params */
  int (*train)(api_backend *b, const ta_data *train, const ta_data *val, size_t T,
               const ta_train_cfg *cfg, double *loss_hist, double *val_hist,
               ta_train_result *res, ta_msg *msg);
  /* the forecast s (ta_forecast.h) into s->paths and s->mean */
  int (*simulate)(api_backend *b, const ta_sim *s, ta_msg *msg);
  /* an evaluation-mode forward, then the attention weights of every attention layer
   * into a->w */
  int (*attention)(api_backend *b, const attn_bufs *a, const float *x, const int *len,
                   size_t B, size_t T, ta_msg *msg);
} api_backend_ops;

struct api_backend {
  const api_backend_ops *ops;
  ta_net *net;       /* the host network (layers, weights, generator, stop poll) */
  SEXP host;         /* its external pointer (build_net) */
  SEXP spec, in_dim; /* what built it: the CPU's copies for simulate's threads */
  SEXP dev;          /* the GPU copy's external pointer; R_NilValue on the CPU */
  void *gpu;         /* the GPU copy (a ta_cuda_net); NULL on the CPU */
};

/* Opens the backend of `device` for net (built from spec and in_dim into the external
 * pointer host, which the caller protected), after the caller's last R conversion: the
 * CPU, or a copy of net (its current weights) on the GPU. PROTECTs one value for the
 * caller to pop. An R error, after freeing the host network, when the GPU cannot be used
 * (a CPU-only build, no device, out of device memory, an unsupported layer). */
void api_backend_open(api_backend *b, SEXP device, SEXP spec, SEXP in_dim, SEXP host,
                      ta_net *net);
/* frees the GPU copy now (nothing on the CPU; again is fine): before R allocates */
void api_backend_close(api_backend *b);
/* closes the backend, frees the host network, then raises msg */
void NORET api_backend_fail(api_backend *b, const ta_msg *msg);

/* 0-based index of the first layer of net without a GPU path (its reason in why), or -1
 * when every layer has one or the build has no GPU at all */
int api_gpu_unsupported(const ta_net *net, ta_msg *why);

#endif
