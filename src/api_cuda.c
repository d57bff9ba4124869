/* .Call glue of the CUDA runtime layer (ta_cuda.h): the same in a CUDA and a CPU-only
 * build (the stub then answers). Nothing here raises an error for a missing driver or
 * device: that is an answer (FALSE, zero rows, and the reason), which R turns into an
 * error only where a GPU was asked for. */
#include <stdio.h>
#include <R.h>
#include <Rinternals.h>
#include "ta_cuda.h"

SEXP C_cuda_built(void) { return ScalarLogical(ta_cuda_built() ? TRUE : FALSE); }

SEXP C_cuda_available(void) {
  ta_msg msg;
  int n = 0;
  if (ta_cuda_device_count(&n, &msg) != TA_OK) return ScalarLogical(FALSE);
  for (int i = 0; i < n; i++)
    if (ta_cuda_device_usable(i, &msg) == TA_OK) return ScalarLogical(TRUE);
  return ScalarLogical(FALSE);
}

/* list(devices = list(id, name, memory_gb, compute_capability, usable, reason),
 *      message = why no device can be used, "" when one can) */
SEXP C_cuda_devices(void) {
  ta_msg msg;
  msg.text[0] = '\0';
  int n = 0;
  if (ta_cuda_device_count(&n, &msg) != TA_OK) n = 0;
  SEXP id = PROTECT(allocVector(INTSXP, n));
  SEXP name = PROTECT(allocVector(STRSXP, n));
  SEXP mem = PROTECT(allocVector(REALSXP, n));
  SEXP cc = PROTECT(allocVector(STRSXP, n));
  SEXP usable = PROTECT(allocVector(LGLSXP, n));
  SEXP reason = PROTECT(allocVector(STRSXP, n));
  int any_usable = 0;
  char first_reason[TA_MSG_LEN] = "";
  for (int i = 0; i < n; i++) {
    ta_cuda_device dev;
    ta_msg why;
    INTEGER(id)[i] = i;
    if (ta_cuda_device_info(i, &dev, &why) != TA_OK) {
      SET_STRING_ELT(name, i, NA_STRING);
      REAL(mem)[i] = NA_REAL;
      SET_STRING_ELT(cc, i, NA_STRING);
      LOGICAL(usable)[i] = FALSE;
      SET_STRING_ELT(reason, i, mkChar(why.text));
    } else {
      char buf[32];
      snprintf(buf, sizeof buf, "%d.%d", dev.major, dev.minor);
      SET_STRING_ELT(name, i, mkChar(dev.name));
      REAL(mem)[i] = dev.memory_bytes / (1024.0 * 1024.0 * 1024.0);
      SET_STRING_ELT(cc, i, mkChar(buf));
      int ok = ta_cuda_device_usable(i, &why) == TA_OK;
      LOGICAL(usable)[i] = ok ? TRUE : FALSE;
      SET_STRING_ELT(reason, i, mkChar(ok ? "" : why.text));
    }
    if (LOGICAL(usable)[i]) any_usable = 1;
    else if (!first_reason[0]) snprintf(first_reason, sizeof first_reason, "%s", why.text);
  }
  if (n > 0) snprintf(msg.text, TA_MSG_LEN, "%s", any_usable ? "" : first_reason);

  SEXP cols = PROTECT(allocVector(VECSXP, 6));
  SEXP cnames = PROTECT(allocVector(STRSXP, 6));
  const char *nm[] = {"id", "name", "memory_gb", "compute_capability", "usable", "reason"};
  SEXP vals[] = {id, name, mem, cc, usable, reason};
  for (int j = 0; j < 6; j++) {
    SET_VECTOR_ELT(cols, j, vals[j]);
    SET_STRING_ELT(cnames, j, mkChar(nm[j]));
  }
  setAttrib(cols, R_NamesSymbol, cnames);
  SEXP out = PROTECT(allocVector(VECSXP, 2));
  SEXP onames = PROTECT(allocVector(STRSXP, 2));
  SET_VECTOR_ELT(out, 0, cols);
  SET_VECTOR_ELT(out, 1, mkString(msg.text));
  SET_STRING_ELT(onames, 0, mkChar("devices"));
  SET_STRING_ELT(onames, 1, mkChar("message"));
  setAttrib(out, R_NamesSymbol, onames);
  UNPROTECT(10);
  return out;
}

/* ---- operations, on the CPU or the GPU (internal; for the CPU/GPU parity tests) ----
 * Each entry runs one operation with the CPU core's function (gpu = FALSE) or its GPU
 * counterpart from ta_cuda_ops.h (gpu = TRUE) on the same float32 inputs, so a test can
 * compare the two. The GPU path copies in, runs, copies out and frees its device
 * buffers on every path before any R error is raised. */
#include <string.h>
#include "api_util.h"
#include "ta_cuda_ops.h"
#include "ta_gemm.h"
#include "ta_loss.h"
#include "ta_math.h"
#include "ta_optim.h"

#define MAX_DEV_BUFS 4

/* device buffers of one GPU call, freed together */
typedef struct {
  void *p[MAX_DEV_BUFS];
  int n;
} dev_bufs;

static void dev_free_all(dev_bufs *d) {
  for (int i = 0; i < d->n; i++) ta_cuda_free(d->p[i]);
  d->n = 0;
}

/* a device copy of host[n] (or uninitialised when host is NULL) */
static int dev_new(dev_bufs *d, float **out, const float *host, size_t n, ta_msg *msg) {
  void *p = NULL;
  int st = ta_cuda_malloc(&p, n * sizeof(float), msg);
  if (st) return st;
  d->p[d->n++] = p;
  *out = (float *)p;
  return host ? ta_cuda_to_device(p, host, n * sizeof(float), msg) : TA_OK;
}

static void gpu_error(dev_bufs *d, const char *what, const ta_msg *msg) {
  dev_free_all(d);
  error("GPU %s: %s", what, msg->text);
}

static int flag(SEXP x, const char *what) {
  if (!isLogical(x) || XLENGTH(x) != 1 || LOGICAL(x)[0] == NA_LOGICAL)
    error("'%s' must be TRUE or FALSE", what);
  return LOGICAL(x)[0];
}

/* C (+)= op(A) op(B) for `batch` row-major products with natural leading dimensions;
 * dims = c(M, N, K, batch); A, B, C hold the matrices one after another. */
SEXP C_cuda_op_gemm(SEXP op_, SEXP A_, SEXP B_, SEXP C_, SEXP dims_, SEXP accumulate_, SEXP gpu_) {
  int op = scalar_int(op_, "op");
  if (op != TA_GEMM_NT && op != TA_GEMM_NN && op != TA_GEMM_TN) error("'op' must be 0, 1 or 2");
  if (!isInteger(dims_) || XLENGTH(dims_) != 4) error("'dims' must be 4 integers");
  const int *dm = INTEGER(dims_);
  for (int i = 0; i < 4; i++)
    if (dm[i] == NA_INTEGER || dm[i] < 1) error("'dims' must be positive");
  size_t M = (size_t)dm[0], N = (size_t)dm[1], K = (size_t)dm[2], nb = (size_t)dm[3];
  int acc = flag(accumulate_, "accumulate"), gpu = flag(gpu_, "gpu");
  /* no product may wrap around in size_t and pass to_float's length check */
  check_count_fits("'A'", (double)M * (double)K * (double)nb);
  check_count_fits("'B'", (double)N * (double)K * (double)nb);
  check_count_fits("'C'", (double)M * (double)N * (double)nb);
  size_t sA = M * K, sB = N * K, sC = M * N;
  size_t lda = op == TA_GEMM_TN ? M : K, ldb = op == TA_GEMM_NT ? K : N, ldc = N;
  float *A = to_float(A_, sA * nb, "A"), *B = to_float(B_, sB * nb, "B");
  float *C = to_float(C_, sC * nb, "C");
  if (!gpu) {
    for (size_t b = 0; b < nb; b++) {
      float *c = C + b * sC;
      const float *a = A + b * sA, *bb = B + b * sB;
      if (op == TA_GEMM_NT) ta_gemm_nt(c, ldc, a, lda, bb, ldb, M, N, K, acc);
      else if (op == TA_GEMM_NN) ta_gemm_nn(c, ldc, a, lda, bb, ldb, M, N, K, acc);
      else ta_gemm_tn(c, ldc, a, lda, bb, ldb, M, N, K, acc);
    }
    return from_float(C, sC * nb);
  }
  dev_bufs d = {{NULL}, 0};
  ta_msg msg;
  float *dA, *dB, *dC;
  if (dev_new(&d, &dA, A, sA * nb, &msg) || dev_new(&d, &dB, B, sB * nb, &msg) ||
      dev_new(&d, &dC, C, sC * nb, &msg) ||
      ta_cuda_gemm(op, dC, ldc, sC, dA, lda, sA, dB, ldb, sB, M, N, K, nb, acc, &msg) ||
      ta_cuda_to_host(C, dC, sC * nb * sizeof(float), &msg))
    gpu_error(&d, "matrix product", &msg);
  dev_free_all(&d);
  return from_float(C, sC * nb);
}

/* list(out = act(x), din = dout * act'(x)) */
SEXP C_cuda_op_act(SEXP act_, SEXP x_, SEXP dout_, SEXP gpu_) {
  int act = activation_code(act_);
  size_t n = (size_t)XLENGTH(x_);
  float *x = to_float(x_, n, "x"), *dout = to_float(dout_, n, "dout");
  float *out = (float *)R_alloc(n ? n : 1, sizeof(float));
  float *din = (float *)R_alloc(n ? n : 1, sizeof(float));
  if (!flag(gpu_, "gpu")) {
    for (size_t i = 0; i < n; i++) out[i] = ta_act(act, x[i]);
    for (size_t i = 0; i < n; i++) din[i] = dout[i] * ta_act_grad(act, x[i], out[i]);
  } else {
    dev_bufs d = {{NULL}, 0};
    ta_msg msg;
    float *dx, *ddout, *dy, *ddin;
    if (dev_new(&d, &dx, x, n, &msg) || dev_new(&d, &ddout, dout, n, &msg) ||
        dev_new(&d, &dy, NULL, n, &msg) || dev_new(&d, &ddin, NULL, n, &msg) ||
        ta_cuda_act_forward(dy, dx, n, act, &msg) ||
        ta_cuda_act_backward(ddin, ddout, dx, dy, n, act, &msg) ||
        ta_cuda_to_host(out, dy, n * sizeof(float), &msg) ||
        ta_cuda_to_host(din, ddin, n * sizeof(float), &msg))
      gpu_error(&d, "activation", &msg);
    dev_free_all(&d);
  }
  const char *fields[] = {"out", "din", ""};
  SEXP res = PROTECT(mkNamed(VECSXP, fields));
  SET_VECTOR_ELT(res, 0, from_float(out, n));
  SET_VECTOR_ELT(res, 1, from_float(din, n));
  UNPROTECT(1);
  return res;
}

/* Adam step number `step` (from 1) with cfg = c(lr, beta1, beta2, eps, weight_decay):
 * list(params, m, v). The CPU path is the training loop's ta_optim_step. */
SEXP C_cuda_op_adam(SEXP p_, SEXP g_, SEXP m_, SEXP v_, SEXP cfg_, SEXP step_, SEXP gpu_) {
  size_t n = (size_t)XLENGTH(p_);
  if (!isReal(cfg_) || XLENGTH(cfg_) != 5) error("'cfg' must be 5 numbers");
  int step = scalar_int(step_, "step");
  if (step < 1) error("'step' must be >= 1");
  const double *cfg = REAL(cfg_);
  float *p = to_float(p_, n, "params"), *g = to_float(g_, n, "grads");
  /* state [m | v], as ta_optim_step keeps it */
  float *state = (float *)R_alloc(2 * n + 1, sizeof(float));
  float *m = to_float(m_, n, "m"), *v = to_float(v_, n, "v");
  if (n) {
    memcpy(state, m, n * sizeof(float));
    memcpy(state + n, v, n * sizeof(float));
  }
  if (!flag(gpu_, "gpu")) {
    ta_optim opt = {TA_OPT_ADAM, cfg[0], cfg[1], cfg[2], cfg[3], cfg[4], 0.0, step - 1L};
    ta_optim_step(&opt, p, g, state, n);
  } else {
    ta_adam_consts c = ta_adam_prepare(cfg[0], cfg[1], cfg[2], cfg[3], cfg[4], step);
    dev_bufs d = {{NULL}, 0};
    ta_msg msg;
    float *dp, *dg, *ds;
    if (dev_new(&d, &dp, p, n, &msg) || dev_new(&d, &dg, g, n, &msg) ||
        dev_new(&d, &ds, state, 2 * n, &msg) ||
        ta_cuda_adam_step(dp, dg, ds, ds + n, n, &c, &msg) ||
        ta_cuda_to_host(p, dp, n * sizeof(float), &msg) ||
        ta_cuda_to_host(state, ds, 2 * n * sizeof(float), &msg))
      gpu_error(&d, "Adam step", &msg);
    dev_free_all(&d);
  }
  const char *fields[] = {"params", "m", "v", ""};
  SEXP res = PROTECT(mkNamed(VECSXP, fields));
  SET_VECTOR_ELT(res, 0, from_float(p, n));
  SET_VECTOR_ELT(res, 1, from_float(state, n));
  SET_VECTOR_ELT(res, 2, from_float(state + n, n));
  UNPROTECT(1);
  return res;
}

/* list(loss, grad) of the mean loss (kind 1 = MSE, 2 = MAE) over all values */
SEXP C_cuda_op_loss(SEXP kind_, SEXP yhat_, SEXP y_, SEXP gpu_) {
  int kind = scalar_int(kind_, "kind");
  if (kind != TA_LOSS_MSE && kind != TA_LOSS_MAE) error("'kind' must be 1 (MSE) or 2 (MAE)");
  size_t n = (size_t)XLENGTH(yhat_);
  if (n == 0) error("'yhat' must not be empty");
  float *yhat = to_float(yhat_, n, "yhat"), *y = to_float(y_, n, "y");
  float *grad = (float *)R_alloc(n, sizeof(float));
  double loss = 0.0;
  if (!flag(gpu_, "gpu")) {
    loss = ta_loss(kind, grad, yhat, y, n);
  } else {
    dev_bufs d = {{NULL}, 0};
    ta_msg msg;
    float *dyhat, *dy, *dgrad, *work;
    size_t wfloats = (ta_cuda_loss_workspace(n) + sizeof(float) - 1) / sizeof(float);
    if (dev_new(&d, &dyhat, yhat, n, &msg) || dev_new(&d, &dy, y, n, &msg) ||
        dev_new(&d, &dgrad, NULL, n, &msg) || dev_new(&d, &work, NULL, wfloats, &msg) ||
        ta_cuda_loss(kind, &loss, dgrad, dyhat, dy, n, work, &msg) ||
        ta_cuda_to_host(grad, dgrad, n * sizeof(float), &msg))
      gpu_error(&d, "loss", &msg);
    dev_free_all(&d);
  }
  const char *fields[] = {"loss", "grad", ""};
  SEXP res = PROTECT(mkNamed(VECSXP, fields));
  SET_VECTOR_ELT(res, 0, ScalarReal(loss));
  SET_VECTOR_ELT(res, 1, from_float(grad, n));
  UNPROTECT(1);
  return res;
}

/* list(out, mask) of inverted dropout of x at `rate` under `key` (a whole number, as a
 * seed): the CPU path evaluates ta_dropout_keep (ta_math_train.h) element by element,
 * the GPU path runs ta_cuda_dropout, which must give the same mask */
SEXP C_cuda_op_dropout(SEXP x_, SEXP rate_, SEXP key_, SEXP gpu_) {
  size_t n = (size_t)XLENGTH(x_);
  if (!isReal(rate_) || XLENGTH(rate_) != 1 || !(REAL(rate_)[0] >= 0.0 && REAL(rate_)[0] < 1.0))
    error("'rate' must be a number in [0, 1)");
  float rate = (float)REAL(rate_)[0];
  unsigned long long key = (unsigned long long)seed_of(key_);
  float *x = to_float(x_, n, "x");
  float *out = (float *)R_alloc(n ? n : 1, sizeof(float));
  float *mask = (float *)R_alloc(n ? n : 1, sizeof(float));
  if (!flag(gpu_, "gpu")) {
    for (size_t i = 0; i < n; i++) {
      mask[i] = ta_dropout_keep(key, (unsigned long long)i, rate);
      out[i] = x[i] * mask[i];
    }
  } else {
    dev_bufs d = {{NULL}, 0};
    ta_msg msg;
    float *dx, *dout, *dmask;
    if (dev_new(&d, &dx, x, n, &msg) || dev_new(&d, &dout, NULL, n, &msg) ||
        dev_new(&d, &dmask, NULL, n, &msg) ||
        ta_cuda_dropout(dout, dmask, dx, n, rate, key, &msg) ||
        ta_cuda_to_host(out, dout, n * sizeof(float), &msg) ||
        ta_cuda_to_host(mask, dmask, n * sizeof(float), &msg))
      gpu_error(&d, "dropout", &msg);
    dev_free_all(&d);
  }
  const char *fields[] = {"out", "mask", ""};
  SEXP res = PROTECT(mkNamed(VECSXP, fields));
  SET_VECTOR_ELT(res, 0, from_float(out, n));
  SET_VECTOR_ELT(res, 1, from_float(mask, n));
  UNPROTECT(1);
  return res;
}

/* NULL when cuBLAS loads (no device needed), else the reason as a string */
SEXP C_cuda_blas_library(void) {
  ta_msg msg;
  if (ta_cuda_blas_library(&msg) == TA_OK) return R_NilValue;
  return mkString(msg.text);
}

/* TRUE in a TSATTN_CUDA_EMU=1 build (tools/cuda-emu: the GPU code run by a CPU emulation) */
SEXP C_cuda_emulated(void) {
#ifdef TSATTN_CUDA_EMU
  return ScalarLogical(TRUE);
#else
  return ScalarLogical(FALSE);
#endif
}
