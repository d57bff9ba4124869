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
