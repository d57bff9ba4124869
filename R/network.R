#' A network from a sequence of layers
#'
#' Chains layers over `[batch, time, features]` arrays. The network is built (its
#' weights allocated and initialised) when the number of input features is known:
#' from `input_dim`, or at the first [fit()]. Initialisation draws from R's random
#' number generator, so `set.seed()` makes it repeat.
#'
#' @param ... Layers, e.g. from [layer_gru()] and [layer_dense()].
#' @param input_dim Number of input features, or `NULL` to take it from the data at
#'   the first [fit()].
#' @return A `tsattn_network`: a plain R list (`layers`, `input_dim`, `weights`,
#'   `history`, and once built `built_layers`, the layers its weights were made for)
#'   that survives `saveRDS()`. Editing `layers` of a built network (heads,
#'   activation, padding, window, ...) is an error naming the field when the network is
#'   next used: make a new network, and move weights that still fit with
#'   [set_weights()].
#' @examples
#' net <- sequential(layer_gru(4, num_layers = 2), layer_dense(1, activation = "tanh"),
#'                   input_dim = 1)
#' net
#' @export
sequential <- function(..., input_dim = NULL) {
  layers <- list(...)
  if (length(layers) == 0L) stop_arg("...", "at least one layer", "no layers")
  for (i in seq_along(layers)) {
    if (!inherits(layers[[i]], "tsattn_layer"))
      stop_arg(sprintf("..%d", i), "a layer (e.g. from layer_dense())", describe(layers[[i]]))
  }
  net <- structure(list(layers = layers, input_dim = NULL, weights = NULL, history = NULL),
                   class = "tsattn_network")
  if (!is.null(input_dim)) net <- build_network(net, check_count(input_dim, "input_dim"))
  net
}

# the layers as the glue reads them: one named list per layer (layer_spec())
network_spec <- function(net) {
  sync_threads() # every call into the core builds a spec first
  lapply(net$layers, layer_spec)
}

# names and shapes of the weights, per-layer sizes, and the output time of every layer
# for inputs of `T` steps (0 when T is too short for a layer)
network_layout <- function(net, input_dim = net$input_dim, T = 1L) {
  s <- network_spec(net)
  # a layer that cannot be built (e.g. heads not dividing the width) is the user's
  # error, not one of this internal call: re-raise it without the call
  tryCatch(.Call(C_net_layout, s, as.integer(input_dim), as.integer(T)),
           error = function(e) stop(conditionMessage(e), call. = FALSE))
}

is_built <- function(net) !is.null(net$input_dim) && !is.null(net$weights)

# a seed for the C generator, drawn from R's RNG so that set.seed() governs it
draw_seed <- function() as.double(sample.int(.Machine$integer.max, 1L))

build_network <- function(net, input_dim, seed = draw_seed()) {
  s <- network_spec(net)
  layout <- network_layout(net, input_dim)
  check_weight_count(net, layout)
  flat <- .Call(C_net_init, s, as.integer(input_dim), as.double(seed))
  net$input_dim <- as.integer(input_dim)
  net$weights <- unflatten_weights(flat, layout)
  net$built_layers <- net$layers
  net
}

# A network whose weights would not fit in memory (layer_dense(1e9): two billion weights,
# 16 GB as R doubles and 8 GB more in the core) is an error naming the layer and its
# size, before any weight is allocated. The limit is options(tsattn.max_weights), by
# default 2^28 (268 million weights: 2 GiB as R doubles).
max_weights <- function() {
  m <- getOption("tsattn.max_weights", 2^28)
  if (!is.numeric(m) || length(m) != 1L || is.na(m) || m < 1)
    stop_arg("options(tsattn.max_weights)", "a single number >= 1", describe(m), call = NULL)
  m
}
check_weight_count <- function(net, layout, call = sys.call(-1L)) {
  n <- layout$n_params
  lim <- max_weights()
  if (n <= lim) return(invisible(TRUE))
  lp <- layout$layer_params
  i <- which.max(lp)
  stop(sprintf("the network would have %.0f weights, more than options(tsattn.max_weights) = %.0f allows (%s GB as R doubles); layer %d, %s, has %.0f of them: give it fewer units (or a smaller input)",
               n, lim, format(signif(n * 8 / 1e9, 3)), i, layer_label(net$layers[[i]]), lp[[i]]),
       call. = FALSE)
}

# Edits of $layers after the network was built (heads, activation, padding, window, ...)
# would give its weights another meaning, silently: they are an error naming the field.
# `built_layers` (set when the weights are made or set) holds the layers as they were;
# objects without it (made before it existed) are not checked.
check_layers_unchanged <- function(object, arg = "object", call = sys.call(-1L)) {
  built <- object$built_layers
  cur <- object$layers
  if (is.null(built) || identical(cur, built)) return(invisible(TRUE))
  if (!is.list(built))
    stop_arg(sprintf("%s$built_layers", arg), "the list of layers the network was built with",
             describe(built), call = call)
  if (!is.list(cur) || length(cur) != length(built))
    stop_arg(sprintf("%s$layers", arg),
             sprintf("the %d layer%s the network was built with", length(built),
                     if (length(built) > 1L) "s" else ""),
             describe(cur), call = call)
  for (i in seq_along(built)) {
    a <- built[[i]]
    b <- cur[[i]]
    if (identical(a, b)) next
    if (!inherits(b, "tsattn_layer"))
      stop_arg(sprintf("%s$layers[[%d]]", arg, i), sprintf("the layer %s", layer_label(a)),
               describe(b), call = call)
    fields <- union(names(a), names(b))
    changed <- fields[!vapply(fields, function(f) identical(a[[f]], b[[f]]), TRUE)]
    f <- if (length(changed)) changed[[1L]] else "class"
    stop_arg(sprintf("%s$layers[[%d]]$%s", arg, i, f),
             sprintf("%s, as when the network was built (its weights belong to those layers; make a new network with sequential() for other settings)",
                     describe(a[[f]])),
             describe(b[[f]]), call = call, verb = "be")
  }
  invisible(TRUE)
}

# Checks that a network object is built and whole: every weight present, of the right
# shape and finite. A truncated or edited object is an R error here, never a bad read.
check_network <- function(object, arg = "object", call = sys.call(-1L)) {
  if (!inherits(object, "tsattn_network"))
    stop_arg(arg, "a network made with sequential()", describe(object), call = call)
  if (is.null(object$input_dim) || is.null(object$weights))
    stop_arg(arg, "a built network (give `input_dim` to sequential() or call fit() first)",
             "an unbuilt network", call = call)
  check_count(object$input_dim, sprintf("%s$input_dim", arg), call = call)
  layout <- network_layout(object)
  check_layers_unchanged(object, arg, call = call)
  check_weight_list(object$weights, layout, sprintf("%s$weights", arg), call = call)
  invisible(layout)
}

#' @export
print.tsattn_network <- function(x, ...) {
  built <- !is.null(x$input_dim)
  cat("<tsattn network> ", length(x$layers), " layer", if (length(x$layers) > 1) "s", sep = "")
  if (built) {
    layout <- network_layout(x)
    cat(", ", format(layout$n_params, big.mark = ","), " parameters, input ", x$input_dim,
        " feature", if (x$input_dim > 1) "s", "\n", sep = "")
    # time labels: "time", "time - k" after valid convolutions, "1" after the last step
    t_lab <- character(length(x$layers))
    shrink <- 0L
    one <- FALSE
    for (i in seq_along(x$layers)) {
      l <- x$layers[[i]]
      if (!layout$keeps_time[i]) one <- TRUE
      if (identical(l$type, "conv1d") && identical(l$padding, "valid")) shrink <- shrink + l$kernel_size - 1L
      t_lab[i] <- if (one) "1" else if (shrink > 0L) sprintf("time - %d", shrink) else "time"
    }
    out <- sprintf("[batch, %s, %d]", t_lab, layout$layer_out_dim)
    params <- format(layout$layer_params, big.mark = ",")
  } else {
    cat(" (not built: input features unknown until fit())\n")
    out <- rep("?", length(x$layers))
    params <- rep("?", length(x$layers))
  }
  tab <- data.frame(layer = vapply(x$layers, layer_label, ""), output = out, params = params)
  rownames(tab) <- seq_len(nrow(tab))
  print(tab, right = FALSE)
  if (!is.null(x$history) && nrow(x$history) > 0L) {
    h <- x$history
    cat(sprintf("trained: %d epochs, last loss %.4g", nrow(h), h$loss[nrow(h)]))
    if (any(!is.na(h$val_loss))) cat(sprintf(", last val_loss %.4g", h$val_loss[nrow(h)]))
    cat("\n")
  }
  invisible(x)
}

#' @export
summary.tsattn_network <- function(object, ...) {
  structure(list(network = object), class = "summary.tsattn_network")
}

#' @export
print.summary.tsattn_network <- function(x, ...) {
  print(x$network)
  h <- x$network$history
  if (!is.null(h) && nrow(h) > 0L) {
    cat(sprintf("loss: first %.4g, best %.4g (epoch %d), last %.4g\n", h$loss[1L], min(h$loss),
                which.min(h$loss), h$loss[nrow(h)]))
    if (any(!is.na(h$val_loss)))
      cat(sprintf("val_loss: best %.4g (epoch %d), last %.4g\n", min(h$val_loss, na.rm = TRUE),
                  which.min(h$val_loss), h$val_loss[nrow(h)]))
  }
  invisible(x)
}

# tests only: poison_workspaces(TRUE) fills every CPU workspace with NaN bytes before use
# (src/ta_net.c), so that a layer reading workspace it has not written changes its results;
# returns the previous setting
poison_workspaces <- function(on) .Call(C_poison_workspaces, on)

# options(tsattn.threads = n) sets the core's OpenMP threads (NULL or 0: all cores); returns
# the count a parallel region would now get: capped at the processors, and 1 in a forked
# child unless set there and safe (src/ta_threads.h)
sync_threads <- function() {
  n <- getOption("tsattn.threads")
  if (is.null(n)) n <- 0L
  .Call(C_set_threads, n)
}
