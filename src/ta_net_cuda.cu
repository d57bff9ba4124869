/* A network on the GPU (ta_cuda_net.h): device buffers for a host network's layers,
 * forward and backward through the GPU layers (ta_cuda_layer.h) in the order of
 * ta_net.c, batches up and outputs down through one pinned buffer. Each layer's GPU
 * table is its kind's in the one list of kinds (ta_layer_kinds.h): every kind has one. */
#include <stdlib.h>
#include <string.h>
#include "ta_cuda_check.h"
#include "ta_cuda_net.h"
#include "ta_cuda_ops.h"

/* sub-buffers of a device block start on 256-byte boundaries (cuBLAS's preferred
 * alignment; a float is 4 bytes) */
static size_t pad(size_t floats) { return (floats + 63) / 64 * 64; }

/* the GPU table of a layer: its kind's in the list of kinds (ta_layer_kinds.h) */
static const ta_cuda_layer_ops *gpu_ops_for(const ta_layer *L) {
#define GPU_OPS(id, name, cpu, gpu)                                                          \
  if (L->ops == &cpu) return &gpu;
  TA_LAYER_KINDS(GPU_OPS)
#undef GPU_OPS
  return NULL;
}

extern "C" int ta_cuda_net_unsupported(const ta_net *net, ta_msg *why) {
  for (int i = 0; i < net->n_layers; i++) {
    const ta_layer *L = &net->layers[i];
    if (gpu_ops_for(L)) continue;
    ta_fail(why, TA_ERR_ARG, "layer %d (%s) has no GPU implementation", i + 1, L->ops->kind);
    return i;
  }
  return -1;
}

static void free_host(void *p) {
  if (p && cudaFreeHost(p) != cudaSuccess) (void)cudaGetLastError();
}

static void free_work(ta_cuda_net *g) {
  ta_cuda_free(g->work);
  ta_cuda_free(g->loss_work);
  ta_cuda_free(g->len_dev);
  free_host(g->stage);
  free_host(g->len_stage);
  g->work = NULL;
  g->loss_work = NULL;
  g->len_dev = NULL;
  g->stage = NULL;
  g->len_stage = NULL;
  g->pass.valid_len = NULL;
  g->B_cap = g->T_cap = 0;
}

extern "C" void ta_cuda_net_free(ta_cuda_net *g) {
  if (!g) return;
  free_work(g);
  ta_cuda_free(g->pblock);
  free(g->ops);
  free(g->act);
  free(g->cache);
  free(g);
}

extern "C" int ta_cuda_net_create(ta_cuda_net **out, ta_net *net, int device, ta_msg *msg) {
  *out = NULL;
  ta_msg why;
  int bad = ta_cuda_net_unsupported(net, &why);
  if (bad >= 0) return ta_fail(msg, TA_ERR_ARG, "%s", why.text);
  int st = ta_cuda_select(device, msg);
  if (st) return st;
  ta_cuda_net *g = (ta_cuda_net *)calloc(1, sizeof(ta_cuda_net));
  if (!g) return ta_fail(msg, TA_ERR_NOMEM, "out of memory building the GPU network");
  size_t nl = (size_t)net->n_layers;
  g->net = net;
  g->ops = (const ta_cuda_layer_ops **)calloc(nl, sizeof(*g->ops));
  g->act = (float **)calloc(nl, sizeof(float *));
  g->cache = (float **)calloc(nl, sizeof(float *));
  if (!g->ops || !g->act || !g->cache) {
    ta_cuda_net_free(g);
    return ta_fail(msg, TA_ERR_NOMEM, "out of memory building the GPU network");
  }
  for (size_t i = 0; i < nl; i++) g->ops[i] = gpu_ops_for(&net->layers[i]);
  g->pass.rng = &net->rng; /* evaluation mode until ta_cuda_train sets training */
  size_t np = net->n_params, P = pad(np + 1);
  g->n_params = np;
  /* params, grads, m, v, best, last_good */
  if ((st = ta_cuda_malloc((void **)&g->pblock, 6 * P * sizeof(float), msg))) {
    ta_cuda_net_free(g);
    return st;
  }
  g->params = g->pblock;
  g->grads = g->params + P;
  g->m = g->grads + P;
  g->v = g->m + P;
  g->best = g->v + P;
  g->last_good = g->best + P;
  /* Adam's m and v (or SGD's buffer) start at zero */
  if ((st = ta_cuda_zero(g->pblock, 6 * P, msg)) ||
      (st = ta_cuda_to_device(g->params, net->params, np * sizeof(float), msg))) {
    ta_cuda_net_free(g);
    return st;
  }
  *out = g;
  return TA_OK;
}

/* the GPU layers' sizes, for ta_workspace_plan */
static void gpu_layer_sizes(const void *ctx, int i, size_t B, size_t T, size_t *cache,
                            size_t *scratch) {
  const ta_cuda_net *g = (const ta_cuda_net *)ctx;
  const ta_layer *L = &g->net->layers[i];
  *cache = g->ops[i]->cache_size(L, B, T);
  *scratch = g->ops[i]->scratch_size(L, B, T);
}

extern "C" int ta_cuda_net_reserve(ta_cuda_net *g, size_t B, size_t T, ta_msg *msg) {
  if (g->work && B <= g->B_cap && T == g->T_cap) return TA_OK;
  const ta_net *net = g->net;
  /* the layers' regions (ta_workspace_plan, as on the CPU, aligned to 64 floats), then
   * the GPU's own: a row of ones, the batch's x, y and dy */
  ta_workspace w = {g->act, g->cache, NULL, NULL, NULL, 0};
  int st = ta_workspace_plan(&w, net, gpu_layer_sizes, g, B, T, 64, NULL, msg);
  if (st != TA_OK) return st;
  size_t nx = B * T * (size_t)net->in_dim, ny = B * ta_net_out_time(net, T) * (size_t)net->out_dim;
  size_t total = w.floats + pad(B * T) + pad(nx) + 2 * pad(ny);
  free_work(g);
  if ((st = ta_cuda_malloc((void **)&g->work, total * sizeof(float), msg)) ||
      (st = ta_cuda_malloc(&g->loss_work, ta_cuda_loss_workspace(ny), msg)) ||
      (st = ta_cuda_malloc((void **)&g->len_dev, B * sizeof(int), msg)) ||
      (st = TA_CUDA(cudaMallocHost((void **)&g->stage, (nx + ny) * sizeof(float)), msg)) ||
      (st = TA_CUDA(cudaMallocHost((void **)&g->len_stage, B * sizeof(int)), msg))) {
    free_work(g);
    return st;
  }
  ta_workspace_plan(&w, net, gpu_layer_sizes, g, B, T, 64, g->work, msg);
  g->gA = w.gA;
  g->gB = w.gB;
  g->scratch = w.scratch;
  float *ones = g->work + w.floats;
  g->x = ones + pad(B * T);
  g->y = g->x + pad(nx);
  g->dy = g->y + pad(ny);
  g->pass.ones = ones;
  g->pass.ones_len = B * T;
  if ((st = ta_cuda_fill(ones, 1.0f, B * T, msg))) {
    free_work(g);
    return st;
  }
  g->B_cap = B;
  g->T_cap = T;
  return TA_OK;
}

extern "C" int ta_cuda_net_forward(ta_cuda_net *g, const float **yhat, size_t b, size_t T,
                                   ta_msg *msg) {
  return ta_cuda_net_forward_from(g, g->x, yhat, b, T, msg);
}

extern "C" int ta_cuda_net_forward_from(ta_cuda_net *g, const float *x, const float **yhat,
                                        size_t b, size_t T, ta_msg *msg) {
  const ta_net *net = g->net;
  const float *in = x;
  size_t t = T;
  *yhat = NULL;
  /* teacher forcing reads the batch's target in training only, as ta_net.c */
  g->pass.target = g->pass.training ? g->y : NULL;
  for (int i = 0; i < net->n_layers; i++) {
    const ta_layer *L = &net->layers[i];
    int st = g->ops[i]->forward(L, g->act[i], g->cache[i], in, g->params + net->param_off[i],
                                &g->pass, b, t, msg);
    if (st) return st;
    in = g->act[i];
    t = ta_layer_out_time(L, t);
  }
  *yhat = in;
  return TA_OK;
}

extern "C" int ta_cuda_net_backward(ta_cuda_net *g, float *dx, const float *dy, size_t b,
                                    size_t T, ta_msg *msg) {
  const ta_net *net = g->net;
  const float *dout = dy;
  float *bufs[2] = {g->gA, g->gB};
  for (int i = net->n_layers - 1; i >= 0; i--) {
    const ta_layer *L = &net->layers[i];
    size_t t = T;
    for (int j = 0; j < i; j++) t = ta_layer_out_time(&net->layers[j], t);
    float *din = i > 0 ? bufs[i & 1] : dx;
    const float *in = i > 0 ? g->act[i - 1] : g->x;
    int st = g->ops[i]->backward(L, din, g->grads + net->param_off[i], g->scratch, dout, in,
                                 g->act[i], g->cache[i], g->params + net->param_off[i], &g->pass,
                                 b, t, msg);
    if (st) return st;
    dout = din;
  }
  return TA_OK;
}

extern "C" int ta_cuda_net_upload(ta_cuda_net *g, const float *x, const float *y, size_t b,
                                  size_t T, ta_msg *msg) {
  size_t nx = b * T * (size_t)g->net->in_dim;
  size_t ny = b * ta_net_out_time(g->net, T) * (size_t)g->net->out_dim;
  size_t nx_cap = g->B_cap * g->T_cap * (size_t)g->net->in_dim;
  memcpy(g->stage, x, nx * sizeof(float));
  int st = TA_CUDA(cudaMemcpyAsync(g->x, g->stage, nx * sizeof(float), cudaMemcpyHostToDevice, 0),
                   msg);
  if (st || !y) return st;
  memcpy(g->stage + nx_cap, y, ny * sizeof(float));
  return TA_CUDA(
      cudaMemcpyAsync(g->y, g->stage + nx_cap, ny * sizeof(float), cudaMemcpyHostToDevice, 0), msg);
}

extern "C" int ta_cuda_net_upload_len(ta_cuda_net *g, const int *len, size_t b, ta_msg *msg) {
  g->pass.valid_len = NULL;
  if (!len || b == 0) return TA_OK;
  /* the previous batch's lengths were read by its loss, which waited for the device */
  memcpy(g->len_stage, len, b * sizeof(int));
  int st = TA_CUDA(
      cudaMemcpyAsync(g->len_dev, g->len_stage, b * sizeof(int), cudaMemcpyHostToDevice, 0), msg);
  if (!st) g->pass.valid_len = g->len_dev;
  return st;
}

extern "C" int ta_cuda_net_loss(ta_cuda_net *g, int loss_kind, double *loss, float *grad,
                                const float *yhat, size_t b, size_t T, ta_msg *msg) {
  size_t To = ta_net_out_time(g->net, T), F = (size_t)g->net->out_dim;
  int masked = g->pass.valid_len && ta_loss_masks_padding(g->net, T);
  return ta_cuda_loss_seq(loss_kind, loss, grad, yhat, g->y, masked ? g->len_dev : NULL,
                          masked ? g->len_stage : NULL, b, To, F, g->loss_work, msg);
}

extern "C" int ta_cuda_net_predict(ta_cuda_net *g, float *out, const float *x, const int *len,
                                   size_t B, size_t T, size_t chunk, ta_msg *msg) {
  size_t To = ta_net_out_time(g->net, T), xrow = T * (size_t)g->net->in_dim;
  size_t yrow = To * (size_t)g->net->out_dim;
  if (chunk > B) chunk = B;
  int st = ta_cuda_net_reserve(g, chunk, T, msg);
  if (st) return st;
  float *stage_y = g->stage + g->B_cap * xrow;
  for (size_t s = 0; s < B; s += chunk) {
    size_t b = B - s < chunk ? B - s : chunk;
    const float *yhat;
    if ((st = ta_cuda_net_upload(g, x + s * xrow, NULL, b, T, msg)) ||
        (st = ta_cuda_net_upload_len(g, len ? len + s : NULL, b, msg)) ||
        (st = ta_cuda_net_forward(g, &yhat, b, T, msg)))
      return st;
    if ((st = TA_CUDA(cudaMemcpyAsync(stage_y, yhat, b * yrow * sizeof(float),
                                      cudaMemcpyDeviceToHost, 0),
                      msg)))
      return st;
    /* the output is in the staging buffer, and the next upload may reuse it */
    if ((st = TA_CUDA(cudaStreamSynchronize(0), msg))) return st;
    memcpy(out + s * yrow, stage_y, b * yrow * sizeof(float));
    /* with a stop poll (the host network's; the caller then takes the interrupt), a
     * pending interrupt ends the prediction between chunks */
    if (s + b < B && g->net->stop && g->net->stop())
      return ta_fail(msg, TA_ERR_INTERRUPT, "interrupted");
  }
  return TA_OK;
}

extern "C" int ta_cuda_net_gradient(ta_cuda_net *g, double *loss, float *grads, float *dx,
                                    float *yhat, const float *x, const int *len, const float *y,
                                    size_t B, size_t T, int loss_kind, int training,
                                    ta_msg *msg) {
  size_t nx = B * T * (size_t)g->net->in_dim;
  size_t ny = B * ta_net_out_time(g->net, T) * (size_t)g->net->out_dim;
  float *dx_dev = NULL;
  const float *out = NULL;
  int st = ta_cuda_net_reserve(g, B, T, msg);
  if (!st && dx) st = ta_cuda_malloc((void **)&dx_dev, nx * sizeof(float), msg);
  if (!st) st = ta_cuda_net_upload(g, x, y, B, T, msg);
  if (!st) st = ta_cuda_net_upload_len(g, len, B, msg);
  g->pass.training = training;
  if (!st) st = ta_cuda_net_forward(g, &out, B, T, msg);
  if (!st) st = ta_cuda_net_loss(g, loss_kind, loss, g->dy, out, B, T, msg);
  if (!st) st = ta_cuda_zero(g->grads, g->n_params, msg);
  if (!st) st = ta_cuda_net_backward(g, dx_dev, g->dy, B, T, msg);
  if (!st) st = ta_cuda_to_host(grads, g->grads, g->n_params * sizeof(float), msg);
  if (!st) st = ta_cuda_to_host(yhat, out, ny * sizeof(float), msg);
  if (!st && dx) st = ta_cuda_to_host(dx, dx_dev, nx * sizeof(float), msg);
  g->pass.training = 0;
  ta_cuda_free(dx_dev);
  return st;
}

extern "C" int ta_cuda_net_attn_weights(ta_cuda_net *g, int i, float *out, size_t B, size_t T,
                                        ta_msg *msg) {
  const ta_net *net = g->net;
  const ta_layer *L = &net->layers[i];
  int heads = ta_net_attn_heads(net, i);
  if (heads == 0) return ta_fail(msg, TA_ERR_ARG, "layer %d (%s) has no attention", i + 1, L->ops->kind);
  if (!g->ops[i]->attn_weights)
    return ta_fail(msg, TA_ERR_ARG, "layer %d (%s) has no GPU attention weights", i + 1,
                   L->ops->kind);
  size_t tq, tk, t = T;
  ta_net_attn_weights(net, i, NULL, B, T, &tq, &tk);
  for (int j = 0; j < i; j++) t = ta_layer_out_time(&net->layers[j], t);
  size_t n = B * (size_t)heads * tq * tk;
  float *dev = NULL;
  int st = ta_cuda_malloc((void **)&dev, n * sizeof(float), msg);
  if (!st) st = g->ops[i]->attn_weights(L, dev, g->cache[i], B, t, msg);
  if (!st) st = ta_cuda_to_host(out, dev, n * sizeof(float), msg);
  ta_cuda_free(dev);
  return st;
}
