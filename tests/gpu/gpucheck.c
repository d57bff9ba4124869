/* gpucheck: the C core against its CUDA backend, without R.
 *
 *   gpucheck            every check; one line each, exit status 1 on any failure
 *                       (--random N random cases, default 120; --quick: no training or
 *                       forecast checks and no random cases unless --random; --filter
 *                       'gru|lstm': only the cases whose names contain one of the parts)
 *   gpucheck --time     training-step times of the workloads W1-W5 on the GPU
 *                       (--reps N, --cpu to time the CPU core too)
 *
 * Built by tests/gpu/Makefile against the real CUDA runtime (make -C tests/gpu; the top-level
 * make gpucheck on a machine with a GPU) or against tools/cuda-emu's CPU emulation of it
 * (make -C tests/gpu EMU=1; make gpucheck elsewhere, and make test, which counts its checks),
 * so that it runs between GPU sessions and cannot rot.
 *
 * Each case is a network built from specs as R builds them (R/layers.R's layer_spec),
 * with PyTorch's initialisation from a fixed seed, on inputs drawn from a fixed seed. The
 * CPU core is the reference. A check passes when every value satisfies
 * |gpu - cpu| <= atol + rtol |cpu| (and neither is NaN); the tolerances are
 * tests/testthat/helper-cuda.R's, which says why each is what it is. Exact checks (a run
 * repeated, a prediction in other chunks) must give the same bits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ta_net.h"
#include "ta_train.h"
#include "ta_loss.h"
#include "ta_math.h"
#include "ta_forecast.h"
#include "ta_threads.h"
#include "ta_cuda_net.h"

/* ------------------------------------------------------------------------------------ */
/* layer specs, as R writes them (unused fields 0, window -1 = every key)                */

static ta_layer_spec spec(int type) {
  ta_layer_spec s;
  memset(&s, 0, sizeof s);
  s.type = type;
  s.window = -1;
  return s;
}
static ta_layer_spec dense(int units, int act) {
  ta_layer_spec s = spec(TA_LAYER_DENSE);
  s.units = units; s.activation = act; s.bias = 1;
  return s;
}
static ta_layer_spec activation(int act) {
  ta_layer_spec s = spec(TA_LAYER_ACTIVATION);
  s.activation = act;
  return s;
}
static ta_layer_spec dropout(double rate) {
  ta_layer_spec s = spec(TA_LAYER_DROPOUT);
  s.rate = rate;
  return s;
}
static ta_layer_spec rnn(int type, int units, int layers, double drop) {
  ta_layer_spec s = spec(type);
  s.units = units; s.num_layers = layers; s.return_sequences = 1; s.rate = drop;
  return s;
}
static ta_layer_spec last_step(void) { return spec(TA_LAYER_LAST_STEP); }
static ta_layer_spec conv1d(int filters, int k, int padding, int act) {
  ta_layer_spec s = spec(TA_LAYER_CONV1D);
  s.units = filters; s.kernel_size = k; s.padding = padding; s.activation = act; s.bias = 1;
  return s;
}
static ta_layer_spec layer_norm(void) {
  ta_layer_spec s = spec(TA_LAYER_LAYER_NORM);
  s.eps = 1e-5;
  return s;
}
static ta_layer_spec posenc(int encoding, int max_len, double drop) {
  ta_layer_spec s = spec(TA_LAYER_POSENC);
  s.encoding = encoding; s.max_len = max_len; s.rate = drop;
  return s;
}
static ta_layer_spec attention(int units, int key_dim, int score, int window, int causal) {
  ta_layer_spec s = spec(TA_LAYER_ATTENTION);
  s.units = units; s.key_dim = key_dim; s.score = score; s.window = window; s.causal = causal;
  s.bias = 1; s.heads = 1;
  return s;
}
static ta_layer_spec mha(int heads, int causal, double drop) {
  ta_layer_spec s = spec(TA_LAYER_MHA);
  s.heads = heads; s.causal = causal; s.bias = 1; s.rate = drop;
  return s;
}
static ta_layer_spec transformer(int heads, int d_ff, int causal, int norm_first, int act,
                                 double drop) {
  ta_layer_spec s = spec(TA_LAYER_TRANSFORMER);
  s.heads = heads; s.d_ff = d_ff; s.causal = causal; s.norm_first = norm_first;
  s.activation = act; s.rate = drop; s.eps = 1e-5;
  return s;
}
/* seq2seq's scores, by the index the cases below draw */
static const int s2s_scores[] = {TA_SCORE_ADDITIVE, TA_SCORE_DOT, TA_SCORE_GENERAL};
static ta_layer_spec seq2seq(int cell, int hidden, int score, int attn_dim, int horizon,
                             int out_dim) {
  ta_layer_spec s = spec(TA_LAYER_SEQ2SEQ);
  s.units = hidden; s.attn_dim = attn_dim; s.score = score; s.cell = cell;
  s.horizon = horizon; s.out_dim = out_dim;
  return s;
}

/* ------------------------------------------------------------------------------------ */
/* checks                                                                               */

static int n_checks, n_failed;
static const char *case_name = "";

static void report(int ok, const char *what, const char *detail) {
  n_checks++;
  if (!ok) n_failed++;
  printf("%s  %-44s %-22s %s\n", ok ? "ok  " : "FAIL", case_name, what, detail);
  fflush(stdout);
}

/* every gpu[i] within atol + rtol |cpu[i]| of cpu[i]; prints the largest difference, the
 * largest relative one and the share of the tolerance used */
static void near(const char *what, const float *gpu, const float *cpu, size_t n, double atol,
                 double rtol) {
  double maxd = 0, maxr = 0, used = 0;
  size_t bad = 0, nan = 0;
  for (size_t i = 0; i < n; i++) {
    double g = gpu[i], c = cpu[i];
    if (!isfinite(g) || !isfinite(c)) { nan++; continue; }
    double d = fabs(g - c);
    if (d > maxd) maxd = d;
    if (c != 0 && d / fabs(c) > maxr) maxr = d / fabs(c);
    double u = d / (atol + rtol * fabs(c));
    if (u > used) used = u;
    if (u > 1) bad++;
  }
  char buf[256];
  snprintf(buf, sizeof buf, "n %zu  max|d| %.2e  max rel %.2e  tol %g+%g|cpu|  used %.3g%%%s",
           n, maxd, maxr, atol, rtol, 100 * used, nan ? "  NaN/Inf!" : "");
  if (bad) {
    size_t len = strlen(buf);
    snprintf(buf + len, sizeof buf - len, "  %zu beyond", bad);
  }
  report(bad == 0 && nan == 0, what, buf);
}

/* the same bits */
static void same(const char *what, const void *a, const void *b, size_t bytes, size_t n) {
  char buf[128];
  int ok = memcmp(a, b, bytes) == 0;
  snprintf(buf, sizeof buf, "n %zu  %s", n, ok ? "identical" : "NOT identical");
  report(ok, what, buf);
}

static void status(const char *what, int st, const ta_msg *msg) {
  char buf[TA_MSG_LEN + 32];
  snprintf(buf, sizeof buf, "status %d%s%s", st, st ? ": " : "", st ? msg->text : "");
  report(st == TA_OK, what, buf);
}

/* ------------------------------------------------------------------------------------ */
/* cases                                                                                */

#define MAX_LAYERS 8
typedef struct {
  char name[64];
  ta_layer_spec layers[MAX_LAYERS];
  int n_layers, in_dim;
  size_t B, T;
  int padded;     /* random valid lengths */
  int train_mode; /* gradients in training mode too (teacher forcing; no dropout in it) */
  int optimize;   /* Adam and SGD steps, a 10-epoch run and its repeat */
  int simulate;   /* a forecast (out_dim series, rest regressors): 1 one step per pass, 2 all
                     the output steps (seq2seq) */
  int n_series;
  int dropout;    /* has dropout: training runs differ from the CPU's (the GPU draws its own
                     masks), so they are checked by finite differences and by repetition */
  int windows;    /* one feature in, out_dim values out: also trained on windows cut from
                     series (ta_windows.h, a global model's data) */
  double grad_rtol;
} kase;

static float rnorm(ta_rng *r) {
  double u1 = ((double)(ta_rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
  double u2 = (double)(ta_rng_next(r) >> 11) / 9007199254740992.0;
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
/* rounded to 3 digits, as the R tests draw them */
static void fill(float *v, size_t n, double scale, ta_rng *r) {
  for (size_t i = 0; i < n; i++) v[i] = (float)(round(rnorm(r) * scale * 1000.0) / 1000.0);
}

static ta_net *build(const kase *c, const float *params, uint64_t seed) {
  ta_net *net = NULL;
  ta_msg msg;
  if (ta_net_create(&net, c->layers, c->n_layers, c->in_dim, &msg) != TA_OK) {
    status("build network", 1, &msg);
    return NULL;
  }
  if (params) {
    memcpy(net->params, params, net->n_params * sizeof(float));
  } else {
    ta_rng r;
    ta_rng_seed(&r, seed);
    ta_net_init(net, &r);
  }
  ta_rng_seed(&net->rng, seed);
  return net;
}

static ta_cuda_net *to_gpu(ta_net *net) {
  ta_cuda_net *g = NULL;
  ta_msg msg;
  int st = ta_cuda_net_create(&g, net, 0, &msg);
  if (st) {
    status("GPU network", st, &msg);
    return NULL;
  }
  return g;
}

/* loss, output and gradients of weights and inputs on one batch */
static void check_gradients(const kase *c, const float *params, const float *x, const int *len,
                            const float *y, int training, float *grads_out) {
  ta_net *cn = build(c, params, 11), *gn = build(c, params, 11);
  if (!cn || !gn) { ta_net_free(cn); ta_net_free(gn); return; }
  size_t B = c->B, T = c->T;
  size_t nx = B * T * (size_t)c->in_dim, ny = B * ta_net_out_time(cn, T) * (size_t)cn->out_dim;
  size_t np = cn->n_params;
  float *dy = calloc(ny + 1, sizeof(float)), *dx = calloc(nx + 1, sizeof(float));
  float *g_grads = calloc(np + 1, sizeof(float)), *g_dx = calloc(nx + 1, sizeof(float));
  float *g_yhat = calloc(ny + 1, sizeof(float));
  ta_msg msg;
  int st = ta_net_reserve(cn, B, T, &msg);
  if (st) { status("CPU reserve", st, &msg); goto done; }
  cn->target = training ? y : NULL;
  const float *yhat = ta_net_forward(cn, x, len, B, T, training);
  double l = ta_batch_loss(cn, TA_LOSS_MSE, dy, yhat, y, len, B, T);
  memset(cn->grads, 0, np * sizeof(float));
  ta_net_backward(cn, dx, dy, x, len, B, T);
  if (grads_out) memcpy(grads_out, cn->grads, np * sizeof(float));
  ta_cuda_net *g = to_gpu(gn);
  if (!g) goto done;
  double gl = 0;
  st = ta_cuda_net_gradient(g, &gl, g_grads, g_dx, g_yhat, x, len, y, B, T, TA_LOSS_MSE,
                            training, &msg);
  ta_cuda_net_free(g);
  if (st) { status("GPU gradient", st, &msg); goto done; }
  const char *m = training ? "train " : "";
  char w[64];
  float lf = (float)l, glf = (float)gl;
  snprintf(w, sizeof w, "%sloss", m);
  near(w, &glf, &lf, 1, 1e-6, 1e-5);
  snprintf(w, sizeof w, "%soutput", m);
  near(w, g_yhat, yhat, ny, 1e-5, 1e-4);
  snprintf(w, sizeof w, "%sweight gradients", m);
  near(w, g_grads, cn->grads, np, 2e-5, c->grad_rtol);
  snprintf(w, sizeof w, "%sinput gradients", m);
  near(w, g_dx, dx, nx, 2e-5, c->grad_rtol);
done:
  free(dy); free(dx); free(g_grads); free(g_dx); free(g_yhat);
  ta_net_free(cn); ta_net_free(gn);
}

/* predict() in one chunk and in chunks of 2 (the same bits), against the CPU */
static void check_predict(const kase *c, const float *params, const float *x, const int *len) {
  ta_net *cn = build(c, params, 1), *gn = build(c, params, 1);
  if (!cn || !gn) { ta_net_free(cn); ta_net_free(gn); return; }
  size_t B = c->B, T = c->T, ny = B * ta_net_out_time(cn, T) * (size_t)cn->out_dim;
  float *a = calloc(ny + 1, sizeof(float)), *b = calloc(ny + 1, sizeof(float));
  float *a2 = calloc(ny + 1, sizeof(float));
  ta_msg msg;
  int st = ta_net_reserve(cn, B, T, &msg);
  if (st) { status("CPU reserve", st, &msg); goto done; }
  const float *ref = ta_net_predict(cn, x, len, B, T);
  ta_cuda_net *g = to_gpu(gn);
  if (!g) goto done;
  st = ta_cuda_net_predict(g, a, x, len, B, T, B, &msg);
  if (!st) st = ta_cuda_net_predict(g, b, x, len, B, T, 2, &msg);
  if (!st) st = ta_cuda_net_predict(g, a2, x, len, B, T, B, &msg);
  ta_cuda_net_free(g);
  if (st) { status("GPU predict", st, &msg); goto done; }
  near("predict", a, ref, ny, 1e-5, 1e-4);
  /* not the same bits: cuBLAS chooses its kernels (and so its order of summation) by
   * the product's shape, and a chunk of 2 sequences is another shape (seen on an H200,
   * 2026-12-04); within the outputs' tolerance of the one-chunk result, and the same
   * call repeated gives the same bits */
  near("predict in chunks of 2", b, a, ny, 1e-5, 1e-4);
  same("predict repeated", a2, a, ny * sizeof(float), ny);
done:
  free(a); free(b); free(a2);
  ta_net_free(cn); ta_net_free(gn);
}

/* the attention weights of every layer that keeps some */
static void check_attention(const kase *c, const float *params, const float *x, const int *len) {
  ta_net *cn = build(c, params, 1), *gn = build(c, params, 1);
  if (!cn || !gn) { ta_net_free(cn); ta_net_free(gn); return; }
  size_t B = c->B, T = c->T;
  ta_msg msg;
  int st = ta_net_reserve(cn, B, T, &msg);
  if (st) { status("CPU reserve", st, &msg); goto done; }
  ta_net_forward(cn, x, len, B, T, 0);
  ta_cuda_net *g = NULL;
  for (int i = 0; i < cn->n_layers; i++) {
    int heads = ta_net_attn_heads(cn, i);
    if (heads <= 0) continue;
    if (!g) {
      const float *yh;
      g = to_gpu(gn);
      if (!g) goto done;
      st = ta_cuda_net_reserve(g, B, T, &msg);
      if (!st) st = ta_cuda_net_upload(g, x, NULL, B, T, &msg);
      if (!st) st = ta_cuda_net_upload_len(g, len, B, &msg);
      if (!st) st = ta_cuda_net_forward(g, &yh, B, T, &msg);
      if (st) { status("GPU forward", st, &msg); break; }
    }
    size_t tq, tk;
    ta_net_attn_weights(cn, i, NULL, B, T, &tq, &tk);
    size_t n = B * (size_t)heads * tq * tk;
    float *a = calloc(n + 1, sizeof(float)), *b = calloc(n + 1, sizeof(float));
    ta_net_attn_weights(cn, i, a, B, T, &tq, &tk);
    st = ta_cuda_net_attn_weights(g, i, b, B, T, &msg);
    char w[64];
    snprintf(w, sizeof w, "attention of layer %d", i + 1);
    if (st) status(w, st, &msg);
    else near(w, b, a, n, 1e-6, 1e-4);
    free(a); free(b);
  }
  ta_cuda_net_free(g);
done:
  ta_net_free(cn); ta_net_free(gn);
}

/* a fit() on one device, validating on val unless it is NULL: params_out [n_params],
 * hist [epochs] and, unless NULL, val_hist [epochs] */
static int train_val_on(const kase *c, const float *params, const ta_data *d, const ta_data *val,
                        const ta_train_cfg *cfg, int gpu, float *params_out, double *hist,
                        double *val_hist) {
  ta_net *net = build(c, params, 5);
  if (!net) return 1;
  double vh[64];
  ta_data none = {NULL, NULL, NULL, 0};
  if (!val) val = &none;
  if (!val_hist) val_hist = vh;
  ta_train_result res;
  ta_msg msg;
  int st;
  if (gpu) {
    ta_cuda_net *g = to_gpu(net);
    if (!g) { ta_net_free(net); return 1; }
    st = ta_cuda_train(g, d, val, c->T, cfg, hist, val_hist, &res, &msg);
    ta_cuda_net_free(g);
  } else {
    st = ta_train(net, d, val, c->T, cfg, hist, val_hist, &res, &msg);
  }
  if (st) status(gpu ? "GPU training" : "CPU training", st, &msg);
  else memcpy(params_out, net->params, net->n_params * sizeof(float));
  ta_net_free(net);
  return st;
}

static int train_on(const kase *c, const float *params, const ta_data *d, const ta_train_cfg *cfg,
                    int gpu, float *params_out, double *hist) {
  return train_val_on(c, params, d, NULL, cfg, gpu, params_out, hist, NULL);
}

static ta_train_cfg train_cfg(int epochs, int batch, int shuffle, int kind) {
  ta_train_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.epochs = epochs;
  cfg.batch_size = batch;
  cfg.shuffle = shuffle;
  cfg.loss = TA_LOSS_MSE;
  cfg.opt.kind = kind;
  cfg.opt.lr = 0.01;
  cfg.opt.beta1 = 0.9;
  cfg.opt.beta2 = 0.999;
  cfg.opt.eps = 1e-8;
  cfg.opt.momentum = kind == TA_OPT_SGD ? 0.9 : 0;
  return cfg;
}

/* Adam moves a weight by about lr sign(g) whatever |g|, so a weight whose gradient is zero
 * but for rounding (a key projection's bias under a dot score: the softmax ignores a
 * constant added to a row) moves by lr either way on the two devices. Those weights,
 * |g| < 1e-5 on the whole batch (the gradient checks' atol), are left out of the Adam
 * comparisons; the count is printed. */
static void near_masked(const char *what, const float *gpu, const float *cpu, size_t n,
                        const float *grad, double atol, double rtol) {
  float *a = malloc((n + 1) * sizeof(float)), *b = malloc((n + 1) * sizeof(float));
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!grad || fabsf(grad[i]) >= 1e-5f) { a[k] = gpu[i]; b[k] = cpu[i]; k++; }
  char w[96];
  if (k < n) snprintf(w, sizeof w, "%s (%zu of |g|<1e-5 left out)", what, n - k);
  else snprintf(w, sizeof w, "%s", what);
  near(w, a, b, k, atol, rtol);
  free(a); free(b);
}

/* one Adam step, one SGD step (momentum), a 10-epoch run of shuffled batches of 2 and the
 * same run again on the GPU (the same bits); with dropout only the repetition (the GPU's
 * masks are its own draws) */
static void check_training(const kase *c, const float *params, size_t np, const ta_data *d,
                           const float *grad) {
  float *cp = calloc(np + 1, sizeof(float)), *gp = calloc(np + 1, sizeof(float));
  float *gp2 = calloc(np + 1, sizeof(float));
  double ch[16], gh[16], gh2[16];
  float chf[16], ghf[16];
  for (int k = 0; k < 2 && !c->dropout; k++) {
    int kind = k ? TA_OPT_SGD : TA_OPT_ADAM;
    ta_train_cfg cfg = train_cfg(1, (int)c->B, 0, kind);
    if (train_on(c, params, d, &cfg, 0, cp, ch) || train_on(c, params, d, &cfg, 1, gp, gh)) continue;
    chf[0] = (float)ch[0]; ghf[0] = (float)gh[0];
    near(k ? "SGD step loss" : "Adam step loss", ghf, chf, 1, 0, 1e-5);
    near_masked(k ? "SGD step weights" : "Adam step weights", gp, cp, np, k ? NULL : grad, 1e-5, 1e-5);
  }
  int batch = c->B > 2 ? 2 : (int)c->B;
  ta_train_cfg cfg = train_cfg(10, batch, 1, TA_OPT_ADAM);
  if ((c->dropout || !train_on(c, params, d, &cfg, 0, cp, ch)) &&
      !train_on(c, params, d, &cfg, 1, gp, gh) && !train_on(c, params, d, &cfg, 1, gp2, gh2)) {
    for (int e = 0; e < 10; e++) { chf[e] = (float)ch[e]; ghf[e] = (float)gh[e]; }
    if (!c->dropout) {
      near("run loss history", ghf, chf, 10, 0, 1e-4);
      near_masked("run weights", gp, cp, np, grad, 5e-4, 1e-3);
    } else {
      int finite = 1;
      for (int e = 0; e < 10; e++) finite &= isfinite(gh[e]) != 0;
      report(finite, "dropout run: finite", finite ? "10 epochs, every loss finite" : "a loss is not finite");
    }
    same("run repeated: weights", gp2, gp, np * sizeof(float), np);
    same("run repeated: losses", gh2, gh, 10 * sizeof(double), 10);
  }
  free(cp); free(gp); free(gp2);
}

/* A global model's training data (ta_windows.h): windows of T steps and H targets cut from
 * three series (one shorter than T) with a line-plus-damped-trend baseline. On the CPU,
 * training on them equals training on the same windows written out as rows (the same
 * bits); the GPU's 10-epoch run of shuffled batches matches the CPU's as check_training's
 * does, and repeats itself. */
static void check_windows(const kase *c, const float *params, size_t np, const float *grad,
                          ta_rng *r) {
  ta_net *net = build(c, params, 5);
  if (!net) return;
  size_t L = c->T, H = (size_t)net->out_dim;
  ta_net_free(net);
  const size_t lens[3] = {L + H + 9, L + H + 4, H + 3};
  size_t total = lens[0] + lens[1] + lens[2];
  double *z = malloc(total * sizeof(double)), *lev = malloc(total * sizeof(double));
  double *st = malloc(total * sizeof(double)), *sl = malloc(total * sizeof(double));
  double *dm = malloc(total * sizeof(double)), *ph = malloc(total * sizeof(double));
  double *is = malloc(total * sizeof(double));
  double org[64], fst[64], lst[64];
  size_t n = 0, off = 0;
  for (int k = 0; k < 3; k++) {
    for (size_t t = 0; t < lens[k]; t++) {
      size_t p = off + t;
      z[p] = 0.1 * (double)t + rnorm(r);
      lev[p] = z[p] + 0.3 * rnorm(r);
      st[p] = lev[p] + 0.1;
      sl[p] = 0.05 * rnorm(r);
      dm[p] = 0.05 * rnorm(r);
      ph[p] = 0.9;
      is[p] = 1.0 / (1.0 + 0.5 * k);
    }
    for (size_t o = 1; o + H < lens[k] && n < 64; o++) {
      org[n] = (double)(off + o);
      fst[n] = (double)off;
      lst[n] = (double)(off + lens[k] - 1);
      n++;
    }
    off += lens[k];
  }
  ta_windows w = {z, lev, st, sl, dm, ph, is, org, fst, lst, total, n, L, H};
  size_t *idx = malloc(n * sizeof(size_t));
  for (size_t i = 0; i < n; i++) idx[i] = i;
  float *xr = malloc(n * L * sizeof(float)), *yr = malloc(n * H * sizeof(float));
  ta_windows_gather(&w, idx, n, xr, yr);
  ta_data rows = {xr, yr, NULL, n, NULL}, wins = {NULL, NULL, NULL, n, &w};
  float *rp = calloc(np + 1, sizeof(float)), *cp = calloc(np + 1, sizeof(float));
  float *gp = calloc(np + 1, sizeof(float)), *gp2 = calloc(np + 1, sizeof(float));
  double rh[16], ch[16], gh[16], gh2[16];
  float chf[16], ghf[16];
  ta_train_cfg cfg = train_cfg(10, 4, 1, TA_OPT_ADAM);
  if (!train_on(c, params, &rows, &cfg, 0, rp, rh) && !train_on(c, params, &wins, &cfg, 0, cp, ch)) {
    same("windows: CPU weights as rows'", cp, rp, np * sizeof(float), np);
    same("windows: CPU losses as rows'", ch, rh, 10 * sizeof(double), 10);
    if (!train_on(c, params, &wins, &cfg, 1, gp, gh) && !train_on(c, params, &wins, &cfg, 1, gp2, gh2)) {
      for (int e = 0; e < 10; e++) { chf[e] = (float)ch[e]; ghf[e] = (float)gh[e]; }
      near("windows: run loss history", ghf, chf, 10, 0, 1e-4);
      near_masked("windows: run weights", gp, cp, np, grad, 5e-4, 1e-3);
      same("windows: run repeated", gp2, gp, np * sizeof(float), np);
    }
  }
  free(z); free(lev); free(st); free(sl); free(dm); free(ph); free(is); free(idx);
  free(xr); free(yr); free(rp); free(cp); free(gp); free(gp2);
}

/* tsattn()'s data (ta_data's overlapping rows): the n windows of T rows of a matrix
 * feat [n + T - 1, in_dim], window i with rows i.. of a target matrix [n + To - 1, out_dim]
 * (To: the network's output steps), the last 4 validating. On each device, training on
 * them equals training on the same windows written out as rows (the same bits, the
 * validation losses included); the GPU's run matches the CPU's as check_training's does
 * (without dropout, whose masks are each device's own). */
static void check_rows(const kase *c, const float *params, size_t np, const float *grad,
                       ta_rng *r) {
  ta_net *net = build(c, params, 5);
  if (!net) return;
  size_t T = c->T, F = (size_t)c->in_dim, To = ta_net_out_time(net, T), k = (size_t)net->out_dim;
  ta_net_free(net);
  enum { n = 12, nv = 4, nt = n - nv, E = 10 };
  size_t xrow = T * F, yrow = To * k;
  float *feat = malloc(((n + T - 1) * F + 1) * sizeof(float));
  float *targ = malloc(((n + To - 1) * k + 1) * sizeof(float));
  float *xr = malloc((n * xrow + 1) * sizeof(float)), *yr = malloc((n * yrow + 1) * sizeof(float));
  fill(feat, (n + T - 1) * F, 1, r);
  fill(targ, (n + To - 1) * k, 0.5, r);
  for (size_t i = 0; i < n; i++) {
    memcpy(xr + i * xrow, feat + i * F, xrow * sizeof(float));
    memcpy(yr + i * yrow, targ + i * k, yrow * sizeof(float));
  }
  ta_data rows = {xr, yr, NULL, nt, NULL, 0, 0};
  ta_data rows_val = {xr + nt * xrow, yr + nt * yrow, NULL, nv, NULL, 0, 0};
  ta_data ov = {feat, targ, NULL, nt, NULL, F, k};
  ta_data ov_val = {feat + nt * F, targ + nt * k, NULL, nv, NULL, F, k};
  float *p[4];
  double h[4][E], vh[4][E];
  for (int i = 0; i < 4; i++) p[i] = calloc(np + 1, sizeof(float));
  /* batches of 3: neither 8 training nor 4 validation windows are whole batches */
  ta_train_cfg cfg = train_cfg(E, 3, 1, TA_OPT_ADAM);
  int cpu_ok = 0;
  for (int gpu = 0; gpu < 2; gpu++) {
    const char *dev = gpu ? "GPU" : "CPU";
    char w[96];
    if (train_val_on(c, params, &rows, &rows_val, &cfg, gpu, p[2 * gpu], h[2 * gpu], vh[2 * gpu]) ||
        train_val_on(c, params, &ov, &ov_val, &cfg, gpu, p[2 * gpu + 1], h[2 * gpu + 1],
                     vh[2 * gpu + 1]))
      continue;
    snprintf(w, sizeof w, "rows of a matrix: %s weights as rows'", dev);
    same(w, p[2 * gpu + 1], p[2 * gpu], np * sizeof(float), np);
    snprintf(w, sizeof w, "rows of a matrix: %s losses as rows'", dev);
    same(w, h[2 * gpu + 1], h[2 * gpu], E * sizeof(double), E);
    snprintf(w, sizeof w, "rows of a matrix: %s validation losses as rows'", dev);
    same(w, vh[2 * gpu + 1], vh[2 * gpu], E * sizeof(double), E);
    if (!gpu) cpu_ok = 1;
    if (gpu && cpu_ok && !c->dropout) {
      float cv[E], gv[E];
      for (int e = 0; e < E; e++) { cv[e] = (float)vh[1][e]; gv[e] = (float)vh[3][e]; }
      near("rows of a matrix: validation loss history", gv, cv, E, 0, 1e-4);
      near_masked("rows of a matrix: run weights", p[3], p[1], np, grad, 5e-4, 1e-3);
    }
  }
  for (int i = 0; i < 4; i++) free(p[i]);
  free(feat); free(targ); free(xr); free(yr);
}

/* the GPU's loss in training mode (its dropout masks: the same for the same seed) */
static double gpu_loss(const kase *c, const float *params, const float *x, const int *len,
                       const float *y, float *grads, float *dx, float *yhat) {
  ta_net *gn = build(c, params, 11);
  double l = NAN;
  ta_msg msg;
  ta_cuda_net *g = gn ? to_gpu(gn) : NULL;
  if (g) {
    int st = ta_cuda_net_gradient(g, &l, grads, dx, yhat, x, len, y, c->B, c->T, TA_LOSS_MSE,
                                  1, &msg);
    if (st) { status("GPU gradient", st, &msg); l = NAN; }
    ta_cuda_net_free(g);
  }
  ta_net_free(gn);
  return l;
}

/* Training-mode gradients on the GPU (dropout masks and all) against finite differences
 * of the GPU's own loss, per layer along a random unit direction, as
 * tests/testthat/helper-gradcheck.R: Richardson-extrapolated central differences (steps
 * 1e-2 and 2e-2), |num - ana| <= 1e-5 + 2e-3 |num| */
static void check_dropout_gradients(const kase *c, const float *params, size_t np,
                                    const float *x, const int *len, const float *y, ta_rng *r) {
  ta_net *net = build(c, params, 11);
  if (!net) return;
  size_t nx = c->B * c->T * (size_t)c->in_dim;
  size_t ny = c->B * ta_net_out_time(net, c->T) * (size_t)net->out_dim;
  float *g = calloc(np + 1, sizeof(float)), *dx = calloc(nx + 1, sizeof(float));
  float *yh = calloc(ny + 1, sizeof(float)), *w = malloc((np + 1) * sizeof(float));
  float *scratch = calloc(np + 1, sizeof(float));
  double *dir = calloc(np + 1, sizeof(double));
  gpu_loss(c, params, x, len, y, g, dx, yh);
  for (int i = 0; i < net->n_layers; i++) {
    size_t off = net->param_off[i], n = net->layers[i].n_params;
    if (!n) continue;
    double norm = 0, ana = 0, f[4];
    for (size_t k = 0; k < n; k++) { dir[k] = rnorm(r); norm += dir[k] * dir[k]; }
    for (size_t k = 0; k < n; k++) { dir[k] /= sqrt(norm); ana += g[off + k] * dir[k]; }
    const double hs[4] = {1e-2, -1e-2, 2e-2, -2e-2};
    for (int j = 0; j < 4; j++) {
      memcpy(w, params, np * sizeof(float));
      for (size_t k = 0; k < n; k++) w[off + k] = (float)(params[off + k] + hs[j] * dir[k]);
      f[j] = gpu_loss(c, w, x, len, y, scratch, dx, yh);
    }
    double d1 = (f[0] - f[1]) / 2e-2, d2 = (f[2] - f[3]) / 4e-2, num = (4 * d1 - d2) / 3;
    double err = fabs(num - ana), tol = 1e-5 + 2e-3 * fabs(num);
    char what[64], buf[160];
    snprintf(what, sizeof what, "train grad, layer %d", i + 1);
    snprintf(buf, sizeof buf, "num %.6g  ana %.6g  |d| %.2e  tol 1e-05+0.002|num|  used %.3g%%",
             num, ana, err, 100 * err / tol);
    report(err <= tol && isfinite(num), what, buf);
  }
  free(g); free(dx); free(yh); free(w); free(scratch); free(dir);
  ta_net_free(net);
}

/* a recursive forecast: 300 paths of 5 steps from a window of T rows, with and without
 * residual noise, the regressors' future given; a network of several output steps
 * (simulate == 2, a seq2seq) gives them all per pass (5 steps: a full pass and a part) */
static void check_simulate(const kase *c, const float *params, ta_rng *r) {
  size_t L = c->T, ns = (size_t)c->n_series, nxr = (size_t)c->in_dim - ns, h = 5, np = 300;
  size_t nres = 20;
  float *window = calloc(L * c->in_dim, sizeof(float)), *xf = calloc(h * nxr + 1, sizeof(float));
  float *resid = calloc(nres * ns, sizeof(float));
  fill(window, L * c->in_dim, 1, r);
  fill(xf, h * nxr, 1, r);
  fill(resid, nres * ns, 0.1, r);
  size_t npv = np * h * ns;
  float *cp = calloc(npv, sizeof(float)), *gp = calloc(npv, sizeof(float));
  float *cm = calloc(h * ns, sizeof(float)), *gm = calloc(h * ns, sizeof(float));
  for (int noise = 1; noise >= 0; noise--) {
    ta_net *cn = build(c, params, 1), *gn = build(c, params, 1);
    if (!cn || !gn) { ta_net_free(cn); ta_net_free(gn); break; }
    ta_msg msg;
    ta_sim sc = {window, nxr ? xf : NULL, noise ? resid : NULL, L, ns, nxr, h, np,
                 noise ? nres : 0, c->simulate == 2 ? ta_net_out_time(cn, L) : 1, 9, cp, cm};
    ta_sim sg = sc;
    sg.paths = gp;
    sg.mean = gm;
    int st = ta_simulate(&cn, 1, &sc, NULL, NULL, &msg);
    if (st) status("CPU simulate", st, &msg);
    ta_cuda_net *g = st ? NULL : to_gpu(gn);
    if (g) {
      st = ta_cuda_simulate(g, &sg, NULL, NULL, &msg);
      ta_cuda_net_free(g);
      if (st) status("GPU simulate", st, &msg);
      else {
        near(noise ? "simulate: paths" : "simulate: paths, no noise", gp, cp, npv, 1e-5, 1e-4);
        near(noise ? "simulate: mean" : "simulate: mean, no noise", gm, cm, h * ns, 1e-5, 1e-4);
      }
    }
    ta_net_free(cn); ta_net_free(gn);
  }
  free(window); free(xf); free(resid); free(cp); free(gp); free(cm); free(gm);
}

static void run_case(kase *c, uint64_t seed) {
  case_name = c->name;
  ta_net *net = build(c, NULL, seed);
  if (!net) return;
  size_t B = c->B, T = c->T, np = net->n_params;
  size_t nx = B * T * (size_t)c->in_dim, ny = B * ta_net_out_time(net, T) * (size_t)net->out_dim;
  float *params = malloc((np + 1) * sizeof(float));
  memcpy(params, net->params, np * sizeof(float));
  ta_rng r;
  ta_rng_seed(&r, seed * 7919 + 1);
  float *x = malloc((nx + 1) * sizeof(float)), *y = malloc((ny + 1) * sizeof(float));
  int *len = NULL;
  fill(x, nx, 1, &r);
  fill(y, ny, 0.5, &r);
  if (c->padded) {
    len = malloc(B * sizeof(int));
    for (size_t b = 0; b < B; b++) len[b] = 1 + (int)ta_rng_below(&r, (uint32_t)T);
  }
  float *grad = calloc(np + 1, sizeof(float));
  check_gradients(c, params, x, len, y, 0, grad);
  if (c->train_mode) check_gradients(c, params, x, len, y, 1, NULL);
  if (c->dropout) check_dropout_gradients(c, params, np, x, len, y, &r);
  check_predict(c, params, x, len);
  int has_attn = 0;
  for (int i = 0; i < net->n_layers; i++) has_attn |= ta_net_attn_heads(net, i) > 0;
  if (has_attn) check_attention(c, params, x, len);
  if (c->optimize) {
    ta_data d = {x, y, len, B};
    check_training(c, params, np, &d, grad);
  }
  if (c->windows) check_windows(c, params, np, grad, &r);
  if (c->optimize) check_rows(c, params, np, grad, &r);
  free(grad);
  if (c->simulate) check_simulate(c, params, &r);
  free(params); free(x); free(y); free(len);
  ta_net_free(net);
}

/* ------------------------------------------------------------------------------------ */
/* the named cases: every layer kind, score, mask and option at least once               */

static int n_cases;
static kase cases[256];

static kase *add(const char *name, int in_dim, size_t B, size_t T, int padded, int n,
                 const ta_layer_spec *layers) {
  kase *c = &cases[n_cases++];
  memset(c, 0, sizeof *c);
  snprintf(c->name, sizeof c->name, "%s", name);
  for (int i = 0; i < n; i++) {
    c->layers[i] = layers[i];
    if (layers[i].rate > 0) c->dropout = 1;
  }
  c->n_layers = n;
  c->in_dim = in_dim;
  c->B = B;
  c->T = T;
  c->padded = padded;
  c->optimize = 1;
  c->grad_rtol = 1e-4;
  return c;
}
#define ADD(name, F, B, T, pad, ...)                                                        \
  add(name, F, B, T, pad, (int)(sizeof((ta_layer_spec[]){__VA_ARGS__}) / sizeof(ta_layer_spec)), \
      (ta_layer_spec[]){__VA_ARGS__})

static void named_cases(void) {
  const char *score_name[] = {"dot", "scaled_dot", "additive", "cosine"};
  ADD("dense tanh > dense", 3, 4, 6, 0, dense(5, TA_ACT_TANH), dense(2, TA_ACT_LINEAR));
  ADD("dense sigmoid/gelu/relu", 3, 4, 6, 1, dense(4, TA_ACT_SIGMOID), dense(4, TA_ACT_GELU),
      dense(3, TA_ACT_RELU), dense(1, TA_ACT_LINEAR));
  ADD("gru x2 > dense", 3, 4, 7, 0, rnn(TA_LAYER_GRU, 5, 2, 0), dense(1, TA_ACT_TANH));
  ADD("gru padded > last_step", 3, 5, 7, 1, rnn(TA_LAYER_GRU, 4, 1, 0), last_step(),
      dense(1, TA_ACT_LINEAR));
  ADD("lstm x2 > dense", 3, 4, 7, 0, rnn(TA_LAYER_LSTM, 5, 2, 0), dense(1, TA_ACT_LINEAR));
  ADD("lstm x3 dropout 0.3 > last_step", 2, 4, 6, 1, rnn(TA_LAYER_LSTM, 4, 3, 0.3), last_step(),
      dense(2, TA_ACT_LINEAR));
  ADD("gru x2 dropout 0.5", 3, 4, 6, 0, rnn(TA_LAYER_GRU, 4, 2, 0.5), dense(1, TA_ACT_LINEAR));
  ADD("conv1d same/causal/valid", 2, 3, 9, 0, conv1d(4, 3, TA_PAD_SAME, TA_ACT_RELU),
      conv1d(3, 2, TA_PAD_CAUSAL, TA_ACT_TANH), conv1d(2, 3, TA_PAD_VALID, TA_ACT_LINEAR),
      dense(1, TA_ACT_LINEAR));
  ADD("conv1d padded", 1, 4, 8, 1, conv1d(4, 5, TA_PAD_SAME, TA_ACT_RELU),
      conv1d(1, 5, TA_PAD_SAME, TA_ACT_LINEAR));
  ADD("layer_norm > activation", 3, 4, 5, 0, dense(6, TA_ACT_LINEAR), layer_norm(),
      activation(TA_ACT_GELU), activation(TA_ACT_TANH), dense(1, TA_ACT_LINEAR));
  ADD("posenc sinusoidal", 3, 3, 7, 0, dense(4, TA_ACT_LINEAR),
      posenc(TA_POSENC_SINUSOIDAL, 16, 0), dense(1, TA_ACT_LINEAR));
  ADD("posenc learned, padded", 3, 3, 7, 1, dense(4, TA_ACT_LINEAR),
      posenc(TA_POSENC_LEARNED, 16, 0), dense(1, TA_ACT_LINEAR));
  ADD("posenc learned dropout 0.2", 3, 3, 7, 0, posenc(TA_POSENC_LEARNED, 10, 0.2),
      dense(1, TA_ACT_LINEAR));
  ADD("dropout 0.3", 3, 4, 5, 0, dense(6, TA_ACT_TANH), dropout(0.3), dense(1, TA_ACT_LINEAR));
  /* every score, with and without a window, causal or not, padded or not */
  for (int s = 0; s < 4; s++) {
    int windows[] = {-1, 0, 2};
    for (int wi = 0; wi < 3; wi++) {
      for (int causal = 0; causal < 2; causal++) {
        char name[64];
        int padded = (s + wi + causal) % 2;
        snprintf(name, sizeof name, "attention %s w%d%s%s", score_name[s], windows[wi],
                 causal ? " causal" : "", padded ? " padded" : "");
        kase *c = ADD(name, 3, 3, 6, padded, attention(0, 0, s, windows[wi], causal),
                      dense(1, TA_ACT_LINEAR));
        c->optimize = wi == 0 && causal == 0; /* the training checks once per score */
      }
    }
  }
  ADD("attention units 5 key 4 > last_step", 2, 3, 6, 1, dense(3, TA_ACT_TANH),
      attention(5, 4, TA_SCORE_SCALED_DOT, -1, 0), last_step(), dense(1, TA_ACT_LINEAR));
  ADD("global windows: attention causal > last_step > dense 6", 1, 3, 8, 0,
      dense(4, TA_ACT_LINEAR), posenc(TA_POSENC_SINUSOIDAL, 16, 0),
      attention(0, 0, TA_SCORE_SCALED_DOT, -1, 1), last_step(), dense(4, TA_ACT_RELU),
      dense(6, TA_ACT_LINEAR))->windows = 1;
  ADD("mha 2 heads", 3, 3, 6, 0, dense(4, TA_ACT_LINEAR), mha(2, 0, 0), dense(1, TA_ACT_LINEAR));
  ADD("mha 2 heads causal padded", 3, 3, 6, 1, dense(4, TA_ACT_LINEAR), mha(2, 1, 0),
      dense(1, TA_ACT_LINEAR));
  ADD("mha 1 head dropout 0.1", 3, 3, 5, 0, mha(1, 0, 0.1), dense(1, TA_ACT_LINEAR));
  ADD("transformer post-norm relu", 3, 3, 6, 0, dense(4, TA_ACT_LINEAR),
      posenc(TA_POSENC_SINUSOIDAL, 16, 0), transformer(2, 8, 0, 0, TA_ACT_RELU, 0),
      dense(1, TA_ACT_LINEAR));
  ADD("transformer pre-norm gelu causal padded", 3, 3, 6, 1, dense(4, TA_ACT_LINEAR),
      transformer(2, 8, 1, 1, TA_ACT_GELU, 0), transformer(1, 4, 0, 0, TA_ACT_RELU, 0),
      last_step(), dense(1, TA_ACT_LINEAR));
  ADD("transformer dropout 0.1", 3, 3, 6, 0, dense(4, TA_ACT_LINEAR),
      transformer(2, 8, 0, 0, TA_ACT_RELU, 0.1), dense(1, TA_ACT_LINEAR));
  /* seq2seq: both cells, every score, teacher forcing (training mode) too */
  const char *s2s_score[] = {"additive", "dot", "general"};
  for (int cell = 0; cell < 2; cell++) {
    for (int s = 0; s < 3; s++) {
      char name[64];
      snprintf(name, sizeof name, "seq2seq %s %s%s", cell ? "lstm" : "gru", s2s_score[s],
               s == 1 ? " padded" : "");
      kase *c = ADD(name, 2, 3, 6, s == 1,
                    seq2seq(cell ? TA_CELL_LSTM : TA_CELL_GRU, 4, s2s_scores[s], s == 0 ? 3 : 0, 3, 2));
      c->train_mode = 1;
    }
  }
  /* one-step networks for the recursive forecast (2 series and 1 regressor; 1 series) */
  kase *c = ADD("simulate: lstm > dense(2)", 3, 4, 8, 0, rnn(TA_LAYER_LSTM, 6, 1, 0),
                dense(2, TA_ACT_LINEAR));
  c->simulate = 1; c->n_series = 2;
  c = ADD("simulate: gru > last_step", 1, 4, 8, 0, rnn(TA_LAYER_GRU, 5, 2, 0), last_step(),
          dense(1, TA_ACT_LINEAR));
  c->simulate = 1; c->n_series = 1;
  c = ADD("simulate: transformer > last_step", 2, 4, 8, 0, dense(4, TA_ACT_LINEAR),
          posenc(TA_POSENC_SINUSOIDAL, 32, 0), transformer(2, 8, 1, 0, TA_ACT_RELU, 0),
          last_step(), dense(1, TA_ACT_LINEAR));
  c->simulate = 1; c->n_series = 1;
  c = ADD("simulate: attention additive", 1, 4, 8, 0, dense(3, TA_ACT_TANH),
          attention(0, 0, TA_SCORE_ADDITIVE, 3, 1), last_step(), dense(1, TA_ACT_LINEAR));
  c->simulate = 1; c->n_series = 1;
  /* seq2seq forecasts, 3 steps per pass: 2 series and 1 regressor from 8 steps, and from
   * 2 steps (fewer than a pass gives) */
  c = ADD("simulate: seq2seq gru, 2 series", 3, 4, 8, 0,
          seq2seq(TA_CELL_GRU, 4, TA_SCORE_ADDITIVE, 3, 3, 2));
  c->simulate = 2; c->n_series = 2;
  c = ADD("simulate: seq2seq lstm, lookback 2", 1, 4, 2, 0,
          seq2seq(TA_CELL_LSTM, 4, TA_SCORE_DOT, 0, 3, 1));
  c->simulate = 2; c->n_series = 1;
  /* a larger batch than the others: cuBLAS picks other kernels for larger products */
  ADD("wide: gru 32 > transformer 32", 8, 16, 24, 1, rnn(TA_LAYER_GRU, 32, 1, 0),
      transformer(4, 64, 0, 0, TA_ACT_RELU, 0), dense(1, TA_ACT_LINEAR));
}

/* random small stacks, as tests/testthat/test-cuda-random.R draws them: the edge sizes
 * (one sequence, one step, one feature, window 0, lengths of 1) */
static void random_cases(int n, uint64_t seed) {
  ta_rng r;
  ta_rng_seed(&r, seed);
#define PICK(k) ((int)ta_rng_below(&r, (uint32_t)(k)))
  const size_t Bs[] = {1, 2, 5}, Ts[] = {1, 2, 7};
  const int acts[] = {TA_ACT_LINEAR, TA_ACT_TANH, TA_ACT_RELU, TA_ACT_GELU, TA_ACT_SIGMOID};
  const int windows[] = {-1, 0, 1, 3};
  for (int k = 0; k < n; k++) {
    kase *c = &cases[n_cases++];
    memset(c, 0, sizeof *c);
    int nl = 0;
    if (k % 5 == 4) { /* a seq2seq or transformer block */
      int s = PICK(3), cell = PICK(2), F = 1 + PICK(3);
      if (PICK(2)) {
        c->layers[nl++] = seq2seq(cell ? TA_CELL_LSTM : TA_CELL_GRU, 3, s2s_scores[s],
                                  s == 0 ? 2 : 0, 1 + PICK(3), 1 + PICK(F < 2 ? F : 2));
        c->train_mode = PICK(2);
      } else {
        c->layers[nl++] = dense(PICK(2) ? 2 : 4, TA_ACT_LINEAR);
        c->layers[nl++] = transformer(1 + PICK(2), 4, PICK(2), PICK(2),
                                      PICK(2) ? TA_ACT_RELU : TA_ACT_GELU, 0);
        c->layers[nl++] = PICK(2) ? last_step() : activation(TA_ACT_TANH);
        c->layers[nl++] = dense(1, TA_ACT_LINEAR);
      }
      c->in_dim = F;
    } else {
      int depth = 1 + PICK(3);
      for (int i = 0; i < depth; i++) {
        switch (PICK(9)) {
        case 0: c->layers[nl++] = dense(1 + PICK(5), acts[PICK(5)]); break;
        case 1: c->layers[nl++] = rnn(TA_LAYER_GRU, 1 + PICK(4), 1 + PICK(2), 0); break;
        case 2: c->layers[nl++] = rnn(TA_LAYER_LSTM, 1 + PICK(4), 1 + PICK(2), 0); break;
        case 3: c->layers[nl++] = conv1d(1 + PICK(4), 1 + PICK(3), PICK(2) ? TA_PAD_SAME : TA_PAD_CAUSAL, TA_ACT_LINEAR); break;
        case 4: c->layers[nl++] = layer_norm(); break;
        case 5: c->layers[nl++] = posenc(PICK(2), 16, 0); break;
        case 6: c->layers[nl++] = attention(0, 0, PICK(4), windows[PICK(4)], PICK(2)); break;
        case 7: c->layers[nl++] = mha(1, PICK(2), 0); break;
        default: c->layers[nl++] = activation(PICK(2) ? TA_ACT_TANH : TA_ACT_RELU); break;
        }
      }
      if (PICK(2)) c->layers[nl++] = last_step();
      c->layers[nl++] = dense(1 + PICK(2), TA_ACT_LINEAR);
      c->in_dim = 1 + PICK(3);
    }
    c->n_layers = nl;
    c->B = Bs[PICK(3)];
    c->T = Ts[PICK(3)];
    c->padded = PICK(2);
    c->grad_rtol = 1e-3; /* as test-cuda-random.R: a few gradients are differences of nearly equal terms */
    snprintf(c->name, sizeof c->name, "random %d (B %zu, T %zu, F %d%s)", k + 1, c->B, c->T,
             c->in_dim, c->padded ? ", padded" : "");
  }
#undef PICK
}

/* ------------------------------------------------------------------------------------ */
/* timing: the workloads of bench/run.py, trained on the GPU                             */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct {
  const char *id;
  size_t n, T;
  int F, batch, epochs;
  double lr;
} workload;

/* bench/gpu_torch.py times PyTorch on the same table: keep the two in step */
static const workload workloads[] = {
  {"W1", 1, 200, 1, 1, 300, 0.01},
  {"W2", 256, 100, 8, 64, 10, 1e-3},
  {"W3", 256, 100, 8, 64, 10, 1e-3},
  {"W4", 128, 100, 8, 32, 10, 1e-3},
  {"W5cnn", 512, 100, 1, 128, 10, 1e-3},
  {"W5att", 512, 100, 1, 128, 10, 1e-3},
};

static int workload_layers(const char *id, ta_layer_spec *L) {
  int n = 0;
  if (!strcmp(id, "W1")) {
    L[n++] = rnn(TA_LAYER_GRU, 4, 2, 0); L[n++] = dense(1, TA_ACT_TANH);
  } else if (!strcmp(id, "W2")) {
    L[n++] = rnn(TA_LAYER_GRU, 64, 2, 0); L[n++] = dense(1, TA_ACT_LINEAR);
  } else if (!strcmp(id, "W3")) {
    L[n++] = rnn(TA_LAYER_LSTM, 64, 2, 0); L[n++] = dense(1, TA_ACT_LINEAR);
  } else if (!strcmp(id, "W4")) {
    L[n++] = dense(64, TA_ACT_LINEAR); L[n++] = posenc(TA_POSENC_SINUSOIDAL, 1000, 0);
    L[n++] = transformer(4, 256, 0, 0, TA_ACT_RELU, 0);
    L[n++] = transformer(4, 256, 0, 0, TA_ACT_RELU, 0); L[n++] = dense(1, TA_ACT_LINEAR);
  } else if (!strcmp(id, "W5cnn")) {
    for (int i = 0; i < 4; i++) L[n++] = conv1d(64, 5, TA_PAD_SAME, TA_ACT_RELU);
    L[n++] = conv1d(1, 5, TA_PAD_SAME, TA_ACT_LINEAR);
  } else { /* W5att */
    L[n++] = conv1d(64, 5, TA_PAD_SAME, TA_ACT_RELU); L[n++] = conv1d(64, 5, TA_PAD_SAME, TA_ACT_RELU);
    L[n++] = attention(64, 96, TA_SCORE_DOT, -1, 0); L[n++] = activation(TA_ACT_RELU);
    L[n++] = conv1d(64, 5, TA_PAD_SAME, TA_ACT_RELU); L[n++] = conv1d(1, 5, TA_PAD_SAME, TA_ACT_LINEAR);
  }
  return n;
}

static int time_workloads(int reps, int cpu_too, const char *only) {
  printf("%-6s %6s %12s %12s %12s %12s\n", "id", "steps", "gpu ms/step", "gpu min", "cpu ms/step",
         "final loss");
  int fails = 0;
  for (size_t w = 0; w < sizeof workloads / sizeof *workloads; w++) {
    const workload *W = &workloads[w];
    if (only && !strstr(only, W->id)) continue;
    ta_layer_spec L[8];
    int nl = workload_layers(W->id, L);
    ta_net *net = NULL;
    ta_msg msg;
    if (ta_net_create(&net, L, nl, W->F, &msg)) { printf("%s: %s\n", W->id, msg.text); fails++; continue; }
    ta_rng r;
    ta_rng_seed(&r, 42);
    ta_net_init(net, &r);
    size_t nx = W->n * W->T * W->F, ny = W->n * W->T;
    float *x = malloc(nx * sizeof(float)), *y = malloc(ny * sizeof(float));
    for (size_t i = 0; i < nx; i++) x[i] = rnorm(&r);
    for (size_t i = 0; i < ny; i++) y[i] = 0.5f * rnorm(&r);
    ta_data d = {x, y, NULL, W->n}, val = {NULL, NULL, NULL, 0};
    ta_train_cfg cfg = train_cfg(W->epochs, W->batch, 0, TA_OPT_ADAM);
    cfg.opt.lr = W->lr;
    size_t steps = (size_t)W->epochs * ((W->n + W->batch - 1) / W->batch);
    double *lh = malloc(W->epochs * sizeof(double)), *vh = malloc(W->epochs * sizeof(double));
    double t[64], gmed = NAN, gmin = NAN, cmed = NAN;
    ta_train_result res;
    ta_cuda_net *g = NULL;
    int st = ta_cuda_net_create(&g, net, 0, &msg);
    if (!st) { /* warm-up: one epoch (kernel modules, cuBLAS handle and workspace) */
      ta_train_cfg c1 = cfg;
      c1.epochs = 1;
      st = ta_cuda_train(g, &d, &val, W->T, &c1, lh, vh, &res, &msg);
    }
    for (int k = 0; k < reps && !st; k++) {
      double t0 = now();
      st = ta_cuda_train(g, &d, &val, W->T, &cfg, lh, vh, &res, &msg);
      t[k] = (now() - t0) * 1e3 / steps;
    }
    ta_cuda_net_free(g);
    if (st) { printf("%s: GPU training failed: %s\n", W->id, msg.text); fails++; }
    else {
      qsort(t, reps, sizeof *t, cmp_double);
      gmed = t[reps / 2];
      gmin = t[0];
    }
    double gloss = lh[W->epochs - 1];
    if (cpu_too && !st) {
      ta_train_cfg c1 = cfg;
      c1.epochs = 1;
      double t0 = now();
      st = ta_train(net, &d, &val, W->T, &c1, lh, vh, &res, &msg);
      cmed = (now() - t0) * 1e3 / (steps / W->epochs);
    }
    printf("%-6s %6zu %12.4f %12.4f %12.4f %12.6g\n", W->id, steps, gmed, gmin, cmed, gloss);
    fflush(stdout);
    free(x); free(y); free(lh); free(vh);
    ta_net_free(net);
  }
  return fails;
}

/* whether name contains one of the '|'-separated parts of filter */
static int matches(const char *name, const char *filter) {
  char part[64];
  for (const char *p = filter; *p;) {
    size_t n = strcspn(p, "|");
    snprintf(part, sizeof part, "%.*s", (int)(n < 63 ? n : 63), p);
    if (n && strstr(name, part)) return 1;
    p += n + (p[n] == '|');
  }
  return 0;
}

/* ------------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
  int timing = 0, reps = 5, cpu_too = 0, n_random = 120, quick = 0, random_set = 0;
  const char *only = NULL, *filter = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--time")) timing = 1;
    else if (!strcmp(argv[i], "--cpu")) cpu_too = 1;
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!strcmp(argv[i], "--random") && i + 1 < argc) n_random = atoi(argv[++i]), random_set = 1;
    else if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
    else {
      fprintf(stderr, "usage: gpucheck [--random N] [--quick] [--filter a|b] | --time [--reps N] [--cpu] [--only W1,W4]\n");
      return 2;
    }
  }
  if (reps < 1 || reps > 64) reps = 5;
  if (n_random < 0) n_random = 0;
  if (n_random > 190) n_random = 190; /* cases[] holds the named ones and 190 more */
  ta_msg msg;
  int count = 0;
  if (ta_cuda_device_count(&count, &msg) != TA_OK || count < 1) {
    fprintf(stderr, "gpucheck: no CUDA device (%s)\n", count < 1 ? "none found" : msg.text);
    return 1;
  }
  ta_cuda_device dev;
  if (ta_cuda_device_info(0, &dev, &msg) == TA_OK)
    printf("gpucheck: device 0: %s, compute capability %d.%d, %d multiprocessors, %.1f GiB\n",
           dev.name, dev.major, dev.minor, dev.multiprocessors, dev.memory_bytes / 1073741824.0);
  printf("gpucheck: CPU threads %d\n", ta_threads());
  if (timing) return time_workloads(reps, cpu_too, only) ? 1 : 0;
  named_cases();
  int n_named = n_cases;
  random_cases(quick && !random_set ? 0 : n_random, 2026);
  double t0 = now();
  int n_run = 0;
  for (int i = 0; i < n_cases; i++) {
    if (filter && !matches(cases[i].name, filter)) continue;
    /* the random ones, and all with --quick: gradients, predict, attention */
    if (i >= n_named || quick) cases[i].optimize = cases[i].simulate = 0;
    run_case(&cases[i], 1000 + (uint64_t)i);
    n_run++;
  }
  printf("gpucheck: %d cases (%d named, %d random; %d run), %d checks, %d failed, %.1f s\n",
         n_cases, n_named, n_cases - n_named, n_run, n_checks, n_failed, now() - t0);
  return n_failed ? 1 : 0;
}
