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

/* a single whole number that fits an int; the error names `what` */
int scalar_int(SEXP x, const char *what);
/* Builds the network described by ispec [n, TA_SPEC_INTS] and dspec [n, TA_SPEC_DBLS];
 * returns a PROTECTed external pointer (one PROTECT for the caller to pop). */
SEXP build_net(SEXP ispec, SEXP dspec, SEXP in_dim, ta_net **out);
/* frees the network now (the finalizer then has nothing left to do) */
void release(SEXP ptr);
/* copies a finite double vector of exactly len values into float (R_alloc) */
float *to_float(SEXP x, size_t len, const char *what);
/* a new (unprotected) double vector holding f [len] */
SEXP from_float(const float *f, size_t len);
/* the C generator's seed from a number drawn by R */
uint64_t seed_of(SEXP seed);

#endif
