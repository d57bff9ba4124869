/* Helpers shared by the .Call glue (see api_util.h). The network lives in an external
 * pointer with a finalizer from the moment it exists, so an R error (or an allocation
 * failure) at any later point cannot leak it; temporaries come from R_alloc, which R
 * releases on error too. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <R.h>
#include <Rinternals.h>
#include <R_ext/GraphicsEngine.h> /* R_interrupts_pending, R_interrupts_suspended */
#include "api_util.h"

static void net_finalizer(SEXP ptr) {
  ta_net *net = (ta_net *)R_ExternalPtrAddr(ptr);
  if (net) {
    ta_net_free(net);
    R_ClearExternalPtr(ptr);
  }
}

int scalar_int(SEXP x, const char *what) {
  if ((!isInteger(x) && !isReal(x)) || XLENGTH(x) != 1)
    error("'%s' must be a single number", what);
  double v = asReal(x);
  if (!R_FINITE(v) || v != floor(v) || fabs(v) > INT32_MAX)
    error("'%s' must be a whole number, not %g", what, v);
  return (int)v;
}

/* Builds the network of the layer specs `spec` (read_layer_specs(), api_spec.h); returns
 * a PROTECTed external pointer (one PROTECT for the caller to pop). */
SEXP build_net(SEXP spec, SEXP in_dim, ta_net **out) {
  int n;
  ta_layer_spec *specs = read_layer_specs(spec, &n);
  int d = scalar_int(in_dim, "input_dim");
  SEXP ptr = PROTECT(R_MakeExternalPtr(NULL, R_NilValue, R_NilValue));
  R_RegisterCFinalizerEx(ptr, net_finalizer, TRUE);
  ta_msg msg;
  ta_net *net = NULL;
  if (ta_net_create(&net, specs, n, d, &msg) != TA_OK) error("%s", msg.text);
  R_SetExternalPtrAddr(ptr, net);
  *out = net;
  return ptr;
}

void release(SEXP ptr) {
  net_finalizer(ptr);
}

/* copies a finite double vector of exactly len values into float (R_alloc) */
float *to_float(SEXP x, size_t len, const char *what) {
  if (!isReal(x)) error("'%s' must be a double vector", what);
  if ((size_t)XLENGTH(x) != len)
    error("'%s' has %lld values but %lld were expected", what, (long long)XLENGTH(x),
          (long long)len);
  float *f = (float *)R_alloc(len + 1, sizeof(float));
  const double *p = REAL(x);
  for (size_t i = 0; i < len; i++) {
    if (!R_FINITE(p[i])) error("'%s' has a missing or infinite value at position %lld", what, (long long)i + 1);
    f[i] = (float)p[i];
  }
  return f;
}

SEXP from_float(const float *f, size_t len) {
  SEXP out = PROTECT(allocVector(REALSXP, (R_xlen_t)len));
  double *p = REAL(out);
  for (size_t i = 0; i < len; i++) p[i] = (double)f[i];
  UNPROTECT(1);
  return out;
}

uint64_t seed_of(SEXP seed) {
  if (!isReal(seed) && !isInteger(seed)) error("'seed' must be a number");
  double s = asReal(seed);
  if (!R_FINITE(s)) error("'seed' must be finite");
  return (uint64_t)(int64_t)s;
}

void batch_dims(SEXP dims, const ta_net *net, size_t *B, size_t *T) {
  if (!isInteger(dims) || XLENGTH(dims) != 3) error("internal: dims must be 3 integers");
  const int *d = INTEGER(dims);
  if (d[0] < 1 || d[1] < 1 || d[2] < 1) error("'x' must have at least one sequence, step and feature");
  if (d[2] != net->in_dim)
    error("'x' has %d features but the network was built for %d", d[2], net->in_dim);
  *B = (size_t)d[0];
  *T = (size_t)d[1];
  /* sizes that no R vector has are an error here, before any product of them can wrap
   * around in size_t and pass a length check (then a read far out of bounds) */
  double To = (double)ta_net_out_time(net, *T);
  check_count_fits("'x'", (double)d[0] * (double)d[1] * (double)d[2]);
  check_count_fits("the output for 'x'", (double)d[0] * To * (double)net->out_dim);
}

void check_count_fits(const char *what, double n) {
  if (!(n <= (double)R_XLEN_T_MAX))
    error("%s would have %.0f values, more than an R vector can hold (%.0f): its dimensions are "
          "wrong", what, n, (double)R_XLEN_T_MAX);
}

static void check_interrupt_fn(void *unused) {
  (void)unused;
  R_CheckUserInterrupt();
}
/* nonzero when the user has interrupted (Ctrl-C, SIGINT): R_CheckUserInterrupt() inside
 * R_ToplevelExec, so that the pending interrupt is taken there (and cleared) without a
 * longjmp through the caller's C frames; the caller then frees what it holds and has
 * R signal the interrupt (main thread only: it calls the R API) */
int user_interrupted(void *ctx) {
  (void)ctx;
  return !R_ToplevelExec(check_interrupt_fn, NULL);
}
/* R's SIGINT handler sets R_interrupts_pending; R_CheckUserInterrupt() takes it unless
 * interrupts are suspended. Reading the two flags is all this does, so the core may ask it
 * from any thread and as often as once per block of work. */
int user_interrupt_pending(void) {
  return R_interrupts_pending && !R_interrupts_suspended;
}
static int fit_interrupted(void *ctx) {
  return user_interrupted(ctx);
}
static void fit_on_epoch(void *ctx, int epoch, double loss, double val) {
  fit_ctx *c = (fit_ctx *)ctx;
  if (!c->verbose) return;
  if (epoch != 1 && epoch != c->epochs && epoch % c->every != 0) return;
  if (ISNAN(val)) Rprintf("epoch %*d/%d  loss %.6g\n", 1 + (c->epochs >= 10) + (c->epochs >= 100) + (c->epochs >= 1000), epoch, c->epochs, loss);
  else Rprintf("epoch %*d/%d  loss %.6g  val_loss %.6g\n", 1 + (c->epochs >= 10) + (c->epochs >= 100) + (c->epochs >= 1000), epoch, c->epochs, loss, val);
}

void fit_config(ta_train_cfg *cfg, fit_ctx *ctx, SEXP settings) {
  fit_settings s;
  read_fit_settings(&s, settings);
  if (s.epochs < 1) error("'epochs' must be >= 1");
  if (s.batch_size < 1) error("'batch_size' must be >= 1");
  if (!(s.lr > 0)) error("'lr' must be > 0");
  ctx->verbose = s.verbose;
  ctx->every = s.print_every < 1 ? 1 : s.print_every;
  ctx->epochs = s.epochs;
  memset(cfg, 0, sizeof *cfg);
  cfg->epochs = s.epochs;
  cfg->batch_size = s.batch_size;
  cfg->shuffle = s.shuffle;
  cfg->loss = s.loss;
  cfg->patience = s.patience;
  cfg->opt.kind = s.optimizer;
  cfg->opt.lr = s.lr;
  cfg->opt.beta1 = s.beta1;
  cfg->opt.beta2 = s.beta2;
  cfg->opt.eps = s.eps;
  cfg->opt.weight_decay = s.weight_decay;
  cfg->opt.momentum = s.momentum;
  cfg->clipnorm = s.clipnorm;
  cfg->interrupted = fit_interrupted;
  cfg->stop = user_interrupt_pending;
  cfg->on_epoch = fit_on_epoch;
  cfg->ctx = ctx;
}

const int *lengths_of(SEXP len, size_t B, size_t T, const char *what) {
  if (isNull(len) || XLENGTH(len) == 0) return NULL;
  if (!isInteger(len) || (size_t)XLENGTH(len) != B)
    error("'%s' must be %zu integers, one per sequence", what, B);
  const int *l = INTEGER(len);
  for (size_t i = 0; i < B; i++)
    if (l[i] == NA_INTEGER || l[i] < 1 || (size_t)l[i] > T)
      error("'%s' must be between 1 and %zu, not %d (sequence %zu)", what, T, l[i], i + 1);
  return l;
}

void fit_data(ta_data *train, ta_data *val, size_t *T, const ta_net *net, SEXP x, SEXP dims,
              SEXP len, SEXP y, SEXP xv, SEXP nv_, SEXP lenv, SEXP yv) {
  size_t B;
  batch_dims(dims, net, &B, T);
  int nv = scalar_int(nv_, "nv");
  if (nv < 0) error("internal: nv < 0");
  size_t To = ta_net_out_time(net, *T);
  size_t xrow = *T * (size_t)net->in_dim, yrow = To * (size_t)net->out_dim;
  check_count_fits("the validation 'x'", (double)nv * (double)xrow);
  check_count_fits("the validation 'y'", (double)nv * (double)yrow);
  memset(train, 0, sizeof *train); /* rows end to end, no windows */
  memset(val, 0, sizeof *val);
  train->x = to_float(x, B * xrow, "x");
  train->y = to_float(y, B * yrow, "y");
  train->len = lengths_of(len, B, *T, "lengths");
  train->n = B;
  val->x = nv ? to_float(xv, (size_t)nv * xrow, "validation x") : NULL;
  val->y = nv ? to_float(yv, (size_t)nv * yrow, "validation y") : NULL;
  val->len = nv ? lengths_of(lenv, (size_t)nv, *T, "validation lengths") : NULL;
  val->n = (size_t)nv;
}

const float *matrix_rows(SEXP m, const char *what, size_t *nrow, size_t *ncol) {
  SEXP dim = getAttrib(m, R_DimSymbol);
  if (!isReal(m) || !isInteger(dim) || XLENGTH(dim) != 2 || INTEGER(dim)[0] < 1 ||
      INTEGER(dim)[1] < 1)
    error("'%s' must be a double matrix with at least one row and column", what);
  size_t nr = (size_t)INTEGER(dim)[0], nc = (size_t)INTEGER(dim)[1];
  const double *p = REAL(m);
  float *f = (float *)R_alloc(nr * nc + 1, sizeof(float));
  for (size_t j = 0; j < nc; j++)
    for (size_t i = 0; i < nr; i++) {
      double v = p[i + j * nr];
      if (!R_FINITE(v))
        error("'%s' has a missing or infinite value at row %zu, column %zu", what, i + 1, j + 1);
      f[i * nc + j] = (float)v;
    }
  *nrow = nr;
  *ncol = nc;
  return f;
}

/* a whole number >= lo that fits an int, as a size_t; the error names `what` */
static size_t count_arg(SEXP x, const char *what, int lo) {
  int v = scalar_int(x, what);
  if (v < lo) error("'%s' must be >= %d, not %d", what, lo, v);
  return (size_t)v;
}

void rows_data(ta_data *train, ta_data *val, size_t *T, const ta_net *net, SEXP feat,
               SEXP targets, SEXP lookback, SEXP horizon, SEXP n_train, SEXP n_val) {
  size_t N, F, Nt, k;
  size_t L = count_arg(lookback, "lookback", 1), H = count_arg(horizon, "horizon", 1);
  size_t nt = count_arg(n_train, "n_train", 1), nv = count_arg(n_val, "n_val", 0);
  const float *xf = matrix_rows(feat, "feat", &N, &F);
  const float *yf = matrix_rows(targets, "targets", &Nt, &k);
  if (Nt != N) error("'targets' must have %zu rows, as 'feat', not %zu", N, Nt);
  if (F != (size_t)net->in_dim)
    error("'feat' has %zu columns but the network takes %d features", F, net->in_dim);
  if (k != (size_t)net->out_dim)
    error("'targets' has %zu columns but the network gives %d values per step", k, net->out_dim);
  size_t To = ta_net_out_time(net, L);
  if (To != H)
    error("'horizon' must be %zu, the steps the network gives for 'lookback' = %zu, not %zu",
          To, L, H);
  /* L + H - 1 + windows <= N, in double so that nothing wraps */
  double most = (double)N - (double)L - (double)H + 1.0;
  if ((double)nt + (double)nv > most)
    error("'n_train' + 'n_val' must be at most %.0f, the windows of %zu rows of 'feat' for "
          "'lookback' = %zu and 'horizon' = %zu, not %zu", most < 0 ? 0 : most, N, L, H,
          nt + nv);
  /* so that no batch of windows (at most n_train of them) has a size that wraps around */
  check_count_fits("'n_train' windows of 'lookback' rows of 'feat'", (double)nt * (double)L * (double)F);
  memset(train, 0, sizeof *train);
  memset(val, 0, sizeof *val);
  train->x = xf;
  train->y = yf + L * k;
  train->n = nt;
  train->xstep = val->xstep = F;
  train->ystep = val->ystep = k;
  val->x = xf + nt * F;
  val->y = yf + (nt + L) * k;
  val->n = nv;
  *T = L;
}

/* element `name` of the list `win`: a double vector of len values (len 0: any length,
 * stored into *len), finite where `finite` */
static const double *win_elt(SEXP win, const char *name, size_t *len, int finite) {
  SEXP names = getAttrib(win, R_NamesSymbol);
  for (R_xlen_t i = 0; i < XLENGTH(win); i++) {
    if (strcmp(CHAR(STRING_ELT(names, i)), name) != 0) continue;
    SEXP v = VECTOR_ELT(win, i);
    if (!isReal(v)) error("windows: '%s' must be a double vector", name);
    if (*len && (size_t)XLENGTH(v) != *len)
      error("windows: '%s' must have %zu values, not %zu", name, *len, (size_t)XLENGTH(v));
    *len = (size_t)XLENGTH(v);
    const double *d = REAL(v);
    if (finite)
      for (size_t j = 0; j < *len; j++)
        if (!R_FINITE(d[j])) error("windows: '%s' must be finite (value %zu is not)", name, j + 1);
    return d;
  }
  error("windows: the list has no '%s'", name);
  return NULL;
}

void windows_data(ta_windows *w, ta_data *train, ta_data *val, const ta_net *net, SEXP win) {
  if (TYPEOF(win) != VECSXP || isNull(getAttrib(win, R_NamesSymbol)))
    error("windows: a named list expected");
  size_t total = 0, n = 0, one = 1;
  w->z = win_elt(win, "z", &total, 1);
  if (total < 2) error("windows: 'z' must have at least 2 values");
  w->level = win_elt(win, "level", &total, 1);
  w->start = win_elt(win, "start", &total, 1);
  w->slope = win_elt(win, "slope", &total, 1);
  w->damp = win_elt(win, "damp", &total, 1);
  w->phi = win_elt(win, "phi", &total, 1);
  w->inv_scale = win_elt(win, "inv_scale", &total, 1);
  w->origin = win_elt(win, "origin", &n, 0);
  if (n < 1) error("windows: 'origin' must have at least one value");
  w->first = win_elt(win, "first", &n, 0);
  w->last = win_elt(win, "last", &n, 0);
  double L = *win_elt(win, "L", &one, 1), H = *win_elt(win, "H", &one, 1);
  if (!(L >= 1 && L <= 1e6 && L == floor(L))) error("windows: 'L' must be a whole number in 1..1e6");
  if (!(H >= 1 && H <= 1e6 && H == floor(H))) error("windows: 'H' must be a whole number in 1..1e6");
  w->total = total;
  w->n = n;
  w->L = (size_t)L;
  w->H = (size_t)H;
  /* optional static covariates: stat, a double matrix [n_series, n_stat], and series */
  w->stat = w->series = NULL;
  w->n_stat = w->n_series = 0;
  SEXP names = getAttrib(win, R_NamesSymbol);
  for (R_xlen_t i = 0; i < XLENGTH(win); i++) {
    if (strcmp(CHAR(STRING_ELT(names, i)), "stat") != 0) continue;
    SEXP st = VECTOR_ELT(win, i), dim = getAttrib(st, R_DimSymbol);
    if (!isReal(st) || !isInteger(dim) || XLENGTH(dim) != 2 || INTEGER(dim)[0] < 1 ||
        INTEGER(dim)[1] < 1)
      error("windows: 'stat' must be a double matrix [series, covariates]");
    w->n_series = (size_t)INTEGER(dim)[0];
    w->n_stat = (size_t)INTEGER(dim)[1];
    size_t ns = w->n_series * w->n_stat;
    w->stat = win_elt(win, "stat", &ns, 1);
    size_t nn = n;
    w->series = win_elt(win, "series", &nn, 0);
  }
  size_t bad = ta_windows_check(w);
  if (bad) error("windows: window %zu (origin %g, series %g..%g) lies outside its series, "
                 "leaves fewer than H = %zu targets or has no covariates", bad,
                 w->origin[bad - 1], w->first[bad - 1], w->last[bad - 1], w->H);
  if ((size_t)net->in_dim != 1 + w->n_stat)
    error("windows: the network must take %zu features, not %d", 1 + w->n_stat, net->in_dim);
  size_t To = ta_net_out_time(net, w->L);
  if (To * (size_t)net->out_dim != w->H)
    error("windows: the network gives %zu values per window, not H = %zu",
          To * (size_t)net->out_dim, w->H);
  memset(train, 0, sizeof *train);
  memset(val, 0, sizeof *val);
  train->n = n;
  train->win = w;
}

SEXP fit_result(const ta_net *net, SEXP lh, SEXP vh, int st, const ta_msg *msg,
                const ta_train_result *tr) {
  const char *fields[] = {"weights", "loss", "val_loss", "status", "message", "best_epoch", ""};
  SEXP res = PROTECT(mkNamed(VECSXP, fields));
  SETLENGTH(lh, tr->epochs_run);
  SETLENGTH(vh, tr->epochs_run);
  SET_VECTOR_ELT(res, 0, from_float(net->params, net->n_params));
  SET_VECTOR_ELT(res, 1, lh);
  SET_VECTOR_ELT(res, 2, vh);
  SET_VECTOR_ELT(res, 3, ScalarInteger(st));
  SET_VECTOR_ELT(res, 4, mkString(msg->text));
  SET_VECTOR_ELT(res, 5, ScalarInteger(tr->best_epoch));
  UNPROTECT(1);
  return res;
}

void attn_bufs_of(attn_bufs *a, const ta_net *net, size_t B, size_t T) {
  a->n = 0;
  for (int i = 0; i < net->n_layers; i++) a->n += ta_net_attn_heads(net, i) > 0;
  a->w = (float **)R_alloc((size_t)a->n + 1, sizeof(float *));
  a->tq = (size_t *)R_alloc((size_t)a->n + 1, sizeof(size_t));
  a->tk = (size_t *)R_alloc((size_t)a->n + 1, sizeof(size_t));
  for (int i = 0, k = 0; i < net->n_layers; i++) {
    int h = ta_net_attn_heads(net, i);
    if (h == 0) continue;
    ta_net_attn_weights(net, i, NULL, B, T, &a->tq[k], &a->tk[k]);
    a->w[k] = (float *)R_alloc(B * (size_t)h * a->tq[k] * a->tk[k] + 1, sizeof(float));
    k++;
  }
}

SEXP attn_result(const attn_bufs *a, const ta_net *net, size_t B) {
  SEXP res = PROTECT(allocVector(VECSXP, a->n));
  const char *fields[] = {"layer", "weights", "dims", ""};
  for (int i = 0, k = 0; i < net->n_layers; i++) {
    int h = ta_net_attn_heads(net, i);
    if (h == 0) continue;
    SEXP one = PROTECT(mkNamed(VECSXP, fields));
    SET_VECTOR_ELT(one, 0, ScalarInteger(i + 1));
    SET_VECTOR_ELT(one, 1, from_float(a->w[k], B * (size_t)h * a->tq[k] * a->tk[k]));
    SEXP d = allocVector(INTSXP, 4);
    SET_VECTOR_ELT(one, 2, d);
    INTEGER(d)[0] = (int)B;
    INTEGER(d)[1] = h;
    INTEGER(d)[2] = (int)a->tq[k];
    INTEGER(d)[3] = (int)a->tk[k];
    SET_VECTOR_ELT(res, k++, one);
    UNPROTECT(1);
  }
  UNPROTECT(1);
  return res;
}

const float *net_batch(ta_net *net, SEXP params, SEXP x, SEXP dims, SEXP len, size_t *B,
                       size_t *T, const int **lens) {
  batch_dims(dims, net, B, T);
  *lens = lengths_of(len, *B, *T, "lengths");
  memcpy(net->params, to_float(params, net->n_params, "weights"), net->n_params * sizeof(float));
  return to_float(x, *B * *T * (size_t)net->in_dim, "x");
}

/* FNV-1a (64-bit) over the bytes of the doubles of every element of a list of double
 * vectors, each preceded by its length: the checksum of a fitted model's weights and
 * numeric fields (R/checksum.R), so that a corrupted or edited object is detected
 * before it forecasts. Returns the hash as 16 hex digits (a double would lose bits). */
static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

SEXP C_checksum(SEXP parts) {
  if (TYPEOF(parts) != VECSXP) error("'parts' must be a list of double vectors");
  uint64_t h = 14695981039346656037ULL;
  R_xlen_t n = XLENGTH(parts);
  for (R_xlen_t i = 0; i < n; i++) {
    SEXP v = VECTOR_ELT(parts, i);
    if (!isReal(v)) error("element %lld of 'parts' must be a double vector", (long long)i + 1);
    uint64_t len = (uint64_t)XLENGTH(v);
    h = fnv1a(h, (const unsigned char *)&len, sizeof len);
    h = fnv1a(h, (const unsigned char *)REAL(v), (size_t)XLENGTH(v) * sizeof(double));
  }
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
  return mkString(buf);
}
