/* .Call glue for layer utilities that are not networks. */
#include <R.h>
#include <Rinternals.h>
#include "ta_posenc.h"
#include "ta_net.h"
#include "ta_threads.h"

/* positional_encoding(length, d_model): the matrix P [length, d_model] as an R matrix */
SEXP C_positional_encoding(SEXP length, SEXP d_model) {
  if (!isInteger(length) || XLENGTH(length) != 1 || INTEGER(length)[0] < 1)
    error("'length' must be a single whole number >= 1");
  if (!isInteger(d_model) || XLENGTH(d_model) != 1 || INTEGER(d_model)[0] < 1)
    error("'d_model' must be a single whole number >= 1");
  size_t T = (size_t)INTEGER(length)[0], d = (size_t)INTEGER(d_model)[0];
  float *P = (float *)R_alloc(T * d, sizeof(float));
  ta_posenc_table(P, T, d);
  SEXP out = PROTECT(allocMatrix(REALSXP, (int)T, (int)d));
  double *o = REAL(out);
  for (size_t i = 0; i < T; i++)
    for (size_t c = 0; c < d; c++) o[i + c * T] = (double)P[i * d + c];
  UNPROTECT(1);
  return out;
}

/* tests only: every CPU workspace filled with NaN bytes before use (ta_net_set_poison);
 * returns the previous setting */
SEXP C_poison_workspaces(SEXP on) {
  if (!isLogical(on) || XLENGTH(on) != 1 || LOGICAL(on)[0] == NA_LOGICAL)
    error("'on' must be TRUE or FALSE");
  return ScalarLogical(ta_net_set_poison(LOGICAL(on)[0]));
}

/* options(tsattn.threads = n): threads of the core; returns the count a parallel region
 * would now get (capped at the processors, 1 in a forked child: ta_threads.h) */
SEXP C_set_threads(SEXP n) {
  if ((!isInteger(n) && !isReal(n)) || XLENGTH(n) != 1) error("'tsattn.threads' must be one number");
  double v = asReal(n);
  if (ISNAN(v) || v < 0 || v > 1024) error("'tsattn.threads' must be between 0 (default) and 1024");
  ta_set_threads((int)v);
  return ScalarInteger(ta_threads_planned());
}
