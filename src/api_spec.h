/* Settings from R, read by name (src/api_spec.c): a network's layer specs and fit()'s
 * training settings cross as named lists whose names are the C fields', and every code
 * (layer type, activation, score, ...) crosses as its name, mapped to the core's enum by
 * one table per enum. Nothing has to be kept in the same order in R and C. All raise R
 * errors. */
#ifndef TA_API_SPEC_H
#define TA_API_SPEC_H

#include <R.h>
#include <Rinternals.h>
#include "ta_layer.h"

/* The layer specs of `spec`, a list with one named list per layer (layer_spec() in
 * R/layers.R): each element fills the ta_layer_spec field of its name (NULL or absent:
 * 0, window -1); a name no field has is an error. Returns n specs (R_alloc). */
ta_layer_spec *read_layer_specs(SEXP spec, int *n);

/* fit()'s settings (train_settings() in R/fit.R), every one required, by name */
typedef struct {
  int epochs, batch_size, shuffle, loss, patience, optimizer, verbose, print_every;
  double lr, beta1, beta2, eps, weight_decay, momentum, clipnorm;
} fit_settings;
void read_fit_settings(fit_settings *s, SEXP x);

/* TA_LOSS_* of "mse" or "mae"; TA_ACT_* of an activation's name */
int loss_code(SEXP loss);
int activation_code(SEXP act);

#endif
