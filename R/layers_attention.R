# Layer specifications for attention, positional encoding and transformer blocks
# (convolution and layer normalisation: layers_conv_norm.R).

check_optional_count <- function(x, arg, min = 1L, call = sys.call(-1L)) {
  if (is.null(x)) return(NULL)
  check_count(x, arg, min, call = call)
}

#' Self-attention layer (single head)
#'
#' Learned projections `Q = x Wq^T`, `K = x Wk^T`, `V = x Wv^T` (in PyTorch terms an
#' `AttentionLayer(in_channels, out_channels, key_channels)` of three `Linear`s), scores of every query
#' against every key, a softmax over the keys, and the weighted sum of the values.
#' Scores: "dot" `q.k`; "scaled_dot" `q.k / sqrt(key_dim)`; "additive" (Bahdanau)
#' `v' tanh(q + k)` with a learned `v`; "cosine" the cosine similarity of `q` and `k`
#' times a learned scale `exp(log_scale)` (initially 10, so the softmax is not stuck
#' near uniform). Masked keys (causal, outside the window, or padding beyond a
#' sequence's valid length) get exactly zero weight.
#'
#' Weights: `query.weight` `[key_dim, in]`, `key.weight` `[key_dim, in]`,
#' `value.weight` `[units, in]` (and `.bias` when `bias = TRUE`), `score.weight`
#' `[1, key_dim]` for "additive", `log_scale` `[1]` for "cosine".
#'
#' @param units Width of the values and of the output; `NULL` keeps the input width.
#' @param key_dim Width of queries and keys; `NULL` uses `units` (or the input width).
#' @param score One of "dot", "scaled_dot", "additive", "cosine".
#' @param window `NULL` (all keys) or `w`: each query sees only keys within `+-w` steps
#'   (local attention).
#' @param causal `TRUE`: no query sees a later key.
#' @param bias Add biases to the projections.
#' @return A layer specification, for [sequential()].
#' @examples
#' layer_attention(units = 64, key_dim = 96, score = "dot")
#' layer_attention(score = "scaled_dot", window = 5, causal = TRUE)
#' @export
layer_attention <- function(units = NULL, key_dim = NULL, score = "scaled_dot", window = NULL,
                            causal = FALSE, bias = FALSE) {
  new_layer("attention",
            units = check_optional_count(units, "units"),
            key_dim = check_optional_count(key_dim, "key_dim"),
            score = check_choice(score, "score", score_choices),
            window = check_optional_count(window, "window", min = 0L),
            causal = check_flag(causal, "causal"),
            bias = check_flag(bias, "bias"))
}

#' Multi-head self-attention
#'
#' PyTorch's `nn.MultiheadAttention` used as self-attention (query = key = value = the
#' input): `heads` heads of width `input width / heads`, scaled dot-product scores,
#' attention dropout, and an output projection. The input width must be divisible by
#' `heads`; with a 1-dimensional series, project first with [layer_dense()].
#' Weights (PyTorch's names): `in_proj_weight` `[3E, E]`, `in_proj_bias` `[3E]`,
#' `out_proj.weight` `[E, E]`, `out_proj.bias` `[E]`. With `key_dim` given, queries and
#' keys have `heads * key_dim` columns and the projections are stored separately as
#' `q_proj_weight` `[heads * key_dim, E]`, `k_proj_weight`, `v_proj_weight` `[E, E]`;
#' PyTorch has no per-head key width, so only the default layout moves to and from
#' `nn.MultiheadAttention`. [attention()] returns the weights before attention dropout
#' (PyTorch returns them after).
#'
#' @param heads Number of heads, >= 1.
#' @param key_dim `NULL` (width / heads) or the query/key width of each head.
#' @param dropout Dropout on the attention weights while training, in `[0, 1)`.
#' @param causal `TRUE`: no query sees a later key.
#' @return A layer specification, for [sequential()].
#' @examples
#' sequential(layer_dense(16), layer_multihead_attention(heads = 4, causal = TRUE),
#'            layer_dense(1), input_dim = 1)
#' @export
layer_multihead_attention <- function(heads, key_dim = NULL, dropout = 0, causal = FALSE) {
  new_layer("multihead_attention",
            heads = check_count(heads, "heads"),
            key_dim = check_optional_count(key_dim, "key_dim"),
            dropout = check_number(dropout, "dropout", 0, 1, upper_open = TRUE),
            causal = check_flag(causal, "causal"))
}

#' Positional encoding
#'
#' `layer_positional_encoding()` adds a position signal to its input: the sinusoidal
#' encoding `P[i, 2j] = sin(i / 10000^(2j/d))`, `P[i, 2j+1] = cos(i / 10000^(2j/d))`
#' (positions from 0), or a learned table `weight` `[max_len, d]` (initialised from
#' N(0, 0.02^2)); then dropout. `positional_encoding()` returns the sinusoidal matrix
#' itself. Odd widths work (the last column is a sine).
#'
#' @param type "sinusoidal" or "learned".
#' @param max_len Longest sequence the layer accepts.
#' @param dropout Dropout after adding the encoding, in `[0, 1)`.
#' @return `layer_positional_encoding()`: a layer specification.
#'   `positional_encoding()`: a matrix `[length, d_model]`.
#' @examples
#' P <- positional_encoding(60, 32)
#' image(t(P), xlab = "dimension", ylab = "position")
#' sequential(layer_dense(16), layer_positional_encoding(), input_dim = 1)
#' @export
layer_positional_encoding <- function(type = "sinusoidal", max_len = 1000, dropout = 0) {
  new_layer("positional_encoding",
            type_encoding = check_choice(type, "type", encoding_choices),
            max_len = check_count(max_len, "max_len"),
            dropout = check_number(dropout, "dropout", 0, 1, upper_open = TRUE))
}

#' @rdname layer_positional_encoding
#' @param length Number of positions (rows), >= 1.
#' @param d_model Width of the encoding (columns), >= 1.
#' @export
positional_encoding <- function(length, d_model) {
  length <- check_count(length, "length")
  d_model <- check_count(d_model, "d_model")
  # a length x d_model matrix of doubles: absurd sizes are an error before any allocation
  n <- as.double(length) * d_model
  if (n > max_weights())
    stop(sprintf("`length` x `d_model` = %d x %d = %.0f values, more than options(tsattn.max_weights) = %.0f allows (%s GB as R doubles): ask for fewer positions or a narrower encoding",
                 length, d_model, n, max_weights(), format(signif(n * 8 / 1e9, 3))), call. = FALSE)
  .Call(C_positional_encoding, length, d_model)
}


#' Transformer encoder block
#'
#' PyTorch's `nn.TransformerEncoderLayer` with `batch_first = TRUE`: multi-head
#' self-attention and a feed-forward network (`d_ff` units, then back to the model
#' width), each with dropout, a residual connection and layer norm, after the block
#' (post-norm, PyTorch's default) or before it (`norm_first = TRUE`). Weight names are
#' PyTorch's: `self_attn.in_proj_weight`, `self_attn.in_proj_bias`,
#' `self_attn.out_proj.weight`, `self_attn.out_proj.bias`, `linear1.weight`,
#' `linear1.bias`, `linear2.weight`, `linear2.bias`, `norm1.weight`, `norm1.bias`,
#' `norm2.weight`, `norm2.bias`.
#'
#' @param heads Number of attention heads; the model width must be divisible by it.
#' @param d_ff Width of the feed-forward layer.
#' @param dropout Dropout rate (attention weights, feed-forward, residual branches).
#' @param causal `TRUE`: no query sees a later key.
#' @param norm_first Layer norm before each block instead of after.
#' @param activation Feed-forward activation, "relu" (PyTorch's default) or "gelu".
#' @param eps Layer norm epsilon.
#' @return A layer specification, for [sequential()].
#' @examples
#' sequential(layer_dense(32), layer_positional_encoding(),
#'            layer_transformer_encoder(heads = 4, d_ff = 64), layer_dense(1), input_dim = 1)
#' @export
layer_transformer_encoder <- function(heads, d_ff, dropout = 0, causal = FALSE,
                                      norm_first = FALSE, activation = "relu", eps = 1e-5) {
  new_layer("transformer_encoder",
            heads = check_count(heads, "heads"),
            d_ff = check_count(d_ff, "d_ff"),
            dropout = check_number(dropout, "dropout", 0, 1, upper_open = TRUE),
            causal = check_flag(causal, "causal"),
            norm_first = check_flag(norm_first, "norm_first"),
            activation = check_choice(activation, "activation", c("relu", "gelu")),
            eps = check_number(eps, "eps", 0, lower_open = TRUE))
}
