# Layer specifications: plain lists, nothing allocated until a network is built.

# The names R offers for coded settings. They cross to C as names, which the glue maps
# to the core's codes with one table per enum (src/api_spec.c): R holds no numbers, and
# tests/testthat/test-settings.R checks that C knows every name offered here.
activation_choices <- c("linear", "relu", "tanh", "sigmoid", "gelu")
score_choices <- c("dot", "scaled_dot", "additive", "cosine") # layer_attention()
padding_choices <- c("same", "causal", "valid")
encoding_choices <- c("sinusoidal", "learned")

check_activation <- function(x, arg, call = sys.call(-1L)) {
  if (is.null(x)) return("linear")
  check_choice(x, arg, activation_choices, call = call)
}

new_layer <- function(type, ...) {
  structure(list(type = type, ...), class = c(paste0("tsattn_layer_", type), "tsattn_layer"))
}

#' Dense layer applied at every time step
#'
#' A linear map `y = x W^T + b` of the feature dimension, applied to every time
#' step, optionally followed by an activation. Its weights are named as PyTorch's
#' `nn.Linear`: `weight` `[units, input features]` and `bias` `[units]`.
#'
#' @param units Number of output features, a whole number >= 1.
#' @param activation `NULL` (linear) or one of "relu", "tanh", "sigmoid", "gelu", "linear".
#' @param bias Whether to add a bias.
#' @return A layer specification, for [sequential()].
#' @examples
#' layer_dense(8, activation = "relu")
#' @export
layer_dense <- function(units, activation = NULL, bias = TRUE) {
  new_layer("dense", units = check_count(units, "units"),
            activation = check_activation(activation, "activation"),
            bias = check_flag(bias, "bias"))
}

#' Activation layer
#'
#' @param fn One of "relu", "tanh", "sigmoid", "gelu", "linear".
#' @return A layer specification, for [sequential()].
#' @examples
#' layer_activation("tanh")
#' @export
layer_activation <- function(fn) {
  new_layer("activation", activation = check_choice(fn, "fn", activation_choices))
}

#' Dropout layer
#'
#' Inverted dropout: during training each value is zeroed with probability `rate`
#' and the others are scaled by `1 / (1 - rate)`; at prediction time it does nothing.
#'
#' @param rate Probability of dropping a value, in `[0, 1)`.
#' @return A layer specification, for [sequential()].
#' @examples
#' layer_dropout(0.1)
#' @export
layer_dropout <- function(rate) {
  new_layer("dropout", rate = check_number(rate, "rate", 0, 1, upper_open = TRUE))
}

rnn_layer <- function(type, units, num_layers, dropout, return_sequences, call) {
  new_layer(type,
            units = check_count(units, "units", call = call),
            num_layers = check_count(num_layers, "num_layers", call = call),
            dropout = check_number(dropout, "dropout", 0, 1, upper_open = TRUE, call = call),
            return_sequences = check_flag(return_sequences, "return_sequences", call = call))
}

#' Recurrent layers: GRU and LSTM
#'
#' Stacked gated recurrent layers with PyTorch's equations, gate order (GRU: r, z, n;
#' LSTM: i, f, g, o), initialisation (uniform in `+-1/sqrt(units)`) and weight names
#' (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, then `_l1`, ...).
#' The initial hidden (and cell) state is zero.
#'
#' @param units Hidden size, a whole number >= 1.
#' @param num_layers Number of stacked recurrent layers.
#' @param dropout Dropout on the outputs of every stacked layer but the last (as in
#'   PyTorch), in `[0, 1)`.
#' @param return_sequences `TRUE` to return the hidden state of every step
#'   `[batch, time, units]`, `FALSE` for the last step only `[batch, 1, units]`.
#' @return A layer specification, for [sequential()].
#' @examples
#' layer_gru(4, num_layers = 2)
#' layer_lstm(16, return_sequences = FALSE)
#' @export
layer_gru <- function(units, num_layers = 1, dropout = 0, return_sequences = TRUE) {
  rnn_layer("gru", units, num_layers, dropout, return_sequences, sys.call())
}

#' @rdname layer_gru
#' @export
layer_lstm <- function(units, num_layers = 1, dropout = 0, return_sequences = TRUE) {
  rnn_layer("lstm", units, num_layers, dropout, return_sequences, sys.call())
}

#' Keep the last time step
#'
#' Turns `[batch, time, features]` into `[batch, 1, features]` (many-to-one).
#'
#' @return A layer specification, for [sequential()].
#' @examples
#' sequential(layer_gru(8), layer_last_step(), layer_dense(1))
#' @export
layer_last_step <- function() new_layer("last_step")

# The layer as the core's ta_layer_spec (src/ta_layer.h): a named list whose names are
# the C struct's fields, which the glue reads by name (read_layer_specs() in
# src/api_spec.c); coded settings go as their names. A field left out, or NULL, keeps
# the core's default: 0, and for window -1 (all keys).
layer_spec <- function(layer) {
  type <- layer$type
  if (!is.character(type) || length(type) != 1L || is.na(type)) type <- "" # C names the fault
  settings <- switch(type,
    dense = list(units = layer$units, activation = layer$activation, bias = layer$bias),
    activation = list(activation = layer$activation),
    dropout = list(rate = layer$rate),
    gru = , lstm = list(units = layer$units, num_layers = layer$num_layers,
                        return_sequences = layer$return_sequences, rate = layer$dropout),
    last_step = list(),
    conv1d = list(units = layer$filters, kernel_size = layer$kernel_size,
                  padding = layer$padding, activation = layer$activation, bias = layer$bias),
    layer_norm = list(eps = layer$eps),
    positional_encoding = list(encoding = layer$type_encoding, max_len = layer$max_len,
                               rate = layer$dropout),
    attention = list(units = layer$units, key_dim = layer$key_dim, score = layer$score,
                     window = layer$window, causal = layer$causal, bias = layer$bias),
    multihead_attention = list(heads = layer$heads, key_dim = layer$key_dim,
                               causal = layer$causal, rate = layer$dropout),
    transformer_encoder = list(heads = layer$heads, d_ff = layer$d_ff, causal = layer$causal,
                               norm_first = layer$norm_first, activation = layer$activation,
                               rate = layer$dropout, eps = layer$eps),
    seq2seq = list(units = layer$units, cell = layer$cell, score = layer$attention,
                   attn_dim = layer$attention_units, horizon = layer$horizon,
                   out_dim = layer$output_dim),
    list()
  )
  c(list(type = layer$type), settings)
}

layer_label <- function(layer) {
  switch(layer$type,
    dense = sprintf("dense(%d%s)", layer$units,
                    if (layer$activation == "linear") "" else paste0(", ", layer$activation)),
    activation = sprintf("activation(%s)", layer$activation),
    dropout = sprintf("dropout(%g)", layer$rate),
    gru = ,
    lstm = sprintf("%s(%d%s%s%s)", layer$type, layer$units,
                   if (layer$num_layers > 1) sprintf(", num_layers = %d", layer$num_layers) else "",
                   if (layer$dropout > 0) sprintf(", dropout = %g", layer$dropout) else "",
                   if (!layer$return_sequences) ", last step" else ""),
    last_step = "last_step()",
    conv1d = sprintf("conv1d(%d, kernel %d, %s%s)", layer$filters, layer$kernel_size, layer$padding,
                     if (layer$activation == "linear") "" else paste0(", ", layer$activation)),
    layer_norm = "layer_norm()",
    positional_encoding = sprintf("positional_encoding(%s, max_len = %d%s)", layer$type_encoding, layer$max_len,
                                  if (layer$dropout > 0) sprintf(", dropout = %g", layer$dropout) else ""),
    attention = sprintf("attention(%s%s%s%s)", layer$score,
                        if (!is.null(layer$units)) sprintf(", units = %d", layer$units) else "",
                        if (!is.null(layer$window)) sprintf(", window = %d", layer$window) else "",
                        if (layer$causal) ", causal" else ""),
    multihead_attention = sprintf("multihead_attention(%d heads%s)", layer$heads,
                                  if (layer$causal) ", causal" else ""),
    transformer_encoder = sprintf("transformer_encoder(%d heads, d_ff = %d%s%s)", layer$heads,
                                  layer$d_ff, if (layer$norm_first) ", pre-norm" else "",
                                  if (layer$causal) ", causal" else ""),
    seq2seq = sprintf("seq2seq(%s(%d), %s attention, horizon %d)", layer$cell, layer$units,
                      layer$attention, layer$horizon),
    layer$type
  )
}

#' @export
print.tsattn_layer <- function(x, ...) {
  cat("<tsattn layer> ", layer_label(x), "\n", sep = "")
  invisible(x)
}
