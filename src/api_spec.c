/* Settings from R, read by name (see api_spec.h). A struct's fields are listed once,
 * each under its own C name (the field tables below stringify it), so the names R
 * writes are the struct's: a setting R sends that no field has is an error, and one R
 * leaves out keeps its default. A code crosses as its name and is looked up in its
 * enum's one table here; R keeps no numbers. C_codes() and C_layer_specs() hand the
 * tables and the specs as read back to R, for tests/testthat/test-settings.R. */
#include <math.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <R.h>
#include <Rinternals.h>
#include "api_spec.h"
#include "ta_math.h" /* TA_ACT_* */
#include "ta_loss.h"
#include "ta_optim.h"

/* ---- one table per enum: R's name of every code ------------------------------------ */

typedef struct {
  const char *name;
  int code;
} code_name;

#define LAYER_NAME(id, name, cpu, gpu) {name, TA_LAYER_##id},
static const code_name layer_types[] = {TA_LAYER_KINDS(LAYER_NAME){NULL, 0}};
#undef LAYER_NAME
static const code_name activations[] = {{"linear", TA_ACT_LINEAR}, {"relu", TA_ACT_RELU},
                                        {"tanh", TA_ACT_TANH},     {"sigmoid", TA_ACT_SIGMOID},
                                        {"gelu", TA_ACT_GELU},     {NULL, 0}};
static const code_name scores[] = {{"dot", TA_SCORE_DOT},           {"scaled_dot", TA_SCORE_SCALED_DOT},
                                   {"additive", TA_SCORE_ADDITIVE}, {"cosine", TA_SCORE_COSINE},
                                   {"general", TA_SCORE_GENERAL},   {NULL, 0}};
static const code_name paddings[] = {
    {"same", TA_PAD_SAME}, {"causal", TA_PAD_CAUSAL}, {"valid", TA_PAD_VALID}, {NULL, 0}};
static const code_name encodings[] = {
    {"sinusoidal", TA_POSENC_SINUSOIDAL}, {"learned", TA_POSENC_LEARNED}, {NULL, 0}};
static const code_name cells[] = {{"gru", TA_CELL_GRU}, {"lstm", TA_CELL_LSTM}, {NULL, 0}};
static const code_name losses[] = {{"mse", TA_LOSS_MSE}, {"mae", TA_LOSS_MAE}, {NULL, 0}};
static const code_name optimizers[] = {{"adam", TA_OPT_ADAM}, {"sgd", TA_OPT_SGD}, {NULL, 0}};

/* the tables under the names C_codes() gives them */
static const struct {
  const char *name;
  const code_name *table;
} code_tables[] = {{"layer", layer_types}, {"activation", activations}, {"score", scores},
                   {"padding", paddings},  {"encoding", encodings},     {"cell", cells},
                   {"loss", losses},       {"optimizer", optimizers},   {NULL, NULL}};

static const char *name_of(const code_name *t, int code) {
  for (; t->name; t++)
    if (t->code == code) return t->name;
  return NULL;
}

/* the code named by x, a single string of table t; an R error naming the choices else */
static int code_of(const code_name *t, SEXP x, const char *where, const char *what) {
  const char *s = isString(x) && XLENGTH(x) == 1 && STRING_ELT(x, 0) != NA_STRING
                      ? CHAR(STRING_ELT(x, 0))
                      : NULL;
  for (const code_name *c = t; s && c->name; c++)
    if (!strcmp(c->name, s)) return c->code;
  char choices[256] = "";
  for (const code_name *c = t; c->name; c++) {
    if (c != t) strncat(choices, ", ", sizeof choices - strlen(choices) - 1);
    strncat(choices, c->name, sizeof choices - strlen(choices) - 1);
  }
  if (s) error("%s: '%s' must be one of %s, not \"%s\"", where, what, choices, s);
  error("%s: '%s' must be a single string (one of %s)", where, what, choices);
  return 0;
}

int loss_code(SEXP loss) { return code_of(losses, loss, "loss", "loss"); }
int activation_code(SEXP act) { return code_of(activations, act, "activation", "act"); }

/* ---- structs filled by field name ------------------------------------------------- */

typedef enum { FIELD_INT, FIELD_DOUBLE, FIELD_CODE } field_kind;
typedef struct {
  const char *name;
  field_kind kind;
  size_t offset;
  const code_name *codes; /* FIELD_CODE: its table */
} field;
#define INT_FIELD(S, f) {#f, FIELD_INT, offsetof(S, f), NULL}
#define DBL_FIELD(S, f) {#f, FIELD_DOUBLE, offsetof(S, f), NULL}
#define CODE_FIELD(S, f, t) {#f, FIELD_CODE, offsetof(S, f), t}
#define MAX_FIELDS 32

/* every field of ta_layer_spec (src/ta_layer.h), type first */
static const field layer_fields[] = {CODE_FIELD(ta_layer_spec, type, layer_types),
                                     INT_FIELD(ta_layer_spec, units),
                                     INT_FIELD(ta_layer_spec, num_layers),
                                     CODE_FIELD(ta_layer_spec, activation, activations),
                                     INT_FIELD(ta_layer_spec, bias),
                                     INT_FIELD(ta_layer_spec, return_sequences),
                                     INT_FIELD(ta_layer_spec, key_dim),
                                     INT_FIELD(ta_layer_spec, heads),
                                     CODE_FIELD(ta_layer_spec, score, scores),
                                     INT_FIELD(ta_layer_spec, window),
                                     INT_FIELD(ta_layer_spec, causal),
                                     INT_FIELD(ta_layer_spec, kernel_size),
                                     CODE_FIELD(ta_layer_spec, padding, paddings),
                                     CODE_FIELD(ta_layer_spec, encoding, encodings),
                                     INT_FIELD(ta_layer_spec, max_len),
                                     INT_FIELD(ta_layer_spec, d_ff),
                                     INT_FIELD(ta_layer_spec, norm_first),
                                     CODE_FIELD(ta_layer_spec, cell, cells),
                                     INT_FIELD(ta_layer_spec, attn_dim),
                                     INT_FIELD(ta_layer_spec, horizon),
                                     INT_FIELD(ta_layer_spec, out_dim),
                                     DBL_FIELD(ta_layer_spec, rate),
                                     DBL_FIELD(ta_layer_spec, eps),
                                     {NULL, FIELD_INT, 0, NULL}};

static const field fit_fields[] = {INT_FIELD(fit_settings, epochs),
                                   INT_FIELD(fit_settings, batch_size),
                                   INT_FIELD(fit_settings, shuffle),
                                   CODE_FIELD(fit_settings, loss, losses),
                                   INT_FIELD(fit_settings, patience),
                                   CODE_FIELD(fit_settings, optimizer, optimizers),
                                   INT_FIELD(fit_settings, verbose),
                                   INT_FIELD(fit_settings, print_every),
                                   DBL_FIELD(fit_settings, lr),
                                   DBL_FIELD(fit_settings, beta1),
                                   DBL_FIELD(fit_settings, beta2),
                                   DBL_FIELD(fit_settings, eps),
                                   DBL_FIELD(fit_settings, weight_decay),
                                   DBL_FIELD(fit_settings, momentum),
                                   DBL_FIELD(fit_settings, clipnorm),
                                   {NULL, FIELD_INT, 0, NULL}};
_Static_assert(sizeof layer_fields / sizeof *layer_fields <= MAX_FIELDS + 1, "MAX_FIELDS");
_Static_assert(sizeof fit_fields / sizeof *fit_fields <= MAX_FIELDS + 1, "MAX_FIELDS");

/* one number: a single finite value (a whole one that fits an int for FIELD_INT);
 * TRUE/FALSE count as 1/0 */
static double number_of(SEXP x, const field *f, const char *where) {
  if ((!isInteger(x) && !isReal(x) && !isLogical(x)) || XLENGTH(x) != 1)
    error("%s: '%s' must be a single number", where, f->name);
  double v = asReal(x);
  if (!R_FINITE(v)) error("%s: '%s' must be finite, not %g", where, f->name, v);
  if (f->kind == FIELD_INT && (v != floor(v) || fabs(v) > INT_MAX))
    error("%s: '%s' must be a whole number that fits an int, not %g", where, f->name, v);
  return v;
}

/* Fills base's fields from the named list x; seen[k] = 1 for the fields it gave (a NULL
 * element gives none: the field keeps its default). where names x in errors. */
static void read_fields(void *base, const field *fields, SEXP x, const char *where, int *seen) {
  int nf = 0;
  while (fields[nf].name) seen[nf++] = 0;
  if (TYPEOF(x) != VECSXP) error("%s: a named list expected", where);
  SEXP names = getAttrib(x, R_NamesSymbol);
  if (XLENGTH(x) > 0 && TYPEOF(names) != STRSXP) error("%s: a named list expected", where);
  for (R_xlen_t i = 0; i < XLENGTH(x); i++) {
    const char *name = CHAR(STRING_ELT(names, i));
    int k = 0;
    while (k < nf && strcmp(fields[k].name, name)) k++;
    if (k == nf) error("%s: there is no setting '%s'", where, name);
    if (seen[k]) error("%s: '%s' is given twice", where, name);
    const field *f = &fields[k];
    SEXP v = VECTOR_ELT(x, i);
    if (isNull(v)) continue;
    seen[k] = 1;
    char *p = (char *)base + f->offset;
    if (f->kind == FIELD_CODE) *(int *)p = code_of(f->codes, v, where, f->name);
    else if (f->kind == FIELD_INT) *(int *)p = (int)number_of(v, f, where);
    else *(double *)p = number_of(v, f, where);
  }
}

/* the named list of every field of base (codes by name), for reading settings back */
static SEXP fields_list(const void *base, const field *fields) {
  int nf = 0;
  while (fields[nf].name) nf++;
  SEXP out = PROTECT(allocVector(VECSXP, nf));
  SEXP names = PROTECT(allocVector(STRSXP, nf));
  for (int k = 0; k < nf; k++) {
    const field *f = &fields[k];
    const char *p = (const char *)base + f->offset;
    SET_STRING_ELT(names, k, mkChar(f->name));
    if (f->kind == FIELD_DOUBLE) {
      SET_VECTOR_ELT(out, k, ScalarReal(*(const double *)p));
    } else if (f->kind == FIELD_INT) {
      SET_VECTOR_ELT(out, k, ScalarInteger(*(const int *)p));
    } else {
      const char *s = name_of(f->codes, *(const int *)p);
      SET_VECTOR_ELT(out, k, ScalarString(s ? mkChar(s) : NA_STRING));
    }
  }
  setAttrib(out, R_NamesSymbol, names);
  UNPROTECT(2);
  return out;
}

ta_layer_spec *read_layer_specs(SEXP spec, int *n) {
  if (TYPEOF(spec) != VECSXP) error("the layer specs must be a list (one per layer)");
  if (XLENGTH(spec) < 1) error("a network needs at least one layer");
  if (XLENGTH(spec) > INT_MAX) error("too many layers");
  *n = (int)XLENGTH(spec);
  ta_layer_spec *specs = (ta_layer_spec *)R_alloc((size_t)*n, sizeof(ta_layer_spec));
  int seen[MAX_FIELDS];
  for (int i = 0; i < *n; i++) {
    ta_layer_spec *sp = &specs[i];
    memset(sp, 0, sizeof *sp);
    sp->window = -1; /* all keys */
    char where[32];
    snprintf(where, sizeof where, "layer %d", i + 1);
    read_fields(sp, layer_fields, VECTOR_ELT(spec, i), where, seen);
    if (!seen[0]) error("%s: its spec has no 'type'", where);
  }
  return specs;
}

void read_fit_settings(fit_settings *s, SEXP x) {
  int seen[MAX_FIELDS];
  memset(s, 0, sizeof *s);
  read_fields(s, fit_fields, x, "training settings", seen);
  for (int k = 0; fit_fields[k].name; k++)
    if (!seen[k]) error("training settings: '%s' is missing", fit_fields[k].name);
}

/* list(layer = c(dense = 1, ...), activation = ..., ...): every table, for R's tests */
SEXP C_codes(void) {
  int nt = 0;
  while (code_tables[nt].name) nt++;
  SEXP out = PROTECT(allocVector(VECSXP, nt));
  SEXP names = PROTECT(allocVector(STRSXP, nt));
  for (int k = 0; k < nt; k++) {
    const code_name *t = code_tables[k].table;
    int n = 0;
    while (t[n].name) n++;
    SEXP v = PROTECT(allocVector(INTSXP, n));
    SEXP vn = PROTECT(allocVector(STRSXP, n));
    for (int i = 0; i < n; i++) {
      INTEGER(v)[i] = t[i].code;
      SET_STRING_ELT(vn, i, mkChar(t[i].name));
    }
    setAttrib(v, R_NamesSymbol, vn);
    SET_VECTOR_ELT(out, k, v);
    SET_STRING_ELT(names, k, mkChar(code_tables[k].name));
    UNPROTECT(2);
  }
  setAttrib(out, R_NamesSymbol, names);
  UNPROTECT(2);
  return out;
}

/* the layer specs as read: per layer, the named list of every ta_layer_spec field */
SEXP C_layer_specs(SEXP spec) {
  int n;
  ta_layer_spec *specs = read_layer_specs(spec, &n);
  SEXP out = PROTECT(allocVector(VECSXP, n));
  for (int i = 0; i < n; i++) SET_VECTOR_ELT(out, i, fields_list(&specs[i], layer_fields));
  UNPROTECT(1);
  return out;
}
