/* Helpers shared by the .Call glue (api_*.c): building a network from its R spec
 * inside an external pointer (so an R error cannot leak it), and converting between
 * R doubles and the core's float32. All raise R errors; temporaries come from R_alloc. */
#ifndef TA_API_UTIL_H
#define TA_API_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <R.h>
#include <Rinternals.h>
#include "ta_net.h"
#include "ta_train.h"
#include "ta_forecast.h"
#include "api_spec.h" /* loss_code, activation_code */

/* a single whole number that fits an int; the error names `what` */
int scalar_int(SEXP x, const char *what);
/* Builds the network of the layer specs `spec` (one named list per layer, read by name:
 * read_layer_specs() in api_spec.h); returns a PROTECTed external pointer (one PROTECT
 * for the caller to pop). */
SEXP build_net(SEXP spec, SEXP in_dim, ta_net **out);
/* frees the network now (the finalizer then has nothing left to do) */
void release(SEXP ptr);
/* copies a finite double vector of exactly len values into float (R_alloc) */
float *to_float(SEXP x, size_t len, const char *what);
/* a new (unprotected) double vector holding f [len] */
SEXP from_float(const float *f, size_t len);
/* the C generator's seed from a number drawn by R */
uint64_t seed_of(SEXP seed);

/* the batch of the predict, gradient and attention entry points: dims c(B, T, F)
 * checked against net, the valid lengths (*lens, or NULL), the weights `params` copied
 * into net; returns x as float32 (R_alloc) */
const float *net_batch(ta_net *net, SEXP params, SEXP x, SEXP dims, SEXP len, size_t *B,
                       size_t *T, const int **lens);
/* reads dims c(B, T, F) of x and checks F against the network */
void batch_dims(SEXP dims, const ta_net *net, size_t *B, size_t *T);
/* an R error unless n values (a product of dimensions, computed in double so that it
 * cannot wrap around) fit an R vector; what: "'x'" etc. */
void check_count_fits(const char *what, double n);

/* fit()'s progress printing and interrupt check, for ta_train_cfg's callbacks */
typedef struct {
  int verbose, every, epochs;
} fit_ctx;
/* The training configuration from R's named list of settings (read_fit_settings(),
 * api_spec.h), checked; the callbacks report to R through ctx (which must outlive cfg's
 * use). */
void fit_config(ta_train_cfg *cfg, fit_ctx *ctx, SEXP settings);
/* the interrupt check the core's callbacks get (main thread only): nonzero when the user
 * has interrupted; the interrupt is then taken, and the .Call returns NULL after freeing
 * what it holds, for R to signal it (signal_user_interrupt() in R/interrupt.R) */
int user_interrupted(void *ctx);
/* nonzero while an interrupt is pending (not yet taken): the core's stop poll
 * (ta_stop_fn), safe from any thread; whoever sets it asks user_interrupted() after */
int user_interrupt_pending(void);

/* valid lengths [B] (each in 1..T), or NULL when len is NULL or empty */
const int *lengths_of(SEXP len, size_t B, size_t T, const char *what);
/* fit()'s data as float32 (R_alloc): x [B, T, F] with dims, y, optional lengths, and the
 * validation set of nv sequences (xv, lenv, yv); T receives the sequence length */
void fit_data(ta_data *train, ta_data *val, size_t *T, const ta_net *net, SEXP x, SEXP dims,
              SEXP len, SEXP y, SEXP xv, SEXP nv, SEXP lenv, SEXP yv);
/* a global model's training windows (ta_windows.h) from the named list `win`
 * (z, level, start, slope, damp, phi, inv_scale: doubles [total]; origin, first, last: positions
 * [n], 0-based; L, H) into *w, and the data set of them into *train (val empty); an R
 * error naming the element when any is missing, of the wrong length, not finite, or
 * when a window lies outside its series */
void windows_data(ta_windows *w, ta_data *train, ta_data *val, const ta_net *net, SEXP win);
/* a finite double matrix [nrow, ncol] (R's column-major) as row-major float32 (R_alloc),
 * so that rows i.. of it are consecutive; an R error naming `what` otherwise */
const float *matrix_rows(SEXP m, const char *what, size_t *nrow, size_t *ncol);
/* tsattn()'s windows of one series as overlapping rows (ta_data.xstep): feat [N, F] and
 * targets [N, k] (double matrices); window i (0-based) is rows i..i+L-1 of feat with rows
 * i+L..i+L+H-1 of targets; the first n_train windows train, the next n_val validate.
 * T receives L. An R error naming the argument when a matrix is not finite or does not
 * fit the network (F inputs; H steps of k outputs for L steps in), or when the windows
 * need more rows than feat has. */
void rows_data(ta_data *train, ta_data *val, size_t *T, const ta_net *net, SEXP feat,
               SEXP targets, SEXP lookback, SEXP horizon, SEXP n_train, SEXP n_val);
/* fit()'s result list(weights, loss, val_loss, status, message, best_epoch) from the
 * trained net and the histories lh, vh (shortened to the epochs run); not protected */
SEXP fit_result(const ta_net *net, SEXP lh, SEXP vh, int st, const ta_msg *msg,
                const ta_train_result *tr);

/* attention(): the weights of every attention layer of net for B sequences of T steps,
 * w[k] [B, heads, T_query, T_key] of the k-th such layer (R_alloc, sized before any
 * forward), and the list C_net_attention returns: per layer list(layer = i, weights,
 * dims = c(B, heads, T_query, T_key)); not protected */
typedef struct {
  int n;
  float **w;
  size_t *tq, *tk;
} attn_bufs;
void attn_bufs_of(attn_bufs *a, const ta_net *net, size_t B, size_t T);
SEXP attn_result(const attn_bufs *a, const ta_net *net, size_t B);

/* a forecast's arguments (C_net_simulate, C_net_seq2seq_paths): the host network built
 * from spec and in_dim with the weights (its external pointer protected, as build_net's),
 * and s (ta_forecast.h), checked and converted to float32, with its mean (R_alloc), one
 * step per pass, no residuals and no paths (the caller's) */
typedef struct {
  ta_net *net;
  SEXP host;
  ta_sim s;
} sim_args;
void sim_args_of(sim_args *a, SEXP spec, SEXP in_dim, SEXP params, SEXP window, SEXP dims,
                 SEXP xreg_future, SEXP h, SEXP npaths, SEXP n_series);

#endif
