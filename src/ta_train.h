/* The training loop: epochs of shuffled mini-batches, optional validation set, early
 * stopping that restores the best weights, gradient-norm clipping, and a stop (with
 * status TA_ERR_NONFINITE, weights of the last finite epoch kept) when the loss stops
 * being finite. Callbacks let the caller report progress and ask for an interrupt
 * without the core knowing about R. */
#ifndef TA_TRAIN_H
#define TA_TRAIN_H

#include "ta_net.h"
#include "ta_optim.h"
#include "ta_windows.h"

typedef struct {
  int epochs, batch_size, shuffle, loss;
  int patience;       /* 0: no early stopping */
  double clipnorm;    /* 0: no clipping */
  ta_optim opt;
  /* called between batches and after each pass; nonzero means stop now (user interrupt) */
  int (*interrupted)(void *ctx);
  /* NULL, or a poll that ends a long pass early while an interrupt is pending (ta_common.h);
   * the loop then asks interrupted() and discards the pass. Needs interrupted. */
  ta_stop_fn stop;
  /* called after each epoch with its losses (val_loss NAN without validation data) */
  void (*on_epoch)(void *ctx, int epoch, double loss, double val_loss);
  void *ctx;
} ta_train_cfg;

typedef struct {
  int epochs_run;  /* epochs completed (rows of history filled) */
  int best_epoch;  /* 1-based epoch whose weights were restored, 0 if none */
} ta_train_result;

/* A data set: x [n, T, in_dim], y [n, T_out, out_dim], optional valid lengths [n]; or,
 * when win is not NULL, the n windows it cuts from its series (x, y and len NULL), for
 * training only (a validation set is rows). Rows lie end to end when xstep and ystep are
 * 0; otherwise row i of x starts at x + i * xstep (and of y at y + i * ystep): with the
 * step of one row of a matrix, the overlapping windows of that matrix (the rows of
 * feat [N, F] from i on, xstep F), cut batch by batch and never written out whole. */
typedef struct {
  const float *x, *y;
  const int *len;
  size_t n;
  const ta_windows *win;
  size_t xstep, ystep; /* floats from a row's start to the next one's; 0: the row's size */
} ta_data;

/* Trains on `train`, validates on `val` (val.n may be 0). history: loss [epochs] and
 * val_loss [epochs], filled up to epochs_run. */
int ta_train(ta_net *net, const ta_data *train, const ta_data *val, size_t T,
             const ta_train_cfg *cfg, double *loss_hist, double *val_hist, ta_train_result *res,
             ta_msg *msg);

/* What the CPU loop and the GPU one (ta_train_cuda.cu) share, so that a seed gives both
 * the same batches and both stop by the same rule. */
/* Fisher-Yates shuffle of idx [n] with the core's generator */
void ta_shuffle(size_t *idx, size_t n, ta_rng *rng);
/* copies rows idx[0..b) of src (row i of `row` floats at src + i * step) into dst [b, row] */
void ta_gather_rows(float *dst, const float *src, const size_t *idx, size_t b, size_t row,
                    size_t step);
/* rows idx[0..b) of a data set, x into xb [b, xrow] and y into yb [b, yrow], cut from
 * its windows or its overlapping rows where it has them (every backend gathers its
 * batches here) */
void ta_data_gather(const ta_data *d, const size_t *idx, size_t b, float *xb, float *yb,
                    size_t xrow, size_t yrow);
/* 1 when the rows of d (not windows) lie end to end, so that rows s.. of it are read in place */
int ta_data_end_to_end(const ta_data *d, size_t xrow, size_t yrow);
/* rows s..s+b) of d (not windows) end to end: *x and *y point into d where its rows lie
 * end to end, else into xb [b, xrow] and yb [b, yrow], where they are gathered (the
 * validation sets of every backend are read here) */
void ta_data_rows(const ta_data *d, size_t s, size_t b, float *xb, float *yb, size_t xrow,
                  size_t yrow, const float **x, const float **y);
/* TA_OK when a training set of windows cuts rows of xrow inputs and yrow targets (L
 * steps of 1 + n_stat features in, H out) and comes without a validation set;
 * TA_ERR_ARG otherwise */
int ta_data_check(const ta_data *train, const ta_data *val, size_t xrow, size_t yrow,
                  ta_msg *msg);
/* the TA_ERR_NONFINITE stop for a loss l that is not finite */
int ta_fail_nonfinite(ta_msg *msg, double l, int epoch);
/* Early stopping on a score per epoch (the validation loss, else the training loss). */
typedef struct {
  double best;
  int since;
} ta_early_stop;
void ta_early_stop_init(ta_early_stop *e);
/* after epoch `epoch`: 1 when it is the new best (res->best_epoch is set; keep its
 * weights), -1 when patience has run out (stop), 0 otherwise */
int ta_early_stop_update(ta_early_stop *e, double score, int epoch, int patience,
                         ta_train_result *res);

/* The training loop itself, written once for every backend (ta_train on the CPU,
 * ta_cuda_train on the GPU): epochs of batches of the training rows in the order of
 * ta_shuffle with `rng`, the interrupt check between batches (and between a batch's
 * forward and backward passes), the stop on a non-finite loss (restoring the weights
 * before the last step), the histories, on_epoch and
 * early stopping (restoring the best weights at the end) and, after an interrupt
 * (status TA_ERR_INTERRUPT), the weights of the completed epochs as epochs = epochs_run
 * would have left them (TA_SLOT_BEST holds them throughout). A backend supplies the
 * work on its own buffers: */
enum { TA_SLOT_LAST_GOOD = 0, TA_SLOT_BEST = 1 };
typedef struct {
  /* training-mode forward of training rows idx[0..b): the batch's mean loss into
   * *loss, dL/dyhat kept for update() */
  int (*forward)(void *be, const size_t *idx, size_t b, double *loss, ta_msg *msg);
  /* after a finite loss: gradients of that batch (zeroed first), clipping, the
   * parameters saved into TA_SLOT_LAST_GOOD, then one optimizer step */
  int (*update)(void *be, size_t b, ta_msg *msg);
  /* mean loss over the validation set, in evaluation mode */
  int (*validate)(void *be, double *loss, ta_msg *msg);
  /* parameters -> slot, and slot -> parameters */
  int (*save)(void *be, int slot, ta_msg *msg);
  int (*restore)(void *be, int slot, ta_msg *msg);
} ta_train_ops;

/* n training rows in batches of `batch` (1 <= batch <= n), validating after each epoch
 * when `validate`; results as ta_train's */
int ta_train_loop(const ta_train_ops *ops, void *be, size_t n, size_t batch, int validate,
                  const ta_train_cfg *cfg, ta_rng *rng, double *loss_hist, double *val_hist,
                  ta_train_result *res, ta_msg *msg);

/* Mean loss over a data set in evaluation mode, in batches of batch_size. */
int ta_evaluate(ta_net *net, double *loss, const ta_data *d, size_t T, int loss_kind,
                size_t batch_size, ta_msg *msg);

/* 1 when the loss of a network on sequences of T steps skips padded steps (its output
 * step t is input step t), 0 when every output step counts */
int ta_loss_masks_padding(const ta_net *net, size_t T);

/* Loss of one batch whose output is yhat [B, T_out, out_dim] (padding excluded when
 * T_out == T and lengths are given); grad may be NULL. */
double ta_batch_loss(const ta_net *net, int loss_kind, float *grad, const float *yhat,
                     const float *y, const int *len, size_t B, size_t T);

#endif
