# Layer specifications: plain lists, nothing allocated until a network is built.

activation_codes <- c(linear = 0L, relu = 1L, tanh = 2L, sigmoid = 3L, gelu = 4L)

check_activation <- function(x, arg, call = sys.call(-1L)) {
  if (is.null(x)) return("linear")
  check_choice(x, arg, names(activation_codes), call = call)
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
  new_layer("activation", activation = check_choice(fn, "fn", names(activation_codes)))
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

layer_type_codes <- c(dense = 1L, activation = 2L, dropout = 3L, gru = 4L, lstm = 5L, last_step = 6L)

# one row of the integer spec (type, units, num_layers, activation, bias,
# return_sequences) and the rate, as the C glue reads them
layer_spec_row <- function(layer) {
  code <- layer_type_codes[[layer$type]]
  switch(layer$type,
    dense = list(c(code, layer$units, 0L, activation_codes[[layer$activation]], as.integer(layer$bias), 1L), 0),
    activation = list(c(code, 0L, 0L, activation_codes[[layer$activation]], 0L, 1L), 0),
    dropout = list(c(code, 0L, 0L, 0L, 0L, 1L), layer$rate),
    gru = ,
    lstm = list(c(code, layer$units, layer$num_layers, 0L, 0L, as.integer(layer$return_sequences)), layer$dropout),
    last_step = list(c(code, 0L, 0L, 0L, 0L, 0L), 0)
  )
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
    layer$type
  )
}

#' @export
print.tsattn_layer <- function(x, ...) {
  cat("<tsattn layer> ", layer_label(x), "\n", sep = "")
  invisible(x)
}
