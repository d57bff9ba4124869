/* Training on the GPU (ta_cuda_train in ta_cuda_net.h): the GPU backend of the one
 * training loop, ta_train_loop (ta_train.c), so the epochs, batch order (the host
 * network's generator shuffles on the host), non-finite stop and early stopping are
 * the CPU's by construction. Each batch is gathered on the host into the pinned buffer
 * and copied up; forward, loss, backward, clipping and the optimizer step run on the
 * device. The one synchronisation per step is the loss read (ta_cuda_loss), needed to
 * stop on a non-finite loss as the CPU does; it also guarantees that the batch's upload
 * has finished before the next gather reuses the pinned buffer. Weights, gradients and
 * optimizer state stay on the device until the end, when the final (or best) weights
 * are copied into the host network. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ta_cuda_check.h"
#include "ta_cuda_net.h"
#include "ta_cuda_ops.h"

static int d2d(float *dst, const float *src, size_t n, ta_msg *msg) {
  if (n == 0) return TA_OK;
  return TA_CUDA(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, 0), msg);
}

/* mean loss over a data set in evaluation mode, in batches of up to g->B_cap (as
 * ta_evaluate; overlapping rows gathered batch by batch on the host, then uploaded) */
static int evaluate(ta_cuda_net *g, double *loss, const ta_data *d, size_t T, int loss_kind,
                    ta_msg *msg) {
  size_t To = ta_net_out_time(g->net, T);
  size_t xrow = T * (size_t)g->net->in_dim, yrow = To * (size_t)g->net->out_dim;
  size_t B = g->B_cap;
  float *buf = NULL;
  if (!ta_data_end_to_end(d, xrow, yrow) &&
      !(buf = (float *)malloc((B * (xrow + yrow) + 1) * sizeof(float))))
    return ta_fail(msg, TA_ERR_NOMEM, "out of memory for the validation batch");
  double sum = 0.0;
  int st = TA_OK;
  g->pass.training = 0;
  for (size_t s = 0; s < d->n && !st; s += B) {
    size_t b = d->n - s < B ? d->n - s : B;
    const float *x, *y, *yhat;
    double l;
    ta_data_rows(d, s, b, buf, buf ? buf + B * xrow : NULL, xrow, yrow, &x, &y);
    st = ta_cuda_net_upload(g, x, y, b, T, msg);
    if (!st) st = ta_cuda_net_upload_len(g, d->len ? d->len + s : NULL, b, msg);
    if (!st) st = ta_cuda_net_forward(g, &yhat, b, T, msg);
    if (!st) st = ta_cuda_net_loss(g, loss_kind, &l, NULL, yhat, b, T, msg);
    if (!st) sum += l * (double)b;
  }
  free(buf);
  if (!st) *loss = sum / (double)d->n;
  return st;
}

/* one optimizer step, as ta_optim_step: the step count first, Adam's scalars on the host */
static int optim_step(ta_cuda_net *g, ta_optim *opt, ta_msg *msg) {
  size_t np = g->n_params;
  opt->step++;
  if (opt->kind == TA_OPT_ADAM) {
    ta_adam_consts c = ta_adam_prepare(opt->lr, opt->beta1, opt->beta2, opt->eps,
                                       opt->weight_decay, opt->step);
    return ta_cuda_adam_step(g->params, g->grads, g->m, g->v, np, &c, msg);
  }
  return ta_cuda_sgd_step(g->params, g->grads, g->m, np, (float)opt->lr, (float)opt->momentum,
                          (float)opt->weight_decay, opt->step == 1, msg);
}

/* ---- the GPU backend of ta_train_loop (ta_train.h) ------------------------------- */

typedef struct {
  ta_cuda_net *g;
  const ta_data *train, *val;
  const ta_train_cfg *cfg;
  ta_optim opt;
  size_t T, xrow, yrow;
  float *xb, *yb; /* the pinned staging buffer: the batch is gathered straight into it */
  int *lenb;
  void *clip_work;
} gpu_train;

static int gpu_forward(void *be, const size_t *idx, size_t b, double *loss, ta_msg *msg) {
  gpu_train *c = (gpu_train *)be;
  ta_cuda_net *g = c->g;
  const float *yhat;
  int st;
  /* the previous step's loss read waited for its upload: the staging buffer is free */
  ta_data_gather(c->train, idx, b, c->xb, c->yb, c->xrow, c->yrow);
  if (c->lenb)
    for (size_t i = 0; i < b; i++) c->lenb[i] = c->train->len[idx[i]];
  g->pass.training = 1; /* evaluate() turns it off */
  if ((st = TA_CUDA(cudaMemcpyAsync(g->x, c->xb, b * c->xrow * sizeof(float),
                                    cudaMemcpyHostToDevice, 0),
                    msg)) ||
      (st = TA_CUDA(cudaMemcpyAsync(g->y, c->yb, b * c->yrow * sizeof(float),
                                    cudaMemcpyHostToDevice, 0),
                    msg)) ||
      (st = ta_cuda_net_upload_len(g, c->lenb, b, msg)) ||
      (st = ta_cuda_net_forward(g, &yhat, b, c->T, msg)))
    return st;
  return ta_cuda_net_loss(g, c->cfg->loss, loss, g->dy, yhat, b, c->T, msg);
}

static int gpu_update(void *be, size_t b, ta_msg *msg) {
  gpu_train *c = (gpu_train *)be;
  ta_cuda_net *g = c->g;
  size_t np = g->n_params;
  int st;
  if ((st = ta_cuda_zero(g->grads, np, msg)) ||
      (st = ta_cuda_net_backward(g, NULL, g->dy, b, c->T, msg)) ||
      (c->cfg->clipnorm > 0.0 &&
       (st = ta_cuda_clip_grad_norm(g->grads, np, c->cfg->clipnorm, c->clip_work, msg))) ||
      (st = d2d(g->last_good, g->params, np, msg)))
    return st;
  return optim_step(g, &c->opt, msg);
}

static int gpu_validate(void *be, double *loss, ta_msg *msg) {
  gpu_train *c = (gpu_train *)be;
  return evaluate(c->g, loss, c->val, c->T, c->cfg->loss, msg);
}

static float *gpu_slot(ta_cuda_net *g, int slot) {
  return slot == TA_SLOT_BEST ? g->best : g->last_good;
}

static int gpu_save(void *be, int slot, ta_msg *msg) {
  ta_cuda_net *g = ((gpu_train *)be)->g;
  return d2d(gpu_slot(g, slot), g->params, g->n_params, msg);
}

static int gpu_restore(void *be, int slot, ta_msg *msg) {
  ta_cuda_net *g = ((gpu_train *)be)->g;
  return d2d(g->params, gpu_slot(g, slot), g->n_params, msg);
}

static const ta_train_ops gpu_train_ops = {gpu_forward, gpu_update, gpu_validate, gpu_save,
                                           gpu_restore};

extern "C" int ta_cuda_train(ta_cuda_net *g, const ta_data *train, const ta_data *val, size_t T,
                             const ta_train_cfg *cfg, double *loss_hist, double *val_hist,
                             ta_train_result *res, ta_msg *msg) {
  ta_net *net = g->net;
  size_t n = train->n, np = g->n_params;
  res->epochs_run = 0;
  res->best_epoch = 0;
  if (n < 1) return ta_fail(msg, TA_ERR_ARG, "no training sequences");
  size_t B = cfg->batch_size < 1 ? 1 : (size_t)cfg->batch_size;
  if (B > n) B = n;
  size_t To = ta_net_out_time(net, T);
  size_t xrow = T * (size_t)net->in_dim, yrow = To * (size_t)net->out_dim;
  int st = ta_data_check(train, val, xrow, yrow, msg);
  if (st) return st;
  st = ta_cuda_net_reserve(g, B, T, msg);
  if (st) return st;
  gpu_train c = {g, train, val, cfg, cfg->opt, T, xrow, yrow, g->stage, g->stage + g->B_cap * xrow,
                 NULL, NULL};
  if (train->len && !(c.lenb = (int *)malloc(B * sizeof(int))))
    return ta_fail(msg, TA_ERR_NOMEM, "out of memory for the batch lengths");
  if (cfg->clipnorm > 0.0 && (st = ta_cuda_malloc(&c.clip_work, ta_cuda_loss_workspace(np), msg))) {
    free(c.lenb);
    return st;
  }
  st = ta_train_loop(&gpu_train_ops, &c, n, B, val->n > 0, cfg, &net->rng, loss_hist, val_hist,
                     res, msg);
  g->pass.training = 0;
  /* the weights come back unless the device failed (then the host keeps its own) */
  if (st == TA_OK || st == TA_ERR_NONFINITE || st == TA_ERR_INTERRUPT) {
    int st2 = ta_cuda_to_host(net->params, g->params, np * sizeof(float), msg);
    if (st2) st = st2;
  }
  ta_cuda_free(c.clip_work);
  free(c.lenb);
  return st;
}
