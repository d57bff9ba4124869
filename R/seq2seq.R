# Recurrent encoder-decoder with attention (the C layer src/layer_seq2seq.c).

# the scores seq2seq() offers (names of the core's one score enum, as layer_attention()'s)
seq2seq_score_choices <- c("additive", "dot", "general")

seq2seq_cell <- function(x, arg, call) {
  if (!inherits(x, c("tsattn_layer_gru", "tsattn_layer_lstm")))
    stop_arg(arg, "a recurrent layer from layer_gru() or layer_lstm()", describe(x), call = call)
  if (x$num_layers != 1L)
    stop_arg(arg, "a single recurrent layer (num_layers = 1)",
             sprintf("num_layers = %d", x$num_layers), call = call, verb = "be")
  x$type
}

#' Sequence-to-sequence network with attention
#'
#' A recurrent encoder-decoder for multi-step forecasting (Bahdanau et al. 2015;
#' Luong et al. 2015). The encoder (a GRU or LSTM) reads the lookback window and keeps
#' its hidden state `h_j` at every step. The decoder, a cell of the same kind that
#' starts from the encoder's final state (and, for LSTM, its cell state), produces one
#' forecast step at a time: at step `t` it scores its previous state `s` against every
#' encoder state,
#' * "additive" (Bahdanau): `v' tanh(W_s s + W_h h_j)`,
#' * "dot" (Luong): `s . h_j`,
#' * "general" (Luong): `s' W h_j`,
#'
#' turns the scores into weights with a softmax over the window, mixes the encoder
#' states into a context vector `c_t = sum_j a_tj h_j`, takes `[y_prev, c_t]` as its
#' input, and emits `y_t = W_o [s_t; c_t] + b_o`.
#'
#' The first `output_dim` input features are the series being forecast: the first
#' decoder input `y_prev` is their last observed value. After that, `y_prev` is the
#' true previous value while training ([fit()], teacher forcing) and the decoder's own
#' previous forecast otherwise ([predict()], greedy decoding). With `lengths` (padded
#' windows), the encoder's state and the observed values at the last valid step start
#' the decoder and padded steps get exactly zero attention weight.
#'
#' The network is one layer of type "seq2seq"; its weights (from [get_weights()], with
#' the layer prefix `0.`) follow PyTorch's names and shapes, with `H` the hidden size,
#' `G` the gates (GRU 3: r, z, n; LSTM 4: i, f, g, o), `F` the input features, `O` =
#' `output_dim` and `A` = `attention_units`:
#' `encoder.weight_ih_l0` `[G*H, F]`, `encoder.weight_hh_l0` `[G*H, H]`,
#' `encoder.bias_ih_l0`, `encoder.bias_hh_l0` `[G*H]`; `decoder.weight_ih_l0`
#' `[G*H, O + H]` (columns: `y_prev`, then the context), `decoder.weight_hh_l0`,
#' `decoder.bias_ih_l0`, `decoder.bias_hh_l0`; for "additive" `attention.W_s` `[A, H]`,
#' `attention.W_h` `[A, H]`, `attention.v` `[A]`; for "general" `attention.W` `[H, H]`;
#' none for "dot"; `output.weight` `[O, 2H]` (columns: `s_t`, then the context) and
#' `output.bias` `[O]`. They are initialised as PyTorch would: uniform in
#' `+-1/sqrt(H)` for the cells, `nn.Linear`'s bounds (`1/sqrt(fan_in)`) for the rest.
#'
#' [attention()] returns, for the one layer, the weights `[batch, horizon, lookback]`
#' (query = forecast step, key = window step).
#'
#' @param encoder,decoder Both [layer_gru()] or both [layer_lstm()], with one layer
#'   each and the same `units` (the decoder starts from the encoder's state). Their
#'   `dropout` and `return_sequences` are not used.
#' @param attention One of "additive", "dot", "general".
#' @param horizon Number of steps forecast, a whole number >= 1.
#' @param output_dim Number of series forecast (the first `output_dim` input features).
#' @param attention_units Width `A` of the additive score's hidden layer; `NULL` uses
#'   the hidden size. Only for `attention = "additive"`.
#' @param input_dim Number of input features, or `NULL` to take it from the data at
#'   the first [fit()].
#' @return A `tsattn_network` (as from [sequential()], with the extra class
#'   `tsattn_seq2seq`) for [fit()], [predict()] (`[batch, horizon, output_dim]`),
#'   [attention()] and [get_weights()].
#' @examples
#' net <- seq2seq(layer_gru(8), layer_gru(8), attention = "additive", horizon = 3,
#'                input_dim = 1)
#' net
#' s <- sin(seq_len(60) / 3)
#' x <- t(sapply(1:40, function(i) s[i:(i + 11)]))           # windows of 12 steps
#' y <- t(sapply(1:40, function(i) s[(i + 12):(i + 14)]))    # the next 3 values
#' net <- fit(net, x, y, epochs = 5, optimizer = optimizer_adam(lr = 0.01), seed = 1)
#' dim(predict(net, x[1:2, ]))
#' dim(attention(net, x[1:2, ])[[1]])
#' @export
seq2seq <- function(encoder = layer_gru(32), decoder = layer_gru(32), attention = "additive",
                    horizon = 1, output_dim = 1, attention_units = NULL, input_dim = NULL) {
  call <- sys.call()
  cell <- seq2seq_cell(encoder, "encoder", call)
  dcell <- seq2seq_cell(decoder, "decoder", call)
  if (dcell != cell)
    stop_arg("decoder", sprintf("a layer_%s() like `encoder`", cell),
             sprintf("a layer_%s()", dcell), call = call)
  if (decoder$units != encoder$units)
    stop_arg("decoder", sprintf("of units = %d, as `encoder` (the decoder starts from the encoder's final state)",
                                encoder$units),
             sprintf("units = %d", decoder$units), call = call, verb = "be")
  attention <- check_choice(attention, "attention", seq2seq_score_choices, call = call)
  horizon <- check_count(horizon, "horizon", call = call)
  output_dim <- check_count(output_dim, "output_dim", call = call)
  if (!is.null(attention_units)) {
    if (attention != "additive")
      stop_arg("attention_units", sprintf("NULL for attention = \"%s\" (it sets the additive score's width)",
                                          attention),
               describe(attention_units), call = call)
    attention_units <- check_count(attention_units, "attention_units", call = call)
  }
  if (!is.null(input_dim)) {
    input_dim <- check_count(input_dim, "input_dim", call = call)
    if (input_dim < output_dim)
      stop_arg("input_dim", sprintf("at least output_dim = %d (the first output_dim features are the series forecast)",
                                    output_dim),
               format(input_dim), call = call)
  }
  layer <- new_layer("seq2seq", cell = cell, units = encoder$units, attention = attention,
                     attention_units = attention_units, horizon = horizon,
                     output_dim = output_dim, encoder = encoder, decoder = decoder)
  net <- sequential(layer, input_dim = input_dim)
  class(net) <- c("tsattn_seq2seq", class(net))
  net
}

#' @export
print.tsattn_seq2seq <- function(x, ...) {
  l <- x$layers[[1L]]
  cat("<tsattn seq2seq> ", l$cell, " encoder-decoder, ", l$units, " units, ", l$attention,
      " attention", if (!is.null(l$attention_units)) sprintf(" (%d units)", l$attention_units),
      ", horizon ", l$horizon, "\n", sep = "")
  if (!is.null(x$input_dim)) {
    layout <- network_layout(x)
    cat("input [batch, lookback, ", x$input_dim, "] -> output [batch, ", l$horizon, ", ",
        l$output_dim, "], ", format(layout$n_params, big.mark = ","), " parameters\n", sep = "")
  } else {
    cat("not built: input features unknown until fit()\n")
  }
  if (!is.null(x$history) && nrow(x$history) > 0L) {
    h <- x$history
    cat(sprintf("trained: %d epochs, last loss %.4g", nrow(h), h$loss[nrow(h)]))
    if (any(!is.na(h$val_loss))) cat(sprintf(", last val_loss %.4g", h$val_loss[nrow(h)]))
    cat("\n")
  }
  invisible(x)
}
