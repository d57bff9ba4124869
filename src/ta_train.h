/* The training loop: epochs of shuffled mini-batches, optional validation set, early
 * stopping that restores the best weights, gradient-norm clipping, and a stop (with
 * status TA_ERR_NONFINITE, weights of the last finite epoch kept) when the loss stops
 * being finite. Callbacks let the caller report progress and ask for an interrupt
 * without the core knowing about R. */
#ifndef TA_TRAIN_H
#define TA_TRAIN_H

#include "ta_net.h"
#include "ta_optim.h"

typedef struct {
  int epochs, batch_size, shuffle, loss;
  int patience;       /* 0: no early stopping */
  double clipnorm;    /* 0: no clipping */
  ta_optim opt;
  /* called between batches; nonzero means stop now (user interrupt) */
  int (*interrupted)(void *ctx);
  /* called after each epoch with its losses (val_loss NAN without validation data) */
  void (*on_epoch)(void *ctx, int epoch, double loss, double val_loss);
  void *ctx;
} ta_train_cfg;

typedef struct {
  int epochs_run;  /* epochs completed (rows of history filled) */
  int best_epoch;  /* 1-based epoch whose weights were restored, 0 if none */
} ta_train_result;

/* x [n, T, in_dim], y [n, T_out, out_dim]; xv, yv likewise with nv rows (nv may be 0).
 * history: loss [epochs] and val_loss [epochs], filled up to epochs_run. */
int ta_train(ta_net *net, const float *x, const float *y, size_t n, const float *xv,
             const float *yv, size_t nv, size_t T, const ta_train_cfg *cfg, double *loss_hist,
             double *val_hist, ta_train_result *res, ta_msg *msg);

/* Mean loss over a data set in evaluation mode, in batches of batch_size. */
int ta_evaluate(ta_net *net, double *loss, const float *x, const float *y, size_t n, size_t T,
                int loss_kind, size_t batch_size, ta_msg *msg);

#endif
