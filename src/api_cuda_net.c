/* .Call glue of training and prediction on the GPU (ta_cuda_net.h), the same in a CUDA
 * and a CPU-only build (whose stub answers "no CUDA backend"). As api_net.c: the host
 * network is built from R's spec in an external pointer; every R conversion (which may
 * raise an error) happens before the GPU network exists; the GPU network then lives in
 * its own external pointer whose finalizer frees the device memory and the pinned
 * buffer, and every error raised after it exists frees it (and the host network)
 * first. R decides which device (check_device() in R/fit.R). */
#include <math.h>
#include <string.h>
#include <R.h>
#include <Rinternals.h>
#include "api_util.h"
#include "ta_cuda_net.h"

static void gpu_finalizer(SEXP ptr) {
  ta_cuda_net *g = (ta_cuda_net *)R_ExternalPtrAddr(ptr);
  if (g) {
    ta_cuda_net_free(g);
    R_ClearExternalPtr(ptr);
  }
}

/* the GPU copy of net on device `device`, in a PROTECTed external pointer (one
 * PROTECT for the caller); an R error, after freeing the host network, when it cannot
 * be made (no CUDA backend, no device, out of device memory, an unsupported layer) */
static SEXP build_gpu(SEXP host, ta_net *net, SEXP device, ta_cuda_net **out) {
  int dev = scalar_int(device, "device");
  SEXP ptr = PROTECT(R_MakeExternalPtr(NULL, R_NilValue, R_NilValue));
  R_RegisterCFinalizerEx(ptr, gpu_finalizer, TRUE);
  ta_msg msg;
  if (ta_cuda_net_create(out, net, dev, &msg) != TA_OK) {
    release(host);
    error("%s", msg.text);
  }
  R_SetExternalPtrAddr(ptr, *out);
  return ptr;
}

/* frees both networks, then raises msg */
static void fail(SEXP host, SEXP gpu, const char *text) {
  gpu_finalizer(gpu);
  release(host);
  error("%s", text);
}

SEXP C_cuda_net_predict(SEXP spec, SEXP in_dim, SEXP params, SEXP x, SEXP dims,
                        SEXP len, SEXP batch_size, SEXP device) {
  ta_net *net;
  SEXP host = build_net(spec, in_dim, &net);
  size_t B, T;
  const int *lens;
  const float *xf = net_batch(net, params, x, dims, len, &B, &T, &lens);
  int bs = scalar_int(batch_size, "batch_size");
  if (bs < 1) error("'batch_size' must be >= 1");
  size_t ny = B * ta_net_out_time(net, T) * (size_t)net->out_dim;
  float *yf = (float *)R_alloc(ny + 1, sizeof(float));
  SEXP out = PROTECT(allocVector(REALSXP, (R_xlen_t)ny));
  ta_cuda_net *g;
  SEXP gpu = build_gpu(host, net, device, &g);
  ta_msg msg;
  if (ta_cuda_net_predict(g, yf, xf, lens, B, T, (size_t)bs, &msg) != TA_OK) fail(host, gpu, msg.text);
  gpu_finalizer(gpu);
  double *o = REAL(out);
  for (size_t i = 0; i < ny; i++) o[i] = (double)yf[i];
  release(host);
  UNPROTECT(3);
  return out;
}

/* Loss and gradients on one batch on the GPU: list(loss, weights, x, output) as
 * C_net_gradient, with the same arguments plus the device. In training mode the
 * dropout masks are the GPU's own draws (ta_dropout_keep), not the CPU's. */
SEXP C_cuda_net_gradient(SEXP spec, SEXP in_dim, SEXP params, SEXP x, SEXP dims,
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
  const char *fields[] = {"loss", "weights", "x", "output", ""};
  SEXP res = PROTECT(mkNamed(VECSXP, fields));
  SEXP gw = PROTECT(allocVector(REALSXP, (R_xlen_t)net->n_params));
  SEXP gx = PROTECT(allocVector(REALSXP, (R_xlen_t)nx));
  SEXP go = PROTECT(allocVector(REALSXP, (R_xlen_t)ny));
  ta_cuda_net *g;
  SEXP gpu = build_gpu(host, net, device, &g);
  ta_msg msg;
  double l = 0.0;
  if (ta_cuda_net_gradient(g, &l, grads, dx, yhat, xf, lens, yf, B, T, lk, tr, &msg) != TA_OK)
    fail(host, gpu, msg.text);
  gpu_finalizer(gpu);
  for (size_t i = 0; i < net->n_params; i++) REAL(gw)[i] = (double)grads[i];
  for (size_t i = 0; i < nx; i++) REAL(gx)[i] = (double)dx[i];
  for (size_t i = 0; i < ny; i++) REAL(go)[i] = (double)yhat[i];
  SET_VECTOR_ELT(res, 0, ScalarReal(l));
  SET_VECTOR_ELT(res, 1, gw);
  SET_VECTOR_ELT(res, 2, gx);
  SET_VECTOR_ELT(res, 3, go);
  release(host);
  UNPROTECT(6);
  return res;
}

/* The GPU training run that C_cuda_net_fit and C_cuda_net_fit_windows share: the weights
 * and seed into the host network (held by host, which the caller protected), its GPU
 * copy, ta_cuda_train, and fit_result()'s list (an interrupt returns what was trained:
 * fit() signals it). Frees both networks; leaves the caller's PROTECT of host to pop. */
static SEXP train_gpu(SEXP host, ta_net *net, SEXP params, SEXP seed, SEXP device,
                      const ta_data *train, const ta_data *val, size_t T,
                      const ta_train_cfg *cfg) {
  /* the generator shuffles on the host, seeded as on the CPU: the same batch order */
  ta_rng_seed(&net->rng, seed_of(seed));
  memcpy(net->params, to_float(params, net->n_params, "weights"), net->n_params * sizeof(float));
  SEXP lh = PROTECT(allocVector(REALSXP, cfg->epochs));
  SEXP vh = PROTECT(allocVector(REALSXP, cfg->epochs));
  ta_cuda_net *g;
  SEXP gpu = build_gpu(host, net, device, &g);
  ta_train_result tr;
  ta_msg msg;
  msg.text[0] = '\0';
  int st = ta_cuda_train(g, train, val, T, cfg, REAL(lh), REAL(vh), &tr, &msg);
  gpu_finalizer(gpu);
  if (st != TA_OK && st != TA_ERR_NONFINITE && st != TA_ERR_INTERRUPT) fail(host, gpu, msg.text);
  /* the device memory is freed by now: R may allocate */
  SEXP res = PROTECT(fit_result(net, lh, vh, st, &msg, &tr));
  release(host);
  UNPROTECT(4);
  return res;
}

/* fit() on the GPU: the arguments and the result of C_net_fit, plus the device id. */
SEXP C_cuda_net_fit(SEXP spec, SEXP in_dim, SEXP params, SEXP x, SEXP dims, SEXP len,
                    SEXP y, SEXP xv, SEXP nv_, SEXP lenv, SEXP yv, SEXP settings, SEXP seed,
                    SEXP device) {
  ta_net *net;
  SEXP host = build_net(spec, in_dim, &net);
  fit_ctx ctx;
  ta_train_cfg cfg;
  fit_config(&cfg, &ctx, settings);
  ta_data train, val;
  size_t T;
  fit_data(&train, &val, &T, net, x, dims, len, y, xv, nv_, lenv, yv);
  SEXP res = train_gpu(host, net, params, seed, device, &train, &val, T, &cfg);
  UNPROTECT(1);
  return res;
}

/* C_net_fit_windows on the GPU: its arguments and result, plus the device id (the
 * windows are cut on the host, into the pinned batch buffer) */
SEXP C_cuda_net_fit_windows(SEXP spec, SEXP in_dim, SEXP params, SEXP win,
                            SEXP settings, SEXP seed, SEXP device) {
  ta_net *net;
  SEXP host = build_net(spec, in_dim, &net);
  fit_ctx ctx;
  ta_train_cfg cfg;
  fit_config(&cfg, &ctx, settings);
  ta_windows w;
  ta_data train, val;
  windows_data(&w, &train, &val, net, win);
  SEXP res = train_gpu(host, net, params, seed, device, &train, &val, w.L, &cfg);
  UNPROTECT(1);
  return res;
}

/* Sample paths of a recursive forecast on the GPU: C_net_simulate's arguments and
 * result (list(paths, mean)), plus the device id. */
SEXP C_cuda_net_simulate(SEXP spec, SEXP in_dim, SEXP params, SEXP window,
                         SEXP dims, SEXP xreg_future, SEXP h, SEXP npaths, SEXP resid,
                         SEXP n_series, SEXP seed, SEXP device) {
  ta_net *net;
  SEXP host = build_net(spec, in_dim, &net);
  sim_args a;
  sim_args_of(&a, net, params, window, dims, xreg_future, h, npaths, resid, n_series, seed);
  memcpy(net->params, a.params, net->n_params * sizeof(float));
  ta_cuda_net *g;
  SEXP gpu = build_gpu(host, net, device, &g);
  ta_msg msg;
  net->stop = user_interrupt_pending; /* an interrupt ends the steps early */
  int st = ta_cuda_simulate(g, a.paths, a.mean, a.window, a.lookback, a.n_series,
                            a.xreg_future, a.n_xreg, a.h, a.npaths, a.resid, a.n_resid, a.seed,
                            &msg);
  if (st == TA_ERR_INTERRUPT) {
    user_interrupted(NULL); /* taken here; freed below; R signals it (simulate_paths) */
    gpu_finalizer(gpu);
    release(host);
    UNPROTECT(2);
    return R_NilValue;
  }
  if (st != TA_OK) fail(host, gpu, msg.text);
  gpu_finalizer(gpu);
  release(host);
  SEXP res = sim_result(&a);
  UNPROTECT(2);
  return res;
}

/* Attention weights on the GPU: C_net_attention's arguments and result, plus the
 * device id. The host buffers are allocated before the GPU network exists. */
SEXP C_cuda_net_attention(SEXP spec, SEXP in_dim, SEXP params, SEXP x, SEXP dims,
                          SEXP len, SEXP device) {
  ta_net *net;
  SEXP host = build_net(spec, in_dim, &net);
  size_t B, T;
  const int *lens;
  const float *xf = net_batch(net, params, x, dims, len, &B, &T, &lens);
  attn_bufs a;
  attn_bufs_of(&a, net, B, T);
  ta_cuda_net *g;
  SEXP gpu = build_gpu(host, net, device, &g);
  ta_msg msg;
  const float *yhat;
  int st = ta_cuda_net_reserve(g, B, T, &msg);
  if (!st) st = ta_cuda_net_upload(g, xf, NULL, B, T, &msg);
  if (!st) st = ta_cuda_net_upload_len(g, lens, B, &msg);
  if (!st) st = ta_cuda_net_forward(g, &yhat, B, T, &msg);
  for (int i = 0, k = 0; i < net->n_layers && !st; i++)
    if (ta_net_attn_heads(net, i) > 0) st = ta_cuda_net_attn_weights(g, i, a.w[k++], B, T, &msg);
  if (st) fail(host, gpu, msg.text);
  gpu_finalizer(gpu);
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
  int i = ta_cuda_built() ? ta_cuda_net_unsupported(net, &why) : -1;
  release(host);
  UNPROTECT(1);
  return i >= 0 ? mkString(why.text) : R_NilValue;
}
