# The device a computation runs on: "cpu", or "cuda" with attribute "id" (the CUDA
# device to use), or an error saying why the GPU cannot be used.
# With `object` (a network: fit(), predict(), attention(), forecasts): "cuda" runs it
# on the GPU when every layer has a GPU path (cuda_unsupported()), and is an error
# naming the first layer without one otherwise; "auto" means the GPU when every layer
# has one and a device is usable, else the CPU. Without `object` (tsattn(), before its
# network exists) only the build and the device are checked.
check_device <- function(device, object = NULL, call = sys.call(-1L)) {
  device <- check_choice(device, "device", c("cpu", "cuda", "auto"), call = call)
  if (device == "cpu") return("cpu")
  if (device == "auto") {
    if ((!is.null(object) && !is.null(cuda_unsupported(object))) || !cuda_available())
      return("cpu")
    return(structure("cuda", id = cuda_device_id()))
  }
  prefix <- "`device` is \"cuda\" but "
  if (!is.null(object)) {
    why <- cuda_unsupported(object)
    if (!is.null(why)) stop(simpleError(paste0(prefix, why, "; use device = \"cpu\""), call))
  }
  prefix <- paste0(prefix, "no CUDA device can be used: ")
  if (!cuda_built())
    stop(simpleError(paste0(prefix, cuda_not_built_reason(),
                            "; use device = \"cpu\" or reinstall tsattn with a CUDA toolkit"), call))
  devs <- cuda_devices()
  if (!any(devs$usable)) # the reason carries CUDA's own text (no driver, no device, ...)
    stop(simpleError(paste0(prefix, attr(devs, "reason"), "; use device = \"cpu\""), call))
  structure("cuda", id = devs$id[devs$usable][1L])
}

# the last argument of the glue's network actions (src/api_backend.h): the CUDA device id
# of check_device()'s answer, -1 for the CPU
device_id <- function(device) if (is.null(attr(device, "id"))) -1L else attr(device, "id")

# Two seeds for the C generator (initialisation, training), drawn from R's RNG: with
# `seed = NULL` from the session's stream, so set.seed() governs the run; with
# `seed = s` exactly as after set.seed(s), leaving the session's stream untouched.
check_seed <- function(seed, call = sys.call(-1L)) {
  if (is.null(seed)) return(c(draw_seed(), draw_seed()))
  if (!is.numeric(seed) || length(seed) != 1L || !is.finite(seed) || seed != round(seed) ||
      abs(seed) > .Machine$integer.max)
    stop_arg("seed", "NULL or a whole number", describe(seed), call = call)
  with_seed(seed, c(draw_seed(), draw_seed()))
}

with_seed <- function(seed, expr) {
  env <- globalenv()
  old <- if (exists(".Random.seed", envir = env, inherits = FALSE)) get(".Random.seed", envir = env)
  on.exit(if (is.null(old)) rm(".Random.seed", envir = env) else assign(".Random.seed", old, envir = env))
  set.seed(seed)
  expr
}

# the targets must match the network's output for these inputs
# time steps of the network's output for inputs of T steps (an error if T is too short)
out_time <- function(object, T, arg = "x", call = sys.call(-2L)) {
  lt <- network_layout(object, T = T)$layer_out_time
  if (any(lt == 0L)) {
    i <- which(lt == 0L)[1L]
    l <- object$layers[[i]]
    why <- switch(l$type,
      positional_encoding = sprintf("at most max_len = %d time steps", l$max_len),
      conv1d = sprintf("at least kernel_size = %d time steps", l$kernel_size),
      "more time steps")
    stop_arg(arg, sprintf("a length that layer %d (%s) accepts: %s", i, layer_label(l), why),
             sprintf("%d time steps", T), call = call, verb = "have")
  }
  lt[length(lt)]
}

check_targets <- function(y, x, layout, arg = "y", call = sys.call(-1L), object = NULL) {
  t_out <- if (is.null(object)) dim(x)[2L] else out_time(object, dim(x)[2L], call = call)
  want <- c(dim(x)[1L], t_out, layout$out_dim)
  if (dim(y)[1L] != want[1L])
    stop_arg(arg, sprintf("%d sequences, as many as `x`", want[1L]), sprintf("%d", dim(y)[1L]),
             call = call, verb = "have")
  if (dim(y)[2L] != want[2L])
    stop_arg(arg, sprintf("%d time step%s per sequence (the network's output for `x` of %d steps)",
                          want[2L], if (want[2L] > 1) "s" else "", dim(x)[2L]),
             sprintf("%d", dim(y)[2L]), call = call, verb = "have")
  if (dim(y)[3L] != want[3L])
    stop_arg(arg, sprintf("%d feature%s (the network's output size)", want[3L],
                          if (want[3L] > 1) "s" else ""),
             sprintf("%d", dim(y)[3L]), call = call, verb = "have")
  invisible(y)
}

# valid lengths: NULL, or one whole number in [1, time] per sequence
check_lengths <- function(lengths, x, arg = "lengths", call = sys.call(-1L)) {
  if (is.null(lengths)) return(NULL)
  if (!is.numeric(lengths) || length(lengths) != dim(x)[1L] || anyNA(lengths) ||
      any(lengths != round(lengths)))
    stop_arg(arg, sprintf("NULL or %d whole numbers, one per sequence", dim(x)[1L]),
             describe(lengths), call = call)
  bad <- lengths < 1 | lengths > dim(x)[2L]
  if (any(bad))
    stop_arg(arg, sprintf("between 1 and %d (the number of time steps)", dim(x)[2L]),
             sprintf("%g (sequence %d)", lengths[bad][1L], which(bad)[1L]), call = call)
  as.integer(lengths)
}

check_features <- function(x, object, arg = "x", call = sys.call(-1L)) {
  if (dim(x)[3L] != object$input_dim)
    stop_arg(arg, sprintf("%d feature%s per step (the network's input size)", object$input_dim,
                          if (object$input_dim > 1) "s" else ""),
             sprintf("%d", dim(x)[3L]), call = call, verb = "have")
}

#' Train a network
#'
#' Trains with mini-batches in the C core: shuffled batches each epoch, the chosen
#' optimizer and loss, optional gradient-norm clipping, a validation set for
#' monitoring and early stopping (restoring the best weights). Training stops with a
#' warning, keeping the last finite weights, if the loss becomes NaN or infinite.
#'
#' @param object A network from [sequential()].
#' @param x Inputs `[batch, time, features]` (a matrix is `[batch, time]` with one
#'   feature, a vector one sequence of one feature).
#' @param y Targets, shaped as the network's output for `x`: `[batch, time, out]`, or
#'   `[batch, 1, out]` when the network keeps only the last step.
#' @param epochs Passes over the data, >= 1.
#' @param batch_size Sequences per gradient step, >= 1 (capped at the data size).
#' @param optimizer From [optimizer_adam()] or [optimizer_sgd()].
#' @param loss "mse" or "mae", averaged over all output values.
#' @param validation_split Fraction in `[0, 1)` of the sequences, taken from the end
#'   (before shuffling), held out for validation.
#' @param patience `NULL`, or stop after this many epochs without improvement of the
#'   validation loss and restore the best weights. Needs validation data
#'   (`validation_split` or `validation_data`); without it `patience` is an error, as
#'   the training loss (a running mean over each epoch's batches) does not measure the
#'   weights an epoch ends with.
#' @param shuffle Shuffle the sequences every epoch.
#' @param seed `NULL` (draw from R's RNG, so `set.seed()` governs the run) or a whole
#'   number, which gives the run that `set.seed(seed)` would, without touching the
#'   session's random stream. The same seed gives the same run, bit for bit, on the CPU
#'   (initialisation, when the network is built here, included).
#' @param device "cpu", "cuda" or "auto" (the GPU when one is usable and every layer
#'   of the network has a GPU path, else the CPU). The GPU trains with the same
#'   batches, optimizer, clipping, validation, early stopping and `lengths` as the CPU
#'   (results agree to float32 rounding, not bit for bit; a seed repeats exactly on the
#'   same GPU; dropout masks are the GPU's own draws, not the CPU's). A layer without a
#'   GPU path makes "cuda" an error naming it; see [cuda_available()] for why a GPU
#'   may not be usable.
#' @param verbose Print the loss during training.
#'
#'   The core uses OpenMP for large matrix products and attention blocks:
#'   `options(tsattn.threads = n)` sets the number of threads (default: all cores;
#'   never more than the processors OpenMP may use); results do not depend on it.
#'   In a forked child (`parallel::mclapply()`, `future`'s multicore) the core runs on
#'   one thread, as GNU OpenMP's thread pool does not survive `fork()`. A count set in
#'   the child (a value other than the parent's) is honoured only when tsattn had not
#'   asked for more than one thread in the parent before the fork.
#' @param clipnorm `NULL` or the largest global L2 norm of the gradient.
#' @param validation_data `NULL` or `list(x, y)` (or `list(x, y, lengths)`), used
#'   instead of `validation_split`.
#' @param lengths `NULL` or the number of valid steps of each sequence (d2l's
#'   `valid_lens`): attention gives padded keys zero weight and the loss skips padded
#'   steps.
#' @param ... Not used.
#' @return The trained network; `$history` is a data frame of `epoch`, `loss`,
#'   `val_loss` (appended to by later fits).
#'
#'   An interrupt (Ctrl-C) stops training at the next mini-batch and keeps the
#'   completed epochs: it is signalled as a condition of class
#'   `c("tsattn_interrupt", "interrupt", "condition")` whose `object` is the network
#'   with the weights that `epochs = k` would have given for the `k` completed epochs
#'   (with `patience`, the best of them) and their `$history`. Catch it with
#'   `tryCatch(fit(...), interrupt = function(e) e$object)`; without a handler the
#'   interrupt returns to the top level and [interrupted_fit()] returns the network.
#' @examples
#' s <- sin(seq(0, 2 * pi * 5, length.out = 201))
#' x <- array(s[1:200], c(1, 200, 1)); y <- array(s[2:201], c(1, 200, 1))
#' net <- sequential(layer_gru(4, num_layers = 2), layer_dense(1, activation = "tanh"))
#' net <- fit(net, x, y, epochs = 30, batch_size = 1,
#'            optimizer = optimizer_adam(lr = 0.01), seed = 1)
#' tail(net$history)
#' @export
fit.tsattn_network <- function(object, x, y, epochs = 10, batch_size = 32,
                               optimizer = optimizer_adam(), loss = "mse",
                               validation_split = 0, patience = NULL, shuffle = TRUE,
                               seed = NULL, device = "cpu", verbose = interactive(),
                               clipnorm = NULL, validation_data = NULL, lengths = NULL, ...) {
  call <- sys.call()
  x <- as_seq_array(x, "x")
  y <- as_seq_array(y, "y")
  lengths <- check_lengths(lengths, x)
  validation_split <- check_number(validation_split, "validation_split", 0, 1, upper_open = TRUE)
  st <- check_fit_settings(epochs, batch_size, optimizer, loss, patience, shuffle, verbose,
                           clipnorm, call)
  patience <- st$patience
  nw <- fit_network(object, dim(x)[3L], seed, device, call)
  object <- nw$object
  layout <- nw$layout
  check_features(x, object)
  check_targets(y, x, layout, object = object)

  lv <- NULL
  if (!is.null(validation_data)) {
    if (!is.list(validation_data) || !length(validation_data) %in% 2:3)
      stop_arg("validation_data", "NULL, list(x, y) or list(x, y, lengths)", describe(validation_data))
    xv <- as_seq_array(validation_data[[1L]], "validation_data$x")
    yv <- as_seq_array(validation_data[[2L]], "validation_data$y")
    if (length(validation_data) == 3L)
      lv <- check_lengths(validation_data[[3L]], xv, "validation_data$lengths")
    check_features(xv, object, "validation_data$x")
    if (dim(xv)[2L] != dim(x)[2L])
      stop_arg("validation_data$x", sprintf("%d time steps, as `x`", dim(x)[2L]), dim(xv)[2L],
               verb = "have")
    check_targets(yv, xv, layout, "validation_data$y", object = object)
  } else if (validation_split > 0) {
    n <- dim(x)[1L]
    nv <- floor(n * validation_split)
    if (nv < 1L || nv >= n)
      stop_arg("validation_split",
               sprintf("a fraction leaving at least one sequence on each side (x has %d)", n),
               format(validation_split))
    keep <- seq_len(n - nv)
    xv <- x[-keep, , , drop = FALSE]
    yv <- y[-keep, , , drop = FALSE]
    x <- x[keep, , , drop = FALSE]
    y <- y[keep, , , drop = FALSE]
    if (!is.null(lengths)) {
      lv <- lengths[-keep]
      lengths <- lengths[keep]
    }
  } else {
    xv <- yv <- NULL
  }
  # early stopping judges the weights at the end of each epoch; the training loss is a
  # running mean over the epoch's batches, which can be low for weights that have
  # diverged by its end: restoring "the best" by it could bring back anything
  if (patience > 0L && is.null(xv))
    stop_arg("patience", "NULL without validation data (early stopping compares the validation loss of each epoch's weights: give validation_split or validation_data)",
             format(patience))
  res <- .Call(C_net_fit, network_spec(object), object$input_dim,
               flatten_weights(object$weights, layout), to_core(x), dim(x), lengths, to_core(y),
               if (is.null(xv)) double() else to_core(xv), if (is.null(xv)) 0L else dim(xv)[1L],
               lv, if (is.null(yv)) double() else to_core(yv), st$settings,
               nw$seed[[2L]], device_id(nw$device))
  trained_network(object, res, layout, patience, st$verbose, call)
}

# fit()'s training settings, checked (errors raised from `call`): list(patience (0 for
# none), verbose, settings: train_settings()'s list for the glue)
check_fit_settings <- function(epochs, batch_size, optimizer, loss, patience, shuffle, verbose,
                               clipnorm, call) {
  epochs <- check_count(epochs, "epochs", call = call)
  batch_size <- check_count(batch_size, "batch_size", call = call)
  if (!inherits(optimizer, "tsattn_optimizer"))
    stop_arg("optimizer", "an optimizer from optimizer_adam() or optimizer_sgd()",
             describe(optimizer), call = call)
  loss <- check_choice(loss, "loss", c("mse", "mae"), call = call)
  patience <- if (is.null(patience)) 0L else check_count(patience, "patience", call = call)
  shuffle <- check_flag(shuffle, "shuffle", call = call)
  verbose <- check_flag(verbose, "verbose", call = call)
  clipnorm <- if (is.null(clipnorm)) 0 else
    check_number(clipnorm, "clipnorm", 0, lower_open = TRUE, call = call)
  list(patience = patience, verbose = verbose,
       settings = train_settings(epochs, batch_size, shuffle, loss, patience, optimizer, verbose,
                                 clipnorm))
}

# the network fit() trains, built for in_dim features (with the first of the two seeds
# check_seed() draws) unless it is, and its device: list(object, layout, seed, device)
fit_network <- function(object, in_dim, seed, device, call) {
  if (!inherits(object, "tsattn_network"))
    stop_arg("object", "a network made with sequential()", describe(object), call = call)
  seed <- check_seed(seed, call = call)
  if (is.null(object$input_dim)) object <- build_network(object, in_dim, seed[[1L]])
  device <- check_device(device, object, call = call) # on the built network: its layers decide
  list(object = object, layout = check_network(object), seed = seed, device = device)
}

# fit() of tsattn()'s network on the windows of one series without writing them out:
# window i is rows i..i+lookback-1 of feat [N, F] with rows i+lookback..i+lookback+horizon-1
# of targets [N, k] as its targets; the last n_val of the N - lookback - horizon + 1
# windows validate (early stopping with `patience`), the others train. C cuts them batch
# by batch (C_net_fit_rows), so the fit is fit(object, x[tr], y[tr], validation_data =
# list(x[va], y[va])) on make_windows()'s arrays, bit for bit, in the memory of the series.
# The other arguments are fit()'s; tsattn() chooses the validation windows and every window
# has all its steps: `validation_data` and `lengths` are errors.
fit_rows <- function(object, feat, targets, lookback, horizon, n_val, epochs = 10,
                     batch_size = 32, optimizer = optimizer_adam(), loss = "mse",
                     patience = NULL, shuffle = TRUE, seed = NULL, device = "cpu",
                     verbose = interactive(), clipnorm = NULL, validation_split = 0,
                     validation_data = NULL, lengths = NULL, ...) {
  call <- sys.call()
  if (!is.null(validation_data))
    stop_arg("validation_data", "NULL in tsattn(), which validates on the last windows of the series",
             describe(validation_data), call = call)
  if (!is.null(lengths))
    stop_arg("lengths", "NULL in tsattn(), whose windows all have `lookback` steps",
             describe(lengths), call = call)
  check_number(validation_split, "validation_split", 0, 1, upper_open = TRUE, call = call)
  st <- check_fit_settings(epochs, batch_size, optimizer, loss, patience, shuffle, verbose,
                           clipnorm, call)
  nw <- fit_network(object, ncol(feat), seed, device, call)
  object <- nw$object
  layout <- nw$layout
  check_rows_network(object, layout, feat, targets, lookback, horizon, call)
  if (!is.double(feat)) storage.mode(feat) <- "double"
  if (!is.double(targets)) storage.mode(targets) <- "double"
  n_train <- nrow(feat) - lookback - horizon + 1L - n_val
  res <- .Call(C_net_fit_rows, network_spec(object), object$input_dim,
               flatten_weights(object$weights, layout), feat, targets, as.integer(lookback),
               as.integer(horizon), as.integer(n_train), as.integer(n_val), st$settings,
               nw$seed[[2L]], device_id(nw$device))
  trained_network(object, res, layout, st$patience, st$verbose, call)
}

# tsattn()'s network must take the ncol(feat) features of each step and give `horizon`
# steps of ncol(targets) values for `lookback` steps in
check_rows_network <- function(object, layout, feat, targets, lookback, horizon, call) {
  if (object$input_dim != ncol(feat))
    stop_arg("model", sprintf("a network whose input has %d feature%s (the columns of `y` and `xreg`)",
                              ncol(feat), if (ncol(feat) > 1L) "s" else ""),
             sprintf("one of %d", object$input_dim), call = call)
  t_out <- out_time(object, lookback, arg = "lookback", call = call)
  if (t_out != horizon || layout$out_dim != ncol(targets))
    stop_arg("model", sprintf("a network that gives %d step%s of %d value%s (`horizon`, and the columns of `y`) for `lookback` = %d steps",
                              horizon, if (horizon > 1L) "s" else "", ncol(targets),
                              if (ncol(targets) > 1L) "s" else "", lookback),
             sprintf("one that gives %d of %d", t_out, layout$out_dim), call = call)
}

# fit()'s settings as the glue reads them, by name (read_fit_settings() in src/api_spec.c:
# the names are its fit_settings fields, loss and optimizer go as their names); also for a
# global model's windows (R/global.R)
train_settings <- function(epochs, batch_size, shuffle, loss, patience, optimizer, verbose,
                           clipnorm) {
  list(epochs = epochs, batch_size = batch_size, shuffle = shuffle, loss = loss,
       patience = patience, optimizer = optimizer$name, verbose = verbose,
       print_every = max(1L, epochs %/% 10L), lr = optimizer$lr, beta1 = optimizer$beta1,
       beta2 = optimizer$beta2, eps = optimizer$eps, weight_decay = optimizer$weight_decay,
       momentum = optimizer$momentum, clipnorm = clipnorm)
}

# the network `object` after the glue's training result `res`: its weights, the epochs
# appended to its history, a warning for a diverged fit, the interrupt condition for an
# interrupted one (carrying the completed epochs' network), the early-stopping message
trained_network <- function(object, res, layout, patience, verbose, call) {
  object$weights <- unflatten_weights(res$weights, layout)
  start <- if (is.null(object$history)) 0L else nrow(object$history)
  hist <- data.frame(epoch = start + seq_along(res$loss), loss = res$loss,
                     val_loss = res$val_loss)
  object$history <- rbind(object$history, hist)
  if (res$status == 3L) warning(res$message, call. = FALSE)
  done <- length(res$loss)
  if (res$status == 4L) { # interrupted: the completed epochs' weights (ta_train_loop)
    kept <- if (patience > 0L && res$best_epoch > 0L) res$best_epoch else done
    signal_tsattn_interrupt(object, interrupt_message(done + 1L, start, done, kept), call)
  }
  if (verbose && patience > 0L && res$best_epoch > 0L && res$best_epoch < done)
    message(sprintf("early stopping: restored the weights of epoch %d", start + res$best_epoch))
  object
}

#' Predict with a network
#'
#' @param object A trained (or built) network.
#' @param x Inputs `[batch, time, features]` (see [fit()]).
#' @param batch_size Sequences per forward pass (memory only; results do not depend on it).
#' @param device "cpu", "cuda" or "auto", as in [fit()].
#' @param lengths `NULL` or the number of valid steps of each sequence (see [fit()]).
#' @param ... Not used.
#' @return An array `[batch, time, out]` (`time` is 1 when the network keeps only the
#'   last step).
#' @examples
#' net <- sequential(layer_gru(4), layer_dense(1), input_dim = 1)
#' predict(net, array(rnorm(20), c(2, 10, 1)))
#' @export
predict.tsattn_network <- function(object, x, batch_size = 256, device = "cpu", lengths = NULL,
                                   ...) {
  layout <- check_network(object)
  x <- as_seq_array(x, "x")
  check_features(x, object)
  lengths <- check_lengths(lengths, x)
  batch_size <- check_count(batch_size, "batch_size")
  device <- check_device(device, object)
  out_time(object, dim(x)[2L]) # an error naming `x` when its sequences are too short
  s <- network_spec(object)
  out <- .Call(C_net_predict, s, object$input_dim,
               flatten_weights(object$weights, layout), to_core(x), dim(x), lengths, batch_size,
               device_id(device))
  predictions(out)
}

# predict() on the first n windows of `lookback` rows of feat [N, F] (window i: rows
# i..i+lookback-1), cut chunk by chunk in C (C_net_predict_rows): predict(object,
# make_windows()'s x) without the windows, as tsattn()'s in-sample predictions
predict_rows <- function(object, feat, lookback, n, batch_size = 256L, device = "cpu") {
  layout <- check_network(object)
  device <- check_device(device, object)
  out_time(object, lookback, arg = "lookback") # an error naming `lookback` when too short
  if (!is.double(feat)) storage.mode(feat) <- "double"
  out <- .Call(C_net_predict_rows, network_spec(object), object$input_dim,
               flatten_weights(object$weights, layout), feat, as.integer(lookback),
               as.integer(n), as.integer(batch_size), device_id(device))
  predictions(out)
}

# the glue's predictions of B sequences: list(the array [B, t_out, out_dim], as C writes
# it, and how many of its values are not finite, counted there: R neither transposes nor
# tests every value, each of which cost a copy of the output), or NULL when interrupted
# between chunks (memory freed: the interrupt is signalled); a warning for values that are
# not finite
predictions <- function(res) {
  if (is.null(res)) signal_user_interrupt()
  out <- res[[1L]]
  if (res[[2L]] > 0)
    warning(sprintf("%.0f of the %d predictions are not finite: the weights overflow float32 on this input",
                    res[[2L]], length(out)), call. = FALSE)
  out
}

# Loss and analytic gradients on one batch (for gradient checks and fixtures):
# list(loss, weights = named list like get_weights(), x = array like x, output).
# device = "cuda" runs it on the GPU (the CPU/GPU parity tests, test-cuda-*.R).
net_gradient <- function(object, x, y, loss = "mse", training = FALSE, seed = 1, lengths = NULL,
                         device = "cpu") {
  layout <- check_network(object)
  x <- as_seq_array(x, "x")
  y <- as_seq_array(y, "y")
  check_features(x, object)
  check_targets(y, x, layout, object = object)
  lengths <- check_lengths(lengths, x)
  device <- check_device(device, object)
  s <- network_spec(object)
  res <- .Call(C_net_gradient, s, object$input_dim, flatten_weights(object$weights, layout),
               to_core(x), dim(x), lengths, to_core(y), check_choice(loss, "loss", c("mse", "mae")),
               check_flag(training, "training"), as.double(seed), device_id(device))
  t_out <- out_time(object, dim(x)[2L])
  list(loss = res$loss, weights = unflatten_weights(res$weights, layout),
       x = from_core(res$x, dim(x)[1L], dim(x)[2L], dim(x)[3L]),
       output = from_core(res$output, dim(x)[1L], t_out, layout$out_dim))
}
