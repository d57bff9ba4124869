/* The two backends of the network actions (api_backend.h): the CPU core's functions and,
 * in a CUDA build, the GPU's (ta_cuda_net.h), behind one table each. */
#include <string.h>
#include <R.h>
#include <Rinternals.h>
#include "api_backend.h"
#include "ta_cuda.h"
#include "ta_forecast.h"
#include "ta_loss.h"
#include "ta_threads.h"

/* ---- the CPU ------------------------------------------------------------------- */

static int cpu_predict(api_backend *b, float *out, const float *x, const int *len, size_t B,
                       size_t T, size_t chunk, ta_msg *msg) {
  ta_net *net = b->net;
  size_t xrow = T * (size_t)net->in_dim;
  size_t yrow = ta_net_out_time(net, T) * (size_t)net->out_dim;
  if (chunk > B) chunk = B;
  int st = ta_net_reserve(net, chunk, T, msg);
  if (st != TA_OK) return st;
  /* long passes end early while an interrupt is pending (net->stop); each chunk is
   * followed by the interrupt check, so that a chunk cut short is never returned */
  for (size_t s = 0; s < B; s += chunk) {
    size_t n = B - s < chunk ? B - s : chunk;
    const float *y = ta_net_predict(net, x + s * xrow, len ? len + s : NULL, n, T);
    if (user_interrupted(NULL)) return ta_fail(msg, TA_ERR_INTERRUPT, "interrupted");
    memcpy(out + s * yrow, y, n * yrow * sizeof(float));
  }
  return TA_OK;
}

static int cpu_gradient(api_backend *b, double *loss, float *grads, float *dx, float *yhat,
                        const float *x, const int *len, const float *y, size_t B, size_t T,
                        int loss_kind, int training, ta_msg *msg) {
  ta_net *net = b->net;
  size_t ny = B * ta_net_out_time(net, T) * (size_t)net->out_dim;
  float *dy = (float *)R_alloc(ny + 1, sizeof(float));
  int st = ta_net_reserve(net, B, T, msg);
  if (st != TA_OK) return st;
  net->target = training ? y : NULL;
  const float *out = ta_net_forward(net, x, len, B, T, training);
  *loss = ta_batch_loss(net, loss_kind, dy, out, y, len, B, T);
  memset(net->grads, 0, net->n_params * sizeof(float));
  ta_net_backward(net, dx, dy, x, len, B, T);
  memcpy(yhat, out, ny * sizeof(float));
  memcpy(grads, net->grads, net->n_params * sizeof(float));
  return TA_OK;
}

static int cpu_train(api_backend *b, const ta_data *train, const ta_data *val, size_t T,
                     const ta_train_cfg *cfg, double *loss_hist, double *val_hist,
                     ta_train_result *res, ta_msg *msg) {
  return ta_train(b->net, train, val, T, cfg, loss_hist, val_hist, res, msg);
}

/* one copy of the network per thread that will run a block of paths (ta_simulate uses
 * at most one per TA_SIM_MIN_ROWS windows; more copies only cost memory) */
static int cpu_simulate(api_backend *b, const ta_sim *s, ta_msg *msg) {
  ta_net *net = b->net;
  int n_nets = ta_threads();
  int useful = s->n_resid > 0 ? (int)((s->npaths + TA_SIM_MIN_ROWS) / TA_SIM_MIN_ROWS) : 1;
  if (n_nets > useful) n_nets = useful;
  if (n_nets > 64) n_nets = 64;
  if (n_nets < 1) n_nets = 1;
  ta_net **nets = (ta_net **)R_alloc((size_t)n_nets, sizeof(ta_net *));
  SEXP *ptrs = (SEXP *)R_alloc((size_t)n_nets, sizeof(SEXP));
  nets[0] = net;
  for (int i = 1; i < n_nets; i++) {
    ptrs[i] = build_net(b->spec, b->in_dim, &nets[i]); /* freed by its finalizer on error */
    memcpy(nets[i]->params, net->params, net->n_params * sizeof(float));
    nets[i]->stop = net->stop;
  }
  int st = ta_simulate(nets, n_nets, s, user_interrupted, NULL, msg);
  for (int i = 1; i < n_nets; i++) release(ptrs[i]);
  UNPROTECT(n_nets - 1);
  return st;
}

static int cpu_attention(api_backend *b, const attn_bufs *a, const float *x, const int *len,
                         size_t B, size_t T, ta_msg *msg) {
  ta_net *net = b->net;
  int st = ta_net_reserve(net, B, T, msg);
  if (st != TA_OK) return st;
  ta_net_forward(net, x, len, B, T, 0);
  for (int i = 0, k = 0; i < net->n_layers; i++)
    if (ta_net_attn_heads(net, i) > 0) {
      size_t tq, tk;
      ta_net_attn_weights(net, i, a->w[k++], B, T, &tq, &tk);
    }
  return TA_OK;
}

static const api_backend_ops cpu_ops = {cpu_predict, cpu_gradient, cpu_train, cpu_simulate,
                                        cpu_attention};

/* ---- the GPU ------------------------------------------------------------------- */

#if TSATTN_CUDA
#include "ta_cuda_net.h"

static int gpu_predict(api_backend *b, float *out, const float *x, const int *len, size_t B,
                       size_t T, size_t chunk, ta_msg *msg) {
  int st = ta_cuda_net_predict((ta_cuda_net *)b->gpu, out, x, len, B, T, chunk, msg);
  if (st == TA_ERR_INTERRUPT) user_interrupted(NULL); /* the chunks ended on the stop poll */
  return st;
}

/* in training mode the dropout masks are the GPU's own draws (ta_dropout_keep), not the
 * CPU's */
static int gpu_gradient(api_backend *b, double *loss, float *grads, float *dx, float *yhat,
                        const float *x, const int *len, const float *y, size_t B, size_t T,
                        int loss_kind, int training, ta_msg *msg) {
  return ta_cuda_net_gradient((ta_cuda_net *)b->gpu, loss, grads, dx, yhat, x, len, y, B, T,
                              loss_kind, training, msg);
}

/* the generator shuffles on the host, seeded as on the CPU: the same batch order */
static int gpu_train(api_backend *b, const ta_data *train, const ta_data *val, size_t T,
                     const ta_train_cfg *cfg, double *loss_hist, double *val_hist,
                     ta_train_result *res, ta_msg *msg) {
  return ta_cuda_train((ta_cuda_net *)b->gpu, train, val, T, cfg, loss_hist, val_hist, res,
                       msg);
}

/* the interrupt checks wait for the passes queued (ta_cuda_simulate) */
static int gpu_simulate(api_backend *b, const ta_sim *s, ta_msg *msg) {
  return ta_cuda_simulate((ta_cuda_net *)b->gpu, s, user_interrupted, NULL, msg);
}

static int gpu_attention(api_backend *b, const attn_bufs *a, const float *x, const int *len,
                         size_t B, size_t T, ta_msg *msg) {
  ta_cuda_net *g = (ta_cuda_net *)b->gpu;
  const float *yhat;
  int st = ta_cuda_net_reserve(g, B, T, msg);
  if (!st) st = ta_cuda_net_upload(g, x, NULL, B, T, msg);
  if (!st) st = ta_cuda_net_upload_len(g, len, B, msg);
  if (!st) st = ta_cuda_net_forward(g, &yhat, B, T, msg);
  for (int i = 0, k = 0; i < b->net->n_layers && !st; i++)
    if (ta_net_attn_heads(b->net, i) > 0) st = ta_cuda_net_attn_weights(g, i, a->w[k++], B, T, msg);
  return st;
}

static const api_backend_ops gpu_ops = {gpu_predict, gpu_gradient, gpu_train, gpu_simulate,
                                        gpu_attention};

static void gpu_finalizer(SEXP ptr) {
  ta_cuda_net *g = (ta_cuda_net *)R_ExternalPtrAddr(ptr);
  if (g) {
    ta_cuda_net_free(g);
    R_ClearExternalPtr(ptr);
  }
}

/* the GPU copy of net on device `device` into b->gpu */
static int gpu_open(api_backend *b, int device, ta_msg *msg) {
  ta_cuda_net *g;
  int st = ta_cuda_net_create(&g, b->net, device, msg);
  if (st == TA_OK) {
    R_SetExternalPtrAddr(b->dev, g);
    b->gpu = g;
  }
  return st;
}

int api_gpu_unsupported(const ta_net *net, ta_msg *why) {
  return ta_cuda_net_unsupported(net, why);
}

#else

static int gpu_open(api_backend *b, int device, ta_msg *msg) {
  (void)b;
  (void)device;
  return ta_fail(msg, TA_ERR_NO_CUDA, "%s", TA_NO_CUDA_TEXT);
}

int api_gpu_unsupported(const ta_net *net, ta_msg *why) {
  (void)net;
  (void)why;
  return -1;
}

#endif

/* ---- opening and closing -------------------------------------------------------- */

void api_backend_open(api_backend *b, SEXP device, SEXP spec, SEXP in_dim, SEXP host,
                      ta_net *net) {
  int id = isNull(device) ? -1 : scalar_int(device, "device");
  b->ops = &cpu_ops;
  b->net = net;
  b->host = host;
  b->spec = spec;
  b->in_dim = in_dim;
  b->gpu = NULL;
  b->dev = R_NilValue;
  if (id < 0) {
    PROTECT(R_NilValue); /* the one PROTECT of a GPU's pointer */
    return;
  }
  b->dev = PROTECT(R_MakeExternalPtr(NULL, R_NilValue, R_NilValue));
#if TSATTN_CUDA
  R_RegisterCFinalizerEx(b->dev, gpu_finalizer, TRUE);
  b->ops = &gpu_ops;
#endif
  ta_msg msg;
  if (gpu_open(b, id, &msg) != TA_OK) {
    release(host);
    error("%s", msg.text);
  }
}

void api_backend_close(api_backend *b) {
#if TSATTN_CUDA
  if (b->gpu) {
    gpu_finalizer(b->dev);
    b->gpu = NULL;
  }
#else
  (void)b;
#endif
}

void api_backend_fail(api_backend *b, const ta_msg *msg) {
  api_backend_close(b);
  release(b->host);
  error("%s", msg->text);
}
