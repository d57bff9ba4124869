/* The training loop of ta_train.c on the GPU (ta_cuda_train in ta_cuda_net.h). The
 * same epochs of mini-batches in the same order (the host network's generator
 * shuffles the indices on the host, as the CPU does), gathered on the host into the
 * pinned buffer and copied up; forward, loss, backward, clipping and the optimizer
 * step run on the device. The one synchronisation per step is the loss read
 * (ta_cuda_loss), needed to stop on a non-finite loss as the CPU does; it also
 * guarantees that the batch's upload has finished before the next gather reuses the
 * pinned buffer. Weights, gradients and optimizer state stay on the device until the
 * end, when the final (or best) weights are copied into the host network. */
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
 * ta_evaluate) */
static int evaluate(ta_cuda_net *g, double *loss, const ta_data *d, size_t T, int loss_kind,
                    ta_msg *msg) {
  size_t To = ta_net_out_time(g->net, T);
  size_t xrow = T * (size_t)g->net->in_dim, yrow = To * (size_t)g->net->out_dim;
  size_t B = g->B_cap;
  double sum = 0.0;
  g->pass.training = 0;
  for (size_t s = 0; s < d->n; s += B) {
    size_t b = d->n - s < B ? d->n - s : B;
    const float *yhat;
    double l;
    int st = ta_cuda_net_upload(g, d->x + s * xrow, d->y + s * yrow, b, T, msg);
    if (!st) st = ta_cuda_net_upload_len(g, d->len ? d->len + s : NULL, b, msg);
    if (!st) st = ta_cuda_net_forward(g, &yhat, b, T, msg);
    if (!st) st = ta_cuda_net_loss(g, loss_kind, &l, NULL, yhat, b, T, msg);
    if (st) return st;
    sum += l * (double)b;
  }
  *loss = sum / (double)d->n;
  return TA_OK;
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

extern "C" int ta_cuda_train(ta_cuda_net *g, const ta_data *train, const ta_data *val, size_t T,
                             const ta_train_cfg *cfg, double *loss_hist, double *val_hist,
                             ta_train_result *res, ta_msg *msg) {
  ta_net *net = g->net;
  size_t n = train->n, nv = val->n, np = g->n_params;
  res->epochs_run = 0;
  res->best_epoch = 0;
  if (n < 1) return ta_fail(msg, TA_ERR_ARG, "no training sequences");
  size_t B = cfg->batch_size < 1 ? 1 : (size_t)cfg->batch_size;
  if (B > n) B = n;
  size_t To = ta_net_out_time(net, T);
  size_t xrow = T * (size_t)net->in_dim, yrow = To * (size_t)net->out_dim;
  int st = ta_cuda_net_reserve(g, B, T, msg);
  if (st) return st;
  size_t *idx = (size_t *)malloc(n * sizeof(size_t));
  int *lenb = train->len ? (int *)malloc(B * sizeof(int)) : NULL;
  if (!idx || (train->len && !lenb)) {
    free(idx);
    free(lenb);
    return ta_fail(msg, TA_ERR_NOMEM, "out of memory for the training indices");
  }
  void *clip_work = NULL;
  if (cfg->clipnorm > 0.0 &&
      (st = ta_cuda_malloc(&clip_work, ta_cuda_loss_workspace(np), msg))) {
    free(idx);
    free(lenb);
    return st;
  }
  /* the batch is gathered straight into the pinned buffer: x then y */
  float *xb = g->stage, *yb = g->stage + g->B_cap * xrow;
  for (size_t i = 0; i < n; i++) idx[i] = i;

  ta_optim opt = cfg->opt;
  ta_early_stop es; /* the CPU loop's rule (ta_train.c) */
  ta_early_stop_init(&es);
  long steps = 0;
  for (int epoch = 1; epoch <= cfg->epochs && st == TA_OK; epoch++) {
    if (cfg->shuffle) ta_shuffle(idx, n, &net->rng); /* the same order as ta_train */
    double sum = 0.0;
    for (size_t s = 0; s < n; s += B) {
      if (cfg->interrupted && cfg->interrupted(cfg->ctx)) {
        st = ta_fail(msg, TA_ERR_INTERRUPT, "interrupted in epoch %d", epoch);
        break;
      }
      size_t b = n - s < B ? n - s : B;
      const float *yhat;
      double l = 0.0;
      g->pass.training = 1; /* evaluate() turns it off */
      ta_gather_rows(xb, train->x, idx + s, b, xrow);
      ta_gather_rows(yb, train->y, idx + s, b, yrow);
      if (lenb)
        for (size_t i = 0; i < b; i++) lenb[i] = train->len[idx[s + i]];
      if ((st = TA_CUDA(cudaMemcpyAsync(g->x, xb, b * xrow * sizeof(float),
                                        cudaMemcpyHostToDevice, 0),
                        msg)) ||
          (st = TA_CUDA(cudaMemcpyAsync(g->y, yb, b * yrow * sizeof(float),
                                        cudaMemcpyHostToDevice, 0),
                        msg)) ||
          (st = ta_cuda_net_upload_len(g, lenb, b, msg)) ||
          (st = ta_cuda_net_forward(g, &yhat, b, T, msg)) ||
          (st = ta_cuda_net_loss(g, cfg->loss, &l, g->dy, yhat, b, T, msg)))
        break;
      if (!isfinite(l)) {
        /* the current weights gave this loss; the ones before the last step gave a
         * finite loss on their batch */
        if (steps > 0 && (st = d2d(g->params, g->last_good, np, msg))) break;
        st = ta_fail_nonfinite(msg, l, epoch);
        break;
      }
      sum += l * (double)b;
      if ((st = ta_cuda_zero(g->grads, np, msg)) ||
          (st = ta_cuda_net_backward(g, NULL, g->dy, b, T, msg)) ||
          (cfg->clipnorm > 0.0 &&
           (st = ta_cuda_clip_grad_norm(g->grads, np, cfg->clipnorm, clip_work, msg))) ||
          (st = d2d(g->last_good, g->params, np, msg)) || (st = optim_step(g, &opt, msg)))
        break;
      steps++;
    }
    if (st != TA_OK) break;
    double loss = sum / (double)n, vl = NAN;
    if (nv > 0 && (st = evaluate(g, &vl, val, T, cfg->loss, msg))) break;
    loss_hist[epoch - 1] = loss;
    val_hist[epoch - 1] = vl;
    res->epochs_run = epoch;
    if (cfg->on_epoch) cfg->on_epoch(cfg->ctx, epoch, loss, vl);
    if (cfg->patience > 0) {
      int e = ta_early_stop_update(&es, nv > 0 ? vl : loss, epoch, cfg->patience, res);
      if (e > 0 && (st = d2d(g->best, g->params, np, msg))) break;
      if (e < 0) break;
    }
  }
  /* the weights come back unless the device failed (then the host keeps its own) */
  if (st == TA_OK || st == TA_ERR_NONFINITE || st == TA_ERR_INTERRUPT) {
    int st2 = TA_OK;
    if (cfg->patience > 0 && res->best_epoch > 0 && st != TA_ERR_INTERRUPT)
      st2 = d2d(g->params, g->best, np, msg);
    if (!st2) st2 = ta_cuda_to_host(net->params, g->params, np * sizeof(float), msg);
    if (st2) st = st2;
  }
  g->pass.training = 0;
  ta_cuda_free(clip_work);
  free(idx);
  free(lenb);
  return st;
}
