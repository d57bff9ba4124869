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

layer_type_codes <- c(dense = 1L, activation = 2L, dropout = 3L, gru = 4L, lstm = 5L,
                      last_step = 6L, conv1d = 7L, layer_norm = 8L, positional_encoding = 9L,
                      attention = 10L, multihead_attention = 11L, transformer_encoder = 12L,
                      seq2seq = 13L)
score_codes <- c(dot = 0L, scaled_dot = 1L, additive = 2L, cosine = 3L)
padding_codes <- c(same = 0L, causal = 1L, valid = 2L)
posenc_codes <- c(sinusoidal = 0L, learned = 1L)

spec_int_fields <- c("type", "units", "num_layers", "activation", "bias", "return_sequences",
                     "key_dim", "heads", "score", "window", "causal", "kernel_size", "padding",
                     "max_len", "d_ff", "variant")

# One row of the integer spec (the fields above, as the C glue reads them) and the
# doubles (rate, eps). Unused fields are 0; window -1 means "all keys".
layer_spec_row <- function(layer) {
  v <- stats::setNames(integer(length(spec_int_fields)), spec_int_fields)
  v[["type"]] <- layer_type_codes[[layer$type]]
  v[["window"]] <- -1L
  rate <- 0
  eps <- 0
  int <- function(x) if (is.null(x)) 0L else as.integer(x)
  switch(layer$type,
    dense = {
      v[["units"]] <- layer$units
      v[["activation"]] <- activation_codes[[layer$activation]]
      v[["bias"]] <- int(layer$bias)
    },
    activation = v[["activation"]] <- activation_codes[[layer$activation]],
    dropout = rate <- layer$rate,
    gru = , lstm = {
      v[["units"]] <- layer$units
      v[["num_layers"]] <- layer$num_layers
      v[["return_sequences"]] <- int(layer$return_sequences)
      rate <- layer$dropout
    },
    last_step = NULL,
    conv1d = {
      v[["units"]] <- layer$filters
      v[["kernel_size"]] <- layer$kernel_size
      v[["padding"]] <- padding_codes[[layer$padding]]
      v[["activation"]] <- activation_codes[[layer$activation]]
      v[["bias"]] <- int(layer$bias)
    },
    layer_norm = eps <- layer$eps,
    positional_encoding = {
      v[["variant"]] <- posenc_codes[[layer$type_encoding]]
      v[["max_len"]] <- layer$max_len
      rate <- layer$dropout
    },
    attention = {
      v[["units"]] <- int(layer$units)
      v[["key_dim"]] <- int(layer$key_dim)
      v[["score"]] <- score_codes[[layer$score]]
      if (!is.null(layer$window)) v[["window"]] <- layer$window
      v[["causal"]] <- int(layer$causal)
      v[["bias"]] <- int(layer$bias)
      v[["heads"]] <- 1L
    },
    multihead_attention = {
      v[["heads"]] <- layer$heads
      v[["key_dim"]] <- int(layer$key_dim)
      v[["causal"]] <- int(layer$causal)
      v[["bias"]] <- 1L
      rate <- layer$dropout
    },
    transformer_encoder = {
      v[["heads"]] <- layer$heads
      v[["d_ff"]] <- layer$d_ff
      v[["causal"]] <- int(layer$causal)
      v[["variant"]] <- int(layer$norm_first)
      v[["activation"]] <- activation_codes[[layer$activation]]
      rate <- layer$dropout
      eps <- layer$eps
    },
    seq2seq = {
      v[["units"]] <- layer$units
      v[["key_dim"]] <- int(layer$attention_units)
      v[["score"]] <- seq2seq_score_codes[[layer$attention]]
      v[["num_layers"]] <- 1L
      v[["d_ff"]] <- layer$horizon
      v[["heads"]] <- layer$output_dim
      v[["variant"]] <- if (identical(layer$cell, "lstm")) 1L else 0L
    }
  )
  list(unname(v), c(rate, eps))
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
