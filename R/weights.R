# Weights are a named list of R arrays with PyTorch's state_dict names and shapes,
# prefixed by the 0-based layer position as in nn.Sequential ("0.weight_ih_l0").
# The C core reads one flat row-major float block; these convert between the two.

unflatten_weights <- function(flat, layout) {
  out <- vector("list", length(layout$names))
  names(out) <- layout$names
  pos <- 0
  for (k in seq_along(layout$names)) {
    shape <- layout$shapes[[k]]
    n <- prod(shape)
    v <- flat[pos + seq_len(n)]
    pos <- pos + n
    out[[k]] <- if (length(shape) == 1L) v else aperm(array(v, rev(shape)))
  }
  out
}

flatten_weights <- function(weights, layout) {
  # by position after one match() (hashed): weights[[name]] per tensor is a linear search,
  # quadratic in the tensors of a deep stack (num_layers = 1e4 has 40,000)
  parts <- lapply(weights[match(layout$names, names(weights))], function(w) {
    if (length(dim(w)) >= 2L) as.double(aperm(w)) else as.double(w)
  })
  if (length(parts) == 0L) return(double())
  unlist(parts, use.names = FALSE)
}

check_weight_list <- function(weights, layout, arg, call = sys.call(-1L)) {
  if (!is.list(weights))
    stop_arg(arg, "a named list of arrays (as from get_weights())", describe(weights), call = call)
  nms <- names(weights)
  if (is.null(nms)) nms <- rep("", length(weights))
  missing <- setdiff(layout$names, nms)
  if (length(missing))
    stop_arg(arg, "a list with every weight of the network",
             sprintf("a list missing %s", paste0("\"", missing, "\"", collapse = ", ")), call = call)
  extra <- setdiff(nms, layout$names)
  if (length(extra))
    stop_arg(arg, "a list with only the network's weights",
             sprintf("a list with unknown name%s %s", if (length(extra) > 1) "s" else "",
                     paste0("\"", extra, "\"", collapse = ", ")), call = call)
  at <- match(layout$names, nms) # every name is there (above); first of duplicates, as [[
  for (k in seq_along(layout$names)) {
    nm <- layout$names[[k]]
    w <- weights[[at[k]]]
    shape <- layout$shapes[[k]]
    el <- sprintf("%s[[\"%s\"]]", arg, nm)
    if (!is.numeric(w))
      stop_arg(el, "numeric", describe(w), call = call)
    d <- dim(w)
    if (is.null(d)) d <- length(w)
    if (length(d) != length(shape) || any(d != shape))
      stop_arg(el, sprintf("of shape %s", paste(shape, collapse = " x ")),
               sprintf("shape %s", paste(d, collapse = " x ")), call = call)
    if (any(!is.finite(w)))
      stop_arg(el, "free of NA, NaN and Inf", sprintf("%d such values", sum(!is.finite(w))), call = call)
  }
  invisible(TRUE)
}

#' Get and set a network's weights
#'
#' The weights are a named list of arrays whose names and shapes follow PyTorch's
#' `state_dict` for the same layers, prefixed by the 0-based position of the layer as
#' in `nn.Sequential`: `"0.weight_ih_l0"`, `"0.weight_hh_l0"`, `"0.bias_ih_l0"`,
#' `"0.bias_hh_l0"`, `"1.weight"`, `"1.bias"`, ... Matrices are `[out, in]` as in
#' PyTorch, so weights move between the two by name.
#'
#' @param object A network from [sequential()].
#' @param weights A named list with exactly the names and shapes `get_weights()` gives.
#'   If the network is not built yet, its input size is taken from the first weight.
#' @return `get_weights()`: the named list. `set_weights()`: the network with the
#'   new weights, which from then on belong to its layers as they are (see
#'   [sequential()] on editing layers).
#' @examples
#' net <- sequential(layer_gru(4), layer_dense(1), input_dim = 2)
#' w <- get_weights(net)
#' str(w)
#' w[["1.bias"]] <- 0.5
#' net <- set_weights(net, w)
#' @export
get_weights <- function(object) {
  check_network(object)
  object$weights
}

#' @rdname get_weights
#' @export
set_weights <- function(object, weights) {
  if (!inherits(object, "tsattn_network"))
    stop_arg("object", "a network made with sequential()", describe(object))
  if (!is.list(weights))
    stop_arg("weights", "a named list of arrays (as from get_weights())", describe(weights))
  input_dim <- object$input_dim
  if (is.null(input_dim)) {
    # every parameter-free layer keeps the feature size, so the first weight matrix
    # of the first layer with parameters tells the input size
    probe <- network_layout(object, 1L)
    if (length(probe$names) == 0L)
      stop_arg("object", "a network with weights", "a network without parameters")
    first <- weights[[probe$names[[1L]]]]
    if (length(dim(first)) != 2L)
      stop_arg(sprintf("weights[[\"%s\"]]", probe$names[[1L]]), "a matrix [out, in]", describe(first))
    input_dim <- ncol(first)
  }
  layout <- network_layout(object, input_dim)
  check_weight_list(weights, layout, "weights")
  object$input_dim <- as.integer(input_dim)
  object$weights <- lapply(weights[layout$names], function(w) {
    if (length(dim(w)) >= 2L) array(as.double(w), dim(w)) else as.double(w)
  })
  object$built_layers <- object$layers # these weights are given for these layers
  object
}
