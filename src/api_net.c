/* .Call glue for networks: validates every SEXP, converts doubles to the core's
 * float32, runs the core on the CPU or the GPU (api_backend.h: each action's last
 * argument is the device) and turns its status into an R error. The network lives in
 * an external pointer with a finalizer from the moment it exists, so an R error (or
 * an allocation failure) at any later point cannot leak it; temporaries come from
 * R_alloc, which R releases on error too. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <R.h>
#include <Rinternals.h>
#include "ta_net.h"
#include "api_util.h"
#include "ta_train.h"
#include "ta_loss.h"
#include "api_backend.h"


/* valid lengths: NULL (R NULL or length 0) or B integers in [1, T] */

SEXP C_net_layout(SEXP spec, SEXP in_dim, SEXP T_) {
  ta_net *net;
  SEXP ptr = build_net(spec, in_dim, &net);
  int T = scalar_int(T_, "T");
  int nt = 0;
  for (int i = 0; i < net->n_layers; i++) nt += net->layers[i].ops->n_tensors(&net->layers[i]);
  const char *fields[] = {"names", "shapes", "layer", "n_params", "out_dim", "layer_params",
                          "layer_out_dim", "keeps_time", "layer_out_time", "attn_heads", ""};
  SEXP res = PROTECT(mkNamed(VECSXP, fields));
  SEXP names = PROTECT(allocVector(STRSXP, nt));
  SEXP shapes = PROTECT(allocVector(VECSXP, nt));
  SEXP layer = PROTECT(allocVector(INTSXP, nt));
  SEXP lp = PROTECT(allocVector(REALSXP, net->n_layers));
  SEXP lo = PROTECT(allocVector(INTSXP, net->n_layers));
  SEXP kt = PROTECT(allocVector(LGLSXP, net->n_layers));
  SEXP lt = PROTECT(allocVector(INTSXP, net->n_layers));
  SEXP ah = PROTECT(allocVector(INTSXP, net->n_layers));
  int k = 0;
  size_t t = T > 0 ? (size_t)T : 0;
  for (int i = 0; i < net->n_layers; i++) {
    const ta_layer *L = &net->layers[i];
    REAL(lp)[i] = (double)L->n_params;
    INTEGER(lo)[i] = L->out_dim;
    LOGICAL(kt)[i] = L->keeps_time;
    t = t > 0 ? ta_layer_out_time(L, t) : 0;
    INTEGER(lt)[i] = (int)t;
    INTEGER(ah)[i] = ta_net_attn_heads(net, i);
    for (int j = 0; j < L->ops->n_tensors(L); j++, k++) {
      ta_tensor_info info;
      L->ops->tensor(L, j, &info);
      char full[TA_NAME_LEN + 16];
      snprintf(full, sizeof full, "%d.%s", i, info.name);
      SET_STRING_ELT(names, k, mkChar(full));
      SEXP sh = allocVector(INTSXP, info.ndim);
      SET_VECTOR_ELT(shapes, k, sh);
      for (int a = 0; a < info.ndim; a++) INTEGER(sh)[a] = info.dim[a];
      INTEGER(layer)[k] = i + 1;
    }
  }
  SET_VECTOR_ELT(res, 0, names);
  SET_VECTOR_ELT(res, 1, shapes);
  SET_VECTOR_ELT(res, 2, layer);
  SET_VECTOR_ELT(res, 3, ScalarReal((double)net->n_params));
  SET_VECTOR_ELT(res, 4, ScalarInteger(net->out_dim));
  SET_VECTOR_ELT(res, 5, lp);
  SET_VECTOR_ELT(res, 6, lo);
  SET_VECTOR_ELT(res, 7, kt);
  SET_VECTOR_ELT(res, 8, lt);
  SET_VECTOR_ELT(res, 9, ah);
  release(ptr);
  UNPROTECT(10);
  return res;
}

SEXP C_net_init(SEXP spec, SEXP in_dim, SEXP seed) {
  ta_net *net;
  SEXP ptr = build_net(spec, in_dim, &net);
  ta_rng rng;
  ta_rng_seed(&rng, seed_of(seed));
  ta_net_init(net, &rng);
  SEXP out = PROTECT(from_float(net->params, net->n_params));
  release(ptr);
  UNPROTECT(2);
  return out;
}

/* predict()'s run, shared by C_net_predict and C_net_predict_rows: B sequences of T
 * steps, sequence i at x + i * xstep (xstep T * in_dim: end to end; less: overlapping
 * windows of a matrix, gathered chunk by chunk), one call of the backend per chunk of
 * `chunk` sequences. list(predictions, nonfinite): the predictions as R's array
 * [B, T_out, out_dim] of doubles (column-major, written so here: R makes no transposed
 * copy) and how many are not finite, or NULL after an
 * interrupt between chunks (R signals it); frees the network of host (PROTECTed by the
 * caller, whose PROTECT it leaves to pop). */
static SEXP predict_run(SEXP host, ta_net *net, SEXP spec, SEXP in_dim, SEXP device,
                        const float *x, size_t xstep, const int *lens, size_t B, size_t T,
                        size_t chunk) {
  size_t To = ta_net_out_time(net, T), Fo = (size_t)net->out_dim;
  size_t xrow = T * (size_t)net->in_dim, yrow = To * Fo;
  int gather = xstep != xrow;
  if (chunk > B) chunk = B;
  check_count_fits("the predictions", (double)B * (double)yrow);
  /* a chunk's inputs (when gathered) and outputs in floats; the outputs go into R's
   * doubles chunk by chunk, so that the floats of all of them never exist at once */
  float *xb = gather ? (float *)R_alloc(chunk * xrow + 1, sizeof(float)) : NULL;
  float *yf = (float *)R_alloc(chunk * yrow + 1, sizeof(float));
  SEXP out = PROTECT(allocVector(REALSXP, (R_xlen_t)(B * yrow)));
  double *o = REAL(out);
  api_backend be;
  api_backend_open(&be, device, spec, in_dim, host, net);
  net->stop = user_interrupt_pending; /* long passes end early on an interrupt */
  ta_msg msg;
  int st = TA_OK;
  double nonfinite = 0; /* counted here, so that R needs no test of every value */
  for (size_t s = 0; s < B && st == TA_OK; s += chunk) {
    size_t b = B - s < chunk ? B - s : chunk;
    const float *xs = x + s * xstep;
    if (gather) {
      for (size_t i = 0; i < b; i++) memcpy(xb + i * xrow, xs + i * xstep, xrow * sizeof(float));
      xs = xb;
    }
    st = be.ops->predict(&be, yf, xs, lens ? lens + s : NULL, b, T, chunk, &msg);
    if (st != TA_OK) break;
    /* into R's column-major [B, T_out, out_dim]: no transposed copy in R */
    for (size_t i = 0; i < b; i++)
      for (size_t t = 0; t < To; t++)
        for (size_t f = 0; f < Fo; f++) {
          float v = yf[(i * To + t) * Fo + f];
          o[(s + i) + B * (t + To * f)] = (double)v;
          if (!isfinite(v)) nonfinite++;
        }
    /* the CPU asks after each chunk; the GPU only between the chunks of one call */
    if (s + b < B && user_interrupt_pending() && user_interrupted(NULL)) st = TA_ERR_INTERRUPT;
  }
  if (st != TA_OK && st != TA_ERR_INTERRUPT) api_backend_fail(&be, &msg);
  api_backend_close(&be);
  release(host);
  if (st == TA_ERR_INTERRUPT) {
    UNPROTECT(2);
    return R_NilValue; /* freed: R signals it (predict()) */
  }
  SEXP dim = PROTECT(allocVector(INTSXP, 3));
  INTEGER(dim)[0] = (int)B; /* counts of a checked R array, and T_out <= T */
  INTEGER(dim)[1] = (int)To;
  INTEGER(dim)[2] = (int)Fo;
  setAttrib(out, R_DimSymbol, dim);
  SEXP res = PROTECT(allocVector(VECSXP, 2));
  SET_VECTOR_ELT(res, 0, out);
  SET_VECTOR_ELT(res, 1, ScalarReal(nonfinite));
  UNPROTECT(4);
  return res;
}

/* predict(): x [B, T, in_dim] row-major (dims c(B, T, in_dim)), len NULL or [B], in
 * chunks of batch_size sequences; predict_run's list(predictions, nonfinite) or NULL */
SEXP C_net_predict(SEXP spec, SEXP in_dim, SEXP params, SEXP x, SEXP dims,
                   SEXP len, SEXP batch_size, SEXP device) {
  ta_net *net;
  SEXP host = build_net(spec, in_dim, &net);
  size_t B, T;
  const int *lens;
  const float *xf = net_batch(net, params, x, dims, len, &B, &T, &lens);
  int bs = scalar_int(batch_size, "batch_size");
  if (bs < 1) error("'batch_size' must be >= 1");
  SEXP out = predict_run(host, net, spec, in_dim, device, xf, T * (size_t)net->in_dim, lens, B,
                         T, (size_t)bs);
  UNPROTECT(1);
  return out;
}

/* predict() on the first n windows of lookback rows of feat [N, F] (window i: rows
 * i..i+lookback-1), gathered chunk by chunk (batch_size windows, the chunks of
 * C_net_predict): list(predictions [n, T_out, out_dim], how many are not finite) as
 * C_net_predict gives it, or NULL after an interrupt between chunks (R signals it) */
SEXP C_net_predict_rows(SEXP spec, SEXP in_dim, SEXP params, SEXP feat, SEXP lookback,
                        SEXP n_, SEXP batch_size, SEXP device) {
  ta_net *net;
  SEXP host = build_net(spec, in_dim, &net);
  int L = scalar_int(lookback, "lookback"), n = scalar_int(n_, "n");
  int bs = scalar_int(batch_size, "batch_size");
  if (L < 1) error("'lookback' must be >= 1");
  if (n < 1) error("'n' must be >= 1");
  if (bs < 1) error("'batch_size' must be >= 1");
  size_t N, F;
  const float *xf = matrix_rows(feat, "feat", &N, &F);
  if (F != (size_t)net->in_dim)
    error("'feat' has %zu columns but the network takes %d features", F, net->in_dim);
  if ((double)n + (double)L - 1.0 > (double)N)
    error("'n' must be at most %.0f, the windows of %zu rows of 'feat' for 'lookback' = %d, "
          "not %d", (double)N - L + 1 < 0 ? 0 : (double)N - L + 1, N, L, n);
  if (ta_net_out_time(net, (size_t)L) == 0) error("'lookback' = %d is too short for the network", L);
  memcpy(net->params, to_float(params, net->n_params, "weights"), net->n_params * sizeof(float));
  /* a window of one row is a row: F is then the windows' size too, and they lie end to end */
  SEXP out = predict_run(host, net, spec, in_dim, device, xf, F, NULL, (size_t)n, (size_t)L,
                         (size_t)bs);
  UNPROTECT(1);
  return out;
}

/* Loss and gradients on one batch, for gradient checks and fixtures:
 * list(loss, weights, x, output). */
SEXP C_net_gradient(SEXP spec, SEXP in_dim, SEXP params, SEXP x, SEXP dims,
                    SEXP len, SEXP y, SEXP loss, SEXP training, SEXP seed, SEXP device) {
  ta_net *net;
  SEXP host = build_net(spec, in_dim, &net);
  size_t B, T;
  const int *lens;
  const float *xf = net_batch(net, params, x, dims, len, &B, &T, &lens);
  int lk = loss_code(loss);
  int tr = asLogical(training) == TRUE;
  ta_rng_seed(&net->rng, seed_of(seed));
  size_t nx = B * T * (size_t)net->in_dim;
  size_t ny = B * ta_net_out_time(net, T) * (size_t)net->out_dim;
  const float *yf = to_float(y, ny, "y");
  float *grads = (float *)R_alloc(net->n_params + 1, sizeof(float));
  float *dx = (float *)R_alloc(nx + 1, sizeof(float));
  float *yhat = (float *)R_alloc(ny + 1, sizeof(float));
  api_backend be;
  api_backend_open(&be, device, spec, in_dim, host, net);
  ta_msg msg;
  double l = 0.0;
  if (be.ops->gradient(&be, &l, grads, dx, yhat, xf, lens, yf, B, T, lk, tr, &msg) != TA_OK)
    api_backend_fail(&be, &msg);
  api_backend_close(&be);
  const char *fields[] = {"loss", "weights", "x", "output", ""};
  SEXP res = PROTECT(mkNamed(VECSXP, fields));
  SET_VECTOR_ELT(res, 0, ScalarReal(l));
  SET_VECTOR_ELT(res, 1, from_float(grads, net->n_params));
  SET_VECTOR_ELT(res, 2, from_float(dx, nx));
  SET_VECTOR_ELT(res, 3, from_float(yhat, ny));
  release(host);
  UNPROTECT(3);
  return res;
}

/* The training run that C_net_fit and C_net_fit_windows share: fit()'s named list of
 * settings (fit_config, api_util.h), the weights and seed into net (held by host, which
 * the caller protected), the backend's ta_train, and fit_result()'s list (an interrupt
 * returns what was trained, status TA_ERR_INTERRUPT: fit() signals it). Frees the
 * network; leaves the caller's PROTECT of host to pop. */
static SEXP train_net(SEXP host, ta_net *net, SEXP spec, SEXP in_dim, SEXP params,
                      SEXP settings, SEXP seed, SEXP device, const ta_data *train,
                      const ta_data *val, size_t T) {
  fit_ctx ctx;
  ta_train_cfg cfg;
  fit_config(&cfg, &ctx, settings);
  ta_rng_seed(&net->rng, seed_of(seed));
  memcpy(net->params, to_float(params, net->n_params, "weights"), net->n_params * sizeof(float));
  SEXP lh = PROTECT(allocVector(REALSXP, cfg.epochs));
  SEXP vh = PROTECT(allocVector(REALSXP, cfg.epochs));
  api_backend be;
  api_backend_open(&be, device, spec, in_dim, host, net);
  ta_train_result tr;
  ta_msg msg;
  msg.text[0] = '\0';
  int st = be.ops->train(&be, train, val, T, &cfg, REAL(lh), REAL(vh), &tr, &msg);
  if (st != TA_OK && st != TA_ERR_NONFINITE && st != TA_ERR_INTERRUPT) api_backend_fail(&be, &msg);
  api_backend_close(&be);
  SEXP res = PROTECT(fit_result(net, lh, vh, st, &msg, &tr));
  release(host);
  UNPROTECT(4);
  return res;
}

/* fit() of a network on arrays: x [B, T, F] (dims), y, the valid lengths, the validation
 * set (xv, nv_ sequences, lenv, yv), settings as train_net's */
SEXP C_net_fit(SEXP spec, SEXP in_dim, SEXP params, SEXP x, SEXP dims, SEXP len,
               SEXP y, SEXP xv, SEXP nv_, SEXP lenv, SEXP yv, SEXP settings, SEXP seed,
               SEXP device) {
  ta_net *net;
  SEXP host = build_net(spec, in_dim, &net);
  ta_data train, val;
  size_t T;
  fit_data(&train, &val, &T, net, x, dims, len, y, xv, nv_, lenv, yv);
  SEXP res = train_net(host, net, spec, in_dim, params, settings, seed, device, &train, &val, T);
  UNPROTECT(1);
  return res;
}

/* fit() of a global model on windows cut batch by batch from many series (ta_windows.h):
 * win is windows_data()'s list; the network takes [B, L, 1 + covariates] and gives H
 * values per window; no validation set. The result as C_net_fit's. */
SEXP C_net_fit_windows(SEXP spec, SEXP in_dim, SEXP params, SEXP win, SEXP settings,
                       SEXP seed, SEXP device) {
  ta_net *net;
  SEXP host = build_net(spec, in_dim, &net);
  ta_windows w;
  ta_data train, val;
  windows_data(&w, &train, &val, net, win);
  SEXP res = train_net(host, net, spec, in_dim, params, settings, seed, device, &train, &val,
                       w.L);
  UNPROTECT(1);
  return res;
}

/* fit() of tsattn()'s network on the windows of one series, cut batch by batch from its
 * rows (rows_data(), api_util.h): feat [N, F] and targets [N, k], lookback and horizon,
 * the first n_train windows training and the next n_val validating; settings and the
 * result as C_net_fit's. Training on make_windows()'s arrays of the same windows gives
 * the same bits. */
SEXP C_net_fit_rows(SEXP spec, SEXP in_dim, SEXP params, SEXP feat, SEXP targets,
                    SEXP lookback, SEXP horizon, SEXP n_train, SEXP n_val, SEXP settings,
                    SEXP seed, SEXP device) {
  ta_net *net;
  SEXP host = build_net(spec, in_dim, &net);
  ta_data train, val;
  size_t T;
  rows_data(&train, &val, &T, net, feat, targets, lookback, horizon, n_train, n_val);
  SEXP res = train_net(host, net, spec, in_dim, params, settings, seed, device, &train, &val, T);
  UNPROTECT(1);
  return res;
}

/* Attention weights of every attention layer after an evaluation-mode forward:
 * a list with, per such layer, list(layer = i, weights = [B, heads, Tq, Tk] row-major,
 * dims = c(B, heads, Tq, Tk)). */
SEXP C_net_attention(SEXP spec, SEXP in_dim, SEXP params, SEXP x, SEXP dims,
                     SEXP len, SEXP device) {
  ta_net *net;
  SEXP host = build_net(spec, in_dim, &net);
  size_t B, T;
  const int *lens;
  const float *xf = net_batch(net, params, x, dims, len, &B, &T, &lens);
  attn_bufs a;
  attn_bufs_of(&a, net, B, T);
  api_backend be;
  api_backend_open(&be, device, spec, in_dim, host, net);
  ta_msg msg;
  if (be.ops->attention(&be, &a, xf, lens, B, T, &msg) != TA_OK) api_backend_fail(&be, &msg);
  api_backend_close(&be);
  SEXP res = PROTECT(attn_result(&a, net, B));
  release(host);
  UNPROTECT(3);
  return res;
}

/* NULL when every layer of the network has a GPU path, else the first one's reason (a
 * CPU-only build: always NULL, as it has no GPU path to speak of) */
SEXP C_cuda_net_unsupported(SEXP spec, SEXP in_dim) {
  ta_net *net;
  SEXP host = build_net(spec, in_dim, &net);
  ta_msg why;
  why.text[0] = '\0';
  int i = api_gpu_unsupported(net, &why);
  release(host);
  UNPROTECT(1);
  return i >= 0 ? mkString(why.text) : R_NilValue;
}
