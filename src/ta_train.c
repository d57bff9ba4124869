#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ta_train.h"
#include "ta_loss.h"

void ta_gather_rows(float *dst, const float *src, const size_t *idx, size_t b, size_t row,
                    size_t step) {
  for (size_t i = 0; i < b; i++) memcpy(dst + i * row, src + idx[i] * step, row * sizeof(float));
}

void ta_data_gather(const ta_data *d, const size_t *idx, size_t b, float *xb, float *yb,
                    size_t xrow, size_t yrow) {
  if (d->win) {
    ta_windows_gather(d->win, idx, b, xb, yb);
    return;
  }
  ta_gather_rows(xb, d->x, idx, b, xrow, d->xstep ? d->xstep : xrow);
  ta_gather_rows(yb, d->y, idx, b, yrow, d->ystep ? d->ystep : yrow);
}

int ta_data_end_to_end(const ta_data *d, size_t xrow, size_t yrow) {
  return (!d->xstep || d->xstep == xrow) && (!d->ystep || d->ystep == yrow);
}

void ta_data_rows(const ta_data *d, size_t s, size_t b, float *xb, float *yb, size_t xrow,
                  size_t yrow, const float **x, const float **y) {
  if (ta_data_end_to_end(d, xrow, yrow)) {
    *x = d->x + s * xrow;
    *y = d->y + s * yrow;
    return;
  }
  for (size_t i = 0; i < b; i++) {
    memcpy(xb + i * xrow, d->x + (s + i) * d->xstep, xrow * sizeof(float));
    memcpy(yb + i * yrow, d->y + (s + i) * d->ystep, yrow * sizeof(float));
  }
  *x = xb;
  *y = yb;
}

int ta_data_check(const ta_data *train, const ta_data *val, size_t xrow, size_t yrow,
                  ta_msg *msg) {
  const ta_windows *w = train->win;
  if (!w) return TA_OK;
  if (val->n > 0) return ta_fail(msg, TA_ERR_ARG, "windows train without a validation set");
  if (w->n != train->n || w->L * (1 + w->n_stat) != xrow || w->H != yrow)
    return ta_fail(msg, TA_ERR_ARG,
                   "windows of %zu steps of %zu values in and %zu out do not fit a network "
                   "taking %zu values and giving %zu", w->L, 1 + w->n_stat, w->H, xrow, yrow);
  size_t bad = ta_windows_check(w);
  if (bad) return ta_fail(msg, TA_ERR_ARG, "window %zu lies outside its series", bad);
  return TA_OK;
}

void ta_shuffle(size_t *idx, size_t n, ta_rng *rng) {
  for (size_t i = n - 1; n > 1 && i > 0; i--) {
    size_t j = ta_rng_below(rng, (uint32_t)(i + 1));
    size_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

int ta_fail_nonfinite(ta_msg *msg, double l, int epoch) {
  return ta_fail(msg, TA_ERR_NONFINITE,
                 "the training loss became %s in epoch %d; training stopped and the "
                 "weights before the diverging step were kept (try a smaller learning "
                 "rate or clipnorm)",
                 isnan(l) ? "NaN" : "infinite", epoch);
}

void ta_early_stop_init(ta_early_stop *e) {
  e->best = INFINITY;
  e->since = 0;
}

int ta_early_stop_update(ta_early_stop *e, double score, int epoch, int patience,
                         ta_train_result *res) {
  if (score < e->best) {
    e->best = score;
    e->since = 0;
    res->best_epoch = epoch;
    return 1;
  }
  return ++e->since >= patience ? -1 : 0;
}

int ta_loss_masks_padding(const ta_net *net, size_t T) {
  /* padded steps are skipped only when output step t is input step t: every layer maps
   * time to time (a seq2seq's horizon steps are forecasts, all of them real) */
  int aligned = ta_net_out_time(net, T) == T;
  for (int i = 0; i < net->n_layers; i++)
    if (!net->layers[i].keeps_time) aligned = 0;
  return aligned;
}

double ta_batch_loss(const ta_net *net, int loss_kind, float *grad, const float *yhat,
                     const float *y, const int *len, size_t B, size_t T) {
  size_t To = ta_net_out_time(net, T);
  return ta_loss_seq(loss_kind, grad, yhat, y, ta_loss_masks_padding(net, T) ? len : NULL, B, To,
                     (size_t)net->out_dim);
}

int ta_evaluate(ta_net *net, double *loss, const ta_data *d, size_t T, int loss_kind,
                size_t batch_size, ta_msg *msg) {
  size_t n = d->n;
  size_t To = ta_net_out_time(net, T);
  size_t xrow = T * (size_t)net->in_dim, yrow = To * (size_t)net->out_dim;
  if (batch_size > n) batch_size = n;
  int st = ta_net_reserve(net, batch_size, T, msg);
  if (st != TA_OK) return st;
  /* overlapping rows are gathered batch by batch */
  float *buf = NULL;
  if (!ta_data_end_to_end(d, xrow, yrow) &&
      !(buf = malloc((batch_size * (xrow + yrow) + 1) * sizeof(float))))
    return ta_fail(msg, TA_ERR_NOMEM, "out of memory for the validation batch");
  double sum = 0.0;
  for (size_t s = 0; s < n; s += batch_size) {
    size_t b = n - s < batch_size ? n - s : batch_size;
    const int *len = d->len ? d->len + s : NULL;
    const float *x, *y;
    ta_data_rows(d, s, b, buf, buf ? buf + batch_size * xrow : NULL, xrow, yrow, &x, &y);
    const float *yhat = ta_net_predict(net, x, len, b, T);
    sum += ta_batch_loss(net, loss_kind, NULL, yhat, y, len, b, T) * (double)b;
  }
  free(buf);
  *loss = sum / (double)n;
  return TA_OK;
}

/* nonzero (and *st the interrupt) when the user has interrupted during epoch `epoch` */
static int loop_interrupted(const ta_train_cfg *cfg, int epoch, ta_msg *msg, int *st) {
  if (!cfg->interrupted || !cfg->interrupted(cfg->ctx)) return 0;
  *st = ta_fail(msg, TA_ERR_INTERRUPT, "interrupted in epoch %d", epoch);
  return 1;
}

int ta_train_loop(const ta_train_ops *ops, void *be, size_t n, size_t batch, int validate,
                  const ta_train_cfg *cfg, ta_rng *rng, double *loss_hist, double *val_hist,
                  ta_train_result *res, ta_msg *msg) {
  size_t B = batch;
  size_t *idx = malloc(n * sizeof(size_t));
  if (!idx) return ta_fail(msg, TA_ERR_NOMEM, "out of memory for the training indices");
  for (size_t i = 0; i < n; i++) idx[i] = i;
  ta_early_stop es;
  ta_early_stop_init(&es);
  /* TA_SLOT_BEST holds what an interrupt returns: the weights as fit(epochs = k) would
   * give them for the k epochs completed (the start's before any; the last completed
   * epoch's, or with patience the best one's) */
  int st = ops->save(be, TA_SLOT_BEST, msg);
  long steps = 0;
  for (int epoch = 1; epoch <= cfg->epochs && st == TA_OK; epoch++) {
    /* an interrupt since the last epoch's end (the checks below follow each pass) */
    if (loop_interrupted(cfg, epoch, msg, &st)) break;
    if (cfg->shuffle) ta_shuffle(idx, n, rng);
    double sum = 0.0;
    for (size_t s = 0; s < n; s += B) {
      size_t b = n - s < B ? n - s : B;
      double l = 0.0;
      if ((st = ops->forward(be, idx + s, b, &l, msg)) != TA_OK) break;
      /* asked between the batch's forward and backward passes (the batch is not applied,
       * as if interrupted before it), and before its loss is read: a forward pass that
       * cfg->stop cut short gave no loss */
      if (loop_interrupted(cfg, epoch, msg, &st)) break;
      if (!isfinite(l)) {
        /* the current weights gave this loss; the ones before the last step gave a
         * finite loss on their batch */
        if (steps > 0 && (st = ops->restore(be, TA_SLOT_LAST_GOOD, msg)) != TA_OK) break;
        st = ta_fail_nonfinite(msg, l, epoch);
        break;
      }
      sum += l * (double)b;
      if ((st = ops->update(be, b, msg)) != TA_OK) break;
      /* and after it: a backward pass cut short was not applied (see cpu_update); either
       * way the epoch is incomplete, and TA_SLOT_BEST is what is returned */
      if (loop_interrupted(cfg, epoch, msg, &st)) break;
      steps++;
    }
    if (st != TA_OK) break;
    double loss = sum / (double)n, val = NAN;
    if (validate && (st = ops->validate(be, &val, msg)) != TA_OK) break;
    if (validate && loop_interrupted(cfg, epoch, msg, &st)) break;
    loss_hist[epoch - 1] = loss;
    val_hist[epoch - 1] = val;
    res->epochs_run = epoch;
    if (cfg->on_epoch) cfg->on_epoch(cfg->ctx, epoch, loss, val);
    if (cfg->patience > 0) {
      int e = ta_early_stop_update(&es, validate ? val : loss, epoch, cfg->patience, res);
      /* no best yet (a NaN validation loss): the end keeps the last epoch's, so does
       * an interrupt */
      if ((e > 0 || res->best_epoch == 0) && (st = ops->save(be, TA_SLOT_BEST, msg)) != TA_OK)
        break;
      if (e < 0) break;
    } else if (cfg->interrupted && (st = ops->save(be, TA_SLOT_BEST, msg)) != TA_OK) {
      break;
    }
  }
  /* the best epoch's weights; after an interrupt those of the completed epochs (see
   * above); none when the backend failed */
  if (((st == TA_OK || st == TA_ERR_NONFINITE) && cfg->patience > 0 && res->best_epoch > 0) ||
      st == TA_ERR_INTERRUPT) {
    int st2 = ops->restore(be, TA_SLOT_BEST, msg);
    if (st2 != TA_OK) st = st2;
  }
  free(idx);
  return st;
}

/* ---- the CPU backend of the loop --------------------------------------------------- */

typedef struct {
  ta_net *net;
  const ta_data *train, *val;
  const ta_train_cfg *cfg;
  ta_optim opt;
  size_t T, B, xrow, yrow, np;
  float *state, *best, *last_good, *xb, *yb, *dy;
  int *lenb;
} cpu_train;

static int cpu_forward(void *be, const size_t *idx, size_t b, double *loss, ta_msg *msg) {
  (void)msg;
  cpu_train *c = be;
  ta_net *net = c->net;
  ta_data_gather(c->train, idx, b, c->xb, c->yb, c->xrow, c->yrow);
  if (c->lenb)
    for (size_t i = 0; i < b; i++) c->lenb[i] = c->train->len[idx[i]];
  net->target = c->yb;
  const float *yhat = ta_net_forward(net, c->xb, c->lenb, b, c->T, 1);
  *loss = ta_batch_loss(net, c->cfg->loss, c->dy, yhat, c->yb, c->lenb, b, c->T);
  return TA_OK;
}

static int cpu_update(void *be, size_t b, ta_msg *msg) {
  (void)msg;
  cpu_train *c = be;
  ta_net *net = c->net;
  memset(net->grads, 0, c->np * sizeof(float));
  ta_net_backward(net, NULL, c->dy, c->xb, c->lenb, b, c->T);
  net->target = NULL;
  if (ta_net_stopped(net)) return TA_OK; /* cut short by an interrupt: not applied */
  if (c->cfg->clipnorm > 0.0) ta_clip_grad_norm(net->grads, c->np, c->cfg->clipnorm);
  memcpy(c->last_good, net->params, c->np * sizeof(float));
  ta_optim_step(&c->opt, net->params, net->grads, c->state, c->np);
  return TA_OK;
}

static int cpu_validate(void *be, double *loss, ta_msg *msg) {
  cpu_train *c = be;
  int st = ta_evaluate(c->net, loss, c->val, c->T, c->cfg->loss, c->B, msg);
  /* evaluation may have sized the workspace for other batches */
  if (st == TA_OK) st = ta_net_reserve(c->net, c->B, c->T, msg);
  return st;
}

static float *cpu_slot(cpu_train *c, int slot) {
  return slot == TA_SLOT_BEST ? c->best : c->last_good;
}

static int cpu_save(void *be, int slot, ta_msg *msg) {
  (void)msg;
  cpu_train *c = be;
  memcpy(cpu_slot(c, slot), c->net->params, c->np * sizeof(float));
  return TA_OK;
}

static int cpu_restore(void *be, int slot, ta_msg *msg) {
  (void)msg;
  cpu_train *c = be;
  memcpy(c->net->params, cpu_slot(c, slot), c->np * sizeof(float));
  return TA_OK;
}

static const ta_train_ops cpu_train_ops = {cpu_forward, cpu_update, cpu_validate, cpu_save,
                                           cpu_restore};

int ta_train(ta_net *net, const ta_data *train, const ta_data *val, size_t T,
             const ta_train_cfg *cfg, double *loss_hist, double *val_hist, ta_train_result *res,
             ta_msg *msg) {
  size_t n = train->n;
  res->epochs_run = 0;
  res->best_epoch = 0;
  if (n < 1) return ta_fail(msg, TA_ERR_ARG, "no training sequences");
  size_t B = cfg->batch_size < 1 ? 1 : (size_t)cfg->batch_size;
  if (B > n) B = n;
  size_t To = ta_net_out_time(net, T), np = net->n_params;
  size_t xrow = T * (size_t)net->in_dim, yrow = To * (size_t)net->out_dim;
  int st = ta_data_check(train, val, xrow, yrow, msg);
  if (st != TA_OK) return st;
  st = ta_net_reserve(net, B, T, msg);
  if (st != TA_OK) return st;

  /* everything the loop needs, in one allocation: no allocation inside the loop */
  size_t n_state = np * ta_optim_state_per_param(&cfg->opt);
  size_t floats = n_state + 2 * np + B * xrow + 2 * B * yrow;
  float *block = calloc(floats + 1, sizeof(float));
  int *lenb = train->len ? malloc(B * sizeof(int)) : NULL;
  if (!block || (train->len && !lenb)) {
    free(block);
    free(lenb);
    return ta_fail(msg, TA_ERR_NOMEM, "out of memory for the training buffers");
  }
  cpu_train c = {net, train, val, cfg, cfg->opt, T, B, xrow, yrow, np, NULL, NULL, NULL,
                 NULL, NULL, NULL, lenb};
  c.state = block;
  c.best = c.state + n_state;
  c.last_good = c.best + np;
  c.xb = c.last_good + np;
  c.yb = c.xb + B * xrow;
  c.dy = c.yb + B * yrow;
  ta_stop_fn stop = net->stop;
  net->stop = cfg->interrupted ? cfg->stop : NULL; /* a poll with no one to ask: none */
  st = ta_train_loop(&cpu_train_ops, &c, n, B, val->n > 0, cfg, &net->rng, loss_hist, val_hist,
                     res, msg);
  net->stop = stop;
  net->target = NULL;
  free(block);
  free(lenb);
  return st;
}
