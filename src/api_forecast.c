/* .Call glue for forecasting: validates every SEXP, converts to float32, runs the
 * recursive path simulation of the core (ta_forecast.c, or the GPU's) and returns doubles. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <R.h>
#include <Rinternals.h>
#include "ta_net.h"
#include "ta_forecast.h"
#include "api_util.h"
#include "api_backend.h"
#include "ta_smooth.h"

/* a whole number >= min that fits an int */
static int count_of(SEXP x, const char *what, int min) {
  int v = scalar_int(x, what);
  if (v < min) error("'%s' must be >= %d, not %d", what, min, v);
  return v;
}

/* element i of an integer or double dims vector, a whole number >= 1 */
static int dim_at(SEXP dims, R_xlen_t i, const char *what) {
  double v = isInteger(dims) ? (INTEGER(dims)[i] == NA_INTEGER ? NA_REAL : INTEGER(dims)[i])
                             : REAL(dims)[i];
  if (!R_FINITE(v) || v != floor(v) || v < 1 || v > INT32_MAX)
    error("'%s' must be a whole number >= 1, not %g", what, v);
  return (int)v;
}

void sim_args_of(sim_args *a, SEXP spec, SEXP in_dim, SEXP params, SEXP window, SEXP dims,
                 SEXP xreg_future, SEXP h_, SEXP npaths_, SEXP n_series_) {
  ta_net *net;
  a->host = build_net(spec, in_dim, &net);
  a->net = net;
  if ((!isInteger(dims) && !isReal(dims)) || XLENGTH(dims) != 2)
    error("internal: dims must be c(lookback, features)");
  int lookback = dim_at(dims, 0, "lookback");
  int F = dim_at(dims, 1, "window features");
  if (F != net->in_dim)
    error("'window' has %d features per step but the network was built for %d", F, net->in_dim);
  int n_series = count_of(n_series_, "n_series", 1);
  if (n_series > F)
    error("'n_series' (%d) must not exceed the window's %d features", n_series, F);
  if (n_series != net->out_dim)
    error("the network gives %d outputs per step but 'n_series' is %d: a recursive forecast "
          "needs one output per series", net->out_dim, n_series);
  int h = count_of(h_, "h", 1);
  int npaths = count_of(npaths_, "npaths", 1);
  size_t n_xreg = (size_t)(F - n_series);
  size_t ns = (size_t)n_series;
  /* outputs must fit an R vector (and the products a size_t, which they then do) */
  double n_out = (double)npaths * (double)h * (double)n_series;
  if (n_out > (double)R_XLEN_T_MAX)
    error("%d paths of %d steps of %d series are too many values for an R vector", npaths, h,
          n_series);
  ta_sim *s = &a->s;
  memset(s, 0, sizeof *s);
  memcpy(net->params, to_float(params, net->n_params, "weights"),
         net->n_params * sizeof(float));
  s->window = to_float(window, (size_t)lookback * (size_t)F, "window");
  if (n_xreg > 0) {
    if (isNull(xreg_future) || XLENGTH(xreg_future) == 0)
      error("'xreg_future' is missing: the window has %zu regressor column%s, so %d future "
            "row%s of them are needed", n_xreg, n_xreg > 1 ? "s" : "", h, h > 1 ? "s" : "");
    s->xreg_future = to_float(xreg_future, (size_t)h * n_xreg, "xreg_future");
  } else if (!isNull(xreg_future) && XLENGTH(xreg_future) != 0) {
    error("'xreg_future' has %lld values but the window has no regressor columns",
          (long long)XLENGTH(xreg_future));
  }
  s->lookback = (size_t)lookback;
  s->n_series = ns;
  s->n_xreg = n_xreg;
  s->h = (size_t)h;
  s->npaths = (size_t)npaths;
  s->per = 1;
  s->mean = (float *)R_alloc(s->h * ns + 1, sizeof(float));
}

/* runs a's forecast on device: TA_OK, or TA_ERR_INTERRUPT with the interrupt taken; an R
 * error otherwise. Frees the host network and pops the PROTECT of its pointer. */
static int sim_run(sim_args *a, SEXP spec, SEXP in_dim, SEXP device) {
  ta_net *net = a->net;
  api_backend be;
  api_backend_open(&be, device, spec, in_dim, a->host, net);
  net->stop = user_interrupt_pending; /* an interrupt ends the steps early */
  ta_msg msg;
  int st = be.ops->simulate(&be, &a->s, &msg);
  if (st != TA_OK && st != TA_ERR_INTERRUPT) api_backend_fail(&be, &msg);
  api_backend_close(&be);
  release(a->host);
  UNPROTECT(2);
  return st;
}

/* list(paths, mean): paths as given (protected here), the mean of s as doubles */
static SEXP sim_result(SEXP paths, const ta_sim *s) {
  PROTECT(paths);
  const char *fields[] = {"paths", "mean", ""};
  SEXP res = PROTECT(mkNamed(VECSXP, fields));
  SET_VECTOR_ELT(res, 0, paths);
  SET_VECTOR_ELT(res, 1, from_float(s->mean, s->h * s->n_series));
  UNPROTECT(2);
  return res;
}

/* Sample paths of a recursive forecast:
 * window      [lookback, F] row-major (dims = c(lookback, F)), F = n_series + n_xreg
 * xreg_future [h, n_xreg] row-major, or length 0 when F == n_series
 * resid       [n_resid, n_series] row-major, or length 0 (no noise)
 * returns list(paths = [npaths, h, n_series], mean = [h, n_series]), both row-major;
 * device as api_backend.h's (the CPU runs blocks of paths on threads, one copy of the
 * network each). */
SEXP C_net_simulate(SEXP spec, SEXP in_dim, SEXP params, SEXP window, SEXP dims,
                    SEXP xreg_future, SEXP h_, SEXP npaths_, SEXP resid, SEXP n_series_,
                    SEXP seed, SEXP device) {
  sim_args a;
  sim_args_of(&a, spec, in_dim, params, window, dims, xreg_future, h_, npaths_, n_series_);
  ta_sim *s = &a.s;
  size_t ns = s->n_series;
  if (!isNull(resid) && XLENGTH(resid) > 0) {
    if (!isReal(resid)) error("'resid' must be a double vector");
    if ((size_t)XLENGTH(resid) % ns != 0)
      error("'resid' has %lld values, not a multiple of the %zu series", (long long)XLENGTH(resid),
            ns);
    s->n_resid = (size_t)XLENGTH(resid) / ns;
    s->resid = to_float(resid, s->n_resid * ns, "resid");
  }
  s->seed = seed_of(seed);
  size_t nv = s->npaths * s->h * ns;
  s->paths = (float *)R_alloc(nv + 1, sizeof(float));
  if (sim_run(&a, spec, in_dim, device) == TA_ERR_INTERRUPT)
    return R_NilValue; /* freed: R signals it (simulate_paths) */
  return sim_result(from_float(s->paths, nv), s);
}

/* Sample paths of a seq2seq forecast: the mean path by passes of the network's horizon
 * steps (ta_sim with per = its output steps, the loop of C_net_simulate), each window
 * moving up by the steps taken; then paths [npaths, h, n_series] (row-major) = the mean
 * plus, at step k, the row pick[p, k] of resid[[k %% horizon]], added in double. The
 * picks are R's (sample.int, as forecasts of seq2seq fits draw them):
 * pick   [npaths, h] integer, column-major, 1-based rows
 * resid  list of horizon double matrices [n_i, n_series] (column-major), the residuals
 *        of each step ahead
 * other arguments and the result as C_net_simulate's. */
SEXP C_net_seq2seq_paths(SEXP spec, SEXP in_dim, SEXP params, SEXP window, SEXP dims,
                         SEXP xreg_future, SEXP h_, SEXP npaths_, SEXP pick, SEXP resid,
                         SEXP n_series_, SEXP device) {
  sim_args a;
  sim_args_of(&a, spec, in_dim, params, window, dims, xreg_future, h_, npaths_, n_series_);
  ta_sim *s = &a.s;
  size_t ns = s->n_series, h = s->h, np = s->npaths;
  size_t H = ta_net_out_time(a.net, s->lookback);
  if (H == 0) error("the network does not accept windows of %zu steps", s->lookback);
  s->per = H;
  /* the residual matrices stacked row-major, and every pick as a row of the stack */
  if (!isNewList(resid) || (size_t)XLENGTH(resid) != H)
    error("'resid' must be a list of %zu residual matrices, one per step ahead", H);
  size_t *off = (size_t *)R_alloc(H + 1, sizeof(size_t)), n_all = 0;
  for (size_t i = 0; i < H; i++) {
    SEXP m = VECTOR_ELT(resid, (R_xlen_t)i);
    if (!isReal(m) || !isMatrix(m) || (size_t)ncols(m) != ns || nrows(m) < 1)
      error("'resid[[%zu]]' must be a double matrix of %zu column%s", i + 1, ns,
            ns > 1 ? "s" : "");
    off[i] = n_all;
    n_all += (size_t)nrows(m);
  }
  double *rs = (double *)R_alloc(n_all * ns + 1, sizeof(double));
  for (size_t i = 0; i < H; i++) {
    SEXP m = VECTOR_ELT(resid, (R_xlen_t)i);
    size_t n = (size_t)nrows(m);
    for (size_t r = 0; r < n; r++)
      for (size_t j = 0; j < ns; j++) rs[(off[i] + r) * ns + j] = REAL(m)[r + j * n];
  }
  if (!isInteger(pick) || (size_t)XLENGTH(pick) != np * h)
    error("'pick' must be %zu integers, one per path and step", np * h);
  uint32_t *pk = (uint32_t *)R_alloc(np * h + 1, sizeof(uint32_t));
  for (size_t k = 0; k < h; k++) {
    size_t i = k % H, n = (size_t)nrows(VECTOR_ELT(resid, (R_xlen_t)i));
    for (size_t p = 0; p < np; p++) {
      int v = INTEGER(pick)[p + k * np];
      if (v == NA_INTEGER || v < 1 || (size_t)v > n)
        error("'pick' must be rows of the residuals (1 to %zu at step %zu), not %d", n, k + 1, v);
      pk[p * h + k] = (uint32_t)(off[i] + (size_t)v - 1);
    }
  }
  if (sim_run(&a, spec, in_dim, device) == TA_ERR_INTERRUPT)
    return R_NilValue; /* freed: R signals it (seq2seq_paths) */
  SEXP paths = allocVector(REALSXP, (R_xlen_t)(np * h * ns));
  ta_sim_add_resid(REAL(paths), s->mean, pk, rs, np, h, ns);
  return sim_result(paths, s);
}

/* the default backbone's damped-trend states (ta_smooth.h): list(level, trend, sse), or
 * list(sse = ) alone when states is FALSE (what the optimizer needs) */
SEXP C_damped_states(SEXP a, SEXP alpha, SEXP beta, SEXP phi, SEXP states) {
  if (!isReal(a) || XLENGTH(a) < 1) error("'a' must be a non-empty double vector");
  const double *x = REAL(a);
  size_t n = (size_t)XLENGTH(a);
  for (size_t i = 0; i < n; i++)
    if (!R_FINITE(x[i])) error("'a' must be finite (value %zu is not)", i + 1);
  double p[3];
  SEXP pars[3] = {alpha, beta, phi};
  const char *names[3] = {"alpha", "beta", "phi"};
  for (int i = 0; i < 3; i++) {
    if (!isReal(pars[i]) || XLENGTH(pars[i]) != 1 || !R_FINITE(REAL(pars[i])[0]))
      error("'%s' must be one finite number", names[i]);
    p[i] = REAL(pars[i])[0];
  }
  if (!isLogical(states) || XLENGTH(states) != 1 || LOGICAL(states)[0] == NA_LOGICAL)
    error("'states' must be TRUE or FALSE");
  int keep = LOGICAL(states)[0];
  const char *fields[] = {"level", "trend", "sse", ""};
  const char *sse_only[] = {"sse", ""};
  SEXP res = PROTECT(mkNamed(VECSXP, keep ? fields : sse_only));
  double *lv = NULL, *tr = NULL;
  if (keep) {
    SET_VECTOR_ELT(res, 0, allocVector(REALSXP, (R_xlen_t)n));
    SET_VECTOR_ELT(res, 1, allocVector(REALSXP, (R_xlen_t)n));
    lv = REAL(VECTOR_ELT(res, 0));
    tr = REAL(VECTOR_ELT(res, 1));
  }
  double sse = ta_damped_states(x, n, p[0], p[1], p[2], lv, tr);
  SET_VECTOR_ELT(res, keep ? 2 : 0, ScalarReal(sse));
  UNPROTECT(1);
  return res;
}
