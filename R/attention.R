#' Attention weights
#'
#' For a network, the attention weights its attention layers give on `x`: a list with
#' one array per attention layer (named `layer_<i>`), `[batch, query, key]` for a single
#' head and `[batch, query, key, head]` for several. Every row sums to 1 over the keys a
#' query may see; masked keys have weight exactly 0. Nothing is computed for this
#' unless you ask: training and `predict()` do not copy the weights out.
#'
#' @param object A network, a fitted model ([tsattn()], a collection or an ensemble) or
#'   a forecast.
#' @param ... Passed to methods: for networks `x` (inputs as for [predict()]) and
#'   `lengths` (valid steps per sequence, or `NULL`).
#' @return A named list of arrays.
#' @examples
#' net <- sequential(layer_dense(8), layer_multihead_attention(heads = 2), input_dim = 1)
#' a <- attention(net, array(rnorm(10), c(1, 10, 1)))
#' dim(a[[1]])
#' @export
attention <- function(object, ...) UseMethod("attention")

#' @rdname attention
#' @param x Inputs `[batch, time, features]`.
#' @param lengths `NULL` or the number of valid (unpadded) steps of each sequence.
#' @param device "cpu", "cuda" or "auto", as in [fit()].
#' @export
attention.tsattn_network <- function(object, x, lengths = NULL, device = "cpu", ...) {
  layout <- check_network(object)
  x <- as_seq_array(x, "x")
  check_features(x, object)
  lengths <- check_lengths(lengths, x)
  device <- check_device(device, object)
  s <- network_spec(object)
  res <- .Call(C_net_attention, s, object$input_dim, flatten_weights(object$weights, layout),
               to_core(x), dim(x), lengths, device_id(device))
  out <- lapply(res, function(r) {
    d <- r$dims # B, heads, Tq, Tk (row-major)
    a <- aperm(array(r$weights, rev(d)), c(4L, 2L, 1L, 3L)) # [B, Tq, Tk, heads]
    if (d[2L] == 1L) a <- array(a, d[c(1L, 3L, 4L)])
    a
  })
  names(out) <- vapply(res, function(r) sprintf("layer_%d", r$layer), "")
  out
}
