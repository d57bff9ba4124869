# forecast() for tsattn fits: sample paths, intervals, attention with time stamps.

check_level <- function(level, call = sys.call(-1L)) {
  if (!is.numeric(level) || length(level) == 0L || anyNA(level) || any(level <= 0 | level >= 100))
    stop_arg("level", "confidence levels in (0, 100), e.g. c(80, 95)", describe(level), call = call)
  sort(as.double(level))
}

future_xreg <- function(object, xreg, h, call = sys.call(-1L)) {
  if (is.null(object$xreg)) {
    if (!is.null(xreg)) stop_arg("xreg", "NULL: the model was fitted without regressors", describe(xreg), call = call)
    return(NULL)
  }
  if (is.null(xreg))
    stop_arg("xreg", sprintf("the future values of the %d regressor%s (%d rows for h = %d)",
                             ncol(object$xreg), if (ncol(object$xreg) > 1) "s" else "", h, h),
             "NULL", call = call)
  X <- as.matrix(xreg)
  if (!is.numeric(X) || ncol(X) != ncol(object$xreg))
    stop_arg("xreg", sprintf("a numeric matrix with %d column%s", ncol(object$xreg),
                             if (ncol(object$xreg) > 1) "s" else ""), describe(xreg), call = call)
  if (nrow(X) != h)
    stop_arg("xreg", sprintf("%d rows, one per forecast step (h = %d)", h, h),
             sprintf("%d", nrow(X)), call = call, verb = "have")
  if (any(!is.finite(X))) stop_arg("xreg", "free of NA, NaN and Inf", "non-finite values", call = call)
  regressor_apply(list(center = object$xreg_center, scale = object$xreg_scale), X)
}

# the last window of the feature series, its last row carrying the first future regressors
last_window <- function(object, xf) {
  feat <- object$features
  L <- object$lookback
  w <- feat[(nrow(feat) - L + 1L):nrow(feat), , drop = FALSE]
  if (!is.null(xf)) w[L, (length(object$center) + 1L):ncol(w)] <- xf[1L, ]
  w
}

# Sample paths of a seq2seq fit, built in C (C_net_seq2seq_paths, the loop of
# simulate_paths()): the mean path by passes of `horizon` steps, each window moving up by
# the steps taken (their forecasts, then the regressors of the step after, the last step's
# past the end), and the paths the mean plus a residual row of the same step ahead at
# every step, drawn here with sample.int() step by step (R's RNG) and added in C.
seq2seq_paths <- function(object, window, h, npaths, xf, device = "cpu") {
  net <- object$network
  H <- object$horizon
  k <- length(object$center)
  resid <- lapply(object$val_resid, function(r) {
    storage.mode(r) <- "double"
    r
  })
  pick <- vapply(seq_len(h), function(s) sample.int(nrow(resid[[(s - 1L) %% H + 1L]]), npaths, replace = TRUE),
                 integer(npaths))
  layout <- check_network(net)
  res <- .Call(C_net_seq2seq_paths, network_spec(net), net$input_dim,
               flatten_weights(net$weights, layout), as.double(t(window)), dim(window),
               if (is.null(xf)) double() else as.double(t(xf)), h, npaths, pick, resid, k,
               device_id(device))
  if (is.null(res)) signal_user_interrupt() # interrupted between chunks, memory freed
  list(paths = from_core(res$paths, npaths, h, k), mean = matrix(res$mean, h, k, byrow = TRUE))
}

#' Forecast with a tsattn model
#'
#' Runs the network forward from the end of the series. Models that predict one step
#' forecast recursively on `npaths` sample paths, adding a validation residual drawn at
#' random at every step (in C); seq2seq predicts `horizon` steps at once and adds
#' residuals of the same step ahead. The point forecast is the mean of the paths and
#' the intervals their quantiles; both are returned on the original scale. The default
#' ensemble (`tsattn(y)` on one series) adds the networks' correction to the backbone's
#' forecast (Theta and exponential smoothing trends; the point forecast) and draws paths
#' around it whose spread at each step ahead is the backbone's rolling-origin error there.
#'
#' The fit's fields are checked first, against each other and against its network
#' (`lookback`, `horizon`, `lag`, `center`, `scale`, `val_resid`, `seq2seq`, the
#' regressors' scaling, a combination's `members`, and the network's layers and
#' weights), then against the checksum stored at fitting (`$checksum`), so that a fit
#' edited or corrupted to other valid numbers is caught too: an edited or corrupted fit
#' is an error naming the field. A forecast that
#' is not finite on the original scale (a diverged fit, whose values overflow when the
#' log transformation is undone) is an error, never `Inf`.
#'
#' For a collection of series (a `tsattn_collection`, see "Many series" in [tsattn()])
#' each series is forecast by its own model with a seed drawn from `seed` in the order
#' of the series (`fc$seeds`), so `forecast(fit$fits[[key]], h, seed = fc$seeds[[key]])`
#' gives that series' forecast again. The result's `as.data.frame()` is long: one row per
#' series and step, with columns `key`, `time` (as [time()] gives it), `mean` and
#' `lower_<level>`, `upper_<level>` for each level.
#'
#' @param object A fit from [tsattn()].
#' @param h Steps ahead; default two seasons (10 for non-seasonal series).
#' @param level Confidence levels of the prediction intervals, in (0, 100).
#' @param xreg Future values of the regressors (`h` rows), when the model has them.
#' @param npaths Number of simulated sample paths.
#' @param seed `NULL` (R's RNG) or a whole number, as in [fit()].
#' @param device "cpu", "cuda" or "auto", as in [fit()]: where the network runs the
#'   paths forward. On the GPU every path's window stays on the device; the residual
#'   draws are the CPU's, so the paths agree with the CPU's to float32 rounding.
#' @param ... Not used.
#' @return An object of class `c("tsattn_forecast", "forecast")` (for an `mts` or a
#'   collection, `c("tsattn_mforecast", "mforecast")` whose `$forecast` holds one per
#'   series, named) with `mean`, `lower`,
#'   `upper` (`ts` starting after the series), `level`, `x`, `fitted`, `residuals`,
#'   `method`, `model`, `series` and `attention` (see [attention()]).
#' @examples
#' fit <- tsattn(AirPassengers, model = "gru", epochs = 30, seed = 1)
#' fc <- predict(fit, h = 12) # the same as forecast::forecast(fit, h = 12)
#' fc$mean
#' @rawNamespace S3method(forecast::forecast, tsattn)
forecast.tsattn <- function(object, h = NULL, level = c(80, 95), xreg = NULL, npaths = 1000,
                            seed = NULL, device = "cpu", ...) {
  validate_tsattn(object)
  h <- forecast_h(object, h)
  level <- check_level(level)
  npaths <- check_count(npaths, "npaths")
  device <- check_device(device, object$network)
  seeds <- check_seed(seed)
  paths <- sample_paths(object, h, xreg, npaths, seeds, device)
  forecast_object(object, paths, h, level)
}

# h, defaulting to two seasons (10 steps for non-seasonal series)
forecast_h <- function(object, h, call = sys.call(-1L)) {
  freq <- stats::frequency(object$x)
  if (is.null(h)) h <- if (freq > 1) 2 * freq else 10
  check_count(h, "h", call = call)
}

# sample paths [npaths, h, k] of one fitted model, on the original scale
sample_paths <- function(object, h, xreg, npaths, seeds, device = "cpu", call = sys.call(-1L)) {
  xf <- future_xreg(object, xreg, h, call = call)
  window <- last_window(object, xf)
  sim <- if (object$seq2seq) {
    with_seed(seeds[[1L]], seq2seq_paths(object, window, h, npaths, xf, device))
  } else {
    simulate_paths(object$network, window, h, npaths = npaths,
                   resid = object$val_resid[[1L]], xreg_future = xf, seed = seeds[[2L]],
                   device = device)
  }
  paths <- transform_invert_paths(object, as.matrix(object$x), sim$paths)
  # the check in simulate_paths() is in model space; exp() of the log transform (and
  # undoing differences) can still overflow a diverged fit's values
  bad <- sum(!is.finite(paths))
  if (bad > 0L) {
    vl <- object$history$val_loss
    best <- if (length(vl) && any(is.finite(vl))) sprintf(" (best validation loss %.3g on the scaled series, where predicting the mean scores about 1)", min(vl, na.rm = TRUE)) else ""
    stop(simpleError(sprintf("the forecast is not finite: %d of the %d simulated values overflow on the original scale; the fit has diverged%s: refit with a smaller learning rate (optimizer_adam(lr = )) or clipnorm",
                             bad, length(paths), best), call))
  }
  paths
}

# the forecast object of `object` from its sample paths [npaths, h, k]: the mean and
# the quantiles of the paths, at the times after the series
# (`point` [h, k], when given, is the point forecast instead of the paths' mean)
forecast_object <- function(object, paths, h, level, point = NULL) {
  y <- object$x
  freq <- stats::frequency(y)
  k <- dim(paths)[3L]
  npaths <- dim(paths)[1L]
  start <- stats::tsp(y)[2L] + 1 / freq
  mk <- function(v) stats::ts(v, start = start, frequency = freq)
  series <- colnames(as.matrix(y))
  if (is.null(series)) series <- deparse(object$call$y)[1L]
  att <- attention(object)
  one <- function(j) {
    pj <- matrix(paths[, , j], npaths, h)
    mean <- if (is.null(point)) colMeans(pj) else point[, j]
    lo <- sapply(level, function(l) apply(pj, 2L, stats::quantile, probs = (1 - l / 100) / 2, names = FALSE))
    hi <- sapply(level, function(l) apply(pj, 2L, stats::quantile, probs = 1 - (1 - l / 100) / 2, names = FALSE))
    lo <- matrix(lo, h, length(level))
    hi <- matrix(hi, h, length(level))
    # nested and containing the mean, whatever the sampling noise
    lo <- pmin(lo, mean)
    hi <- pmax(hi, mean)
    if (length(level) > 1L) for (i in seq_along(level)[-1L]) {
      lo[, i] <- pmin(lo[, i], lo[, i - 1L])
      hi[, i] <- pmax(hi[, i], hi[, i - 1L])
    }
    colnames(lo) <- colnames(hi) <- paste0(level, "%")
    structure(list(
      method = object$method, model = object, level = level,
      mean = mk(mean), lower = mk(lo), upper = mk(hi),
      x = if (k > 1) y[, j] else y,
      series = series[j],
      fitted = if (k > 1) object$fitted[, j] else object$fitted,
      residuals = if (k > 1) object$residuals[, j] else object$residuals,
      attention = att, paths = pj
    ), class = c("tsattn_forecast", "forecast"))
  }
  if (k == 1L) return(one(1L))
  structure(list(forecast = stats::setNames(lapply(seq_len(k), one), series),
                 method = rep(object$method, k), model = object, x = y, attention = att),
            class = c("tsattn_mforecast", "mforecast"))
}

#' @rdname forecast.tsattn
#' @param newdata Not used (for the `predict()` generic).
#' @export
predict.tsattn <- function(object, h = NULL, level = c(80, 95), xreg = NULL, npaths = 1000,
                           seed = NULL, device = "cpu", newdata = NULL, ...) {
  forecast.tsattn(object, h = h, level = level, xreg = xreg, npaths = npaths, seed = seed,
                  device = device)
}

#' @export
print.tsattn_forecast <- function(x, ...) {
  cat(x$method, "\n", sep = "")
  out <- matrix(as.numeric(x$mean), ncol = 1L, dimnames = list(NULL, "Point Forecast"))
  for (i in seq_along(x$level)) {
    out <- cbind(out, as.numeric(x$lower[, i]), as.numeric(x$upper[, i]))
    colnames(out)[ncol(out) - 1:0] <- paste(c("Lo", "Hi"), x$level[i])
  }
  rownames(out) <- format_time(stats::time(x$mean), stats::frequency(x$mean))
  print(out)
  invisible(x)
}

#' @export
print.tsattn_mforecast <- function(x, ...) {
  for (nm in names(x$forecast)) {
    cat(nm, ": ", sep = "")
    print(x$forecast[[nm]])
    cat("\n")
  }
  invisible(x)
}

#' @rdname attention
#' @export
attention.tsattn <- function(object, device = "cpu", ...) {
  validate_tsattn(object)
  fit_attention(object, device)
}

# the attention of a checked fit's network over its last window, time-stamped (also the
# default ensemble's, from its first member: attention.tsattn_ensemble)
fit_attention <- function(object, device) {
  L <- object$lookback
  y <- object$x
  freq <- stats::frequency(y)
  n <- NROW(y)
  tt <- stats::time(y)
  # a global model's window of a series shorter than it starts before the series (its
  # first value repeated there)
  key_times <- if (L <= n) format_time(tt[(n - L + 1L):n], freq)
               else format_time(tt[n] - ((L - 1L):0) / freq, freq)
  w <- object$features[(nrow(object$features) - L + 1L):nrow(object$features), , drop = FALSE]
  a <- attention(object$network, array(w, c(1L, dim(w))), device = device)
  if (length(a) == 0L) return(NULL)
  query_times <- if (object$seq2seq) {
    format_time(tt[n] + seq_len(object$horizon) / freq, freq)
  } else key_times
  stamp_attention(a, query_times, key_times)
}

#' @rdname attention
#' @export
attention.tsattn_forecast <- function(object, ...) object$attention

#' @rdname attention
#' @export
attention.tsattn_mforecast <- function(object, key = NULL, ...) {
  if (!inherits(object$model, "tsattn_collection")) return(object$attention)
  collection_member(object$model, key, call = sys.call())
  object$forecast[[key]]$attention
}

# list of [1, q, k(, head)] arrays -> [query, key(, head(, layer))] with time stamps
stamp_attention <- function(a, query_times, key_times) {
  heads <- vapply(a, function(m) if (length(dim(m)) == 4L) dim(m)[4L] else 1L, 1L)
  H <- max(heads)
  out <- array(NA_real_, c(length(query_times), length(key_times), H, length(a)))
  for (l in seq_along(a)) {
    m <- a[[l]]
    d <- dim(m)
    first <- if (length(d) == 4L) m[1L, , , , drop = FALSE] else m[1L, , , drop = FALSE]
    out[, , seq_len(heads[l]), l] <- array(first, c(d[2L], d[3L], heads[l]))
  }
  dimnames(out) <- list(query = query_times, key = key_times, head = paste0("head ", seq_len(H)),
                        layer = names(a))
  keep <- c(TRUE, TRUE, H > 1L, length(a) > 1L)
  if (!all(keep)) {
    dn <- dimnames(out)[keep]
    out <- array(out, dim(out)[keep], dn)
  }
  structure(out, class = c("tsattn_attention", class(out)))
}

#' @export
as.data.frame.tsattn_attention <- function(x, row.names = NULL, optional = FALSE, ...) {
  a <- unclass(x)
  dn <- dimnames(a)
  # fill in the head and layer dimensions that were dropped for having one level
  if (is.null(dn$head)) dn$head <- "head 1"
  if (is.null(dn$layer)) dn$layer <- "layer"
  dn <- dn[c("query", "key", "head", "layer")]
  a <- array(a, lengths(dn), dn)
  g <- expand.grid(query_time = dn$query, key_time = dn$key, head = dn$head, layer = dn$layer,
                   KEEP.OUT.ATTRS = FALSE, stringsAsFactors = FALSE)
  g$query_time <- factor(g$query_time, levels = dn$query)
  g$key_time <- factor(g$key_time, levels = dn$key)
  g$weight <- as.vector(a)
  g
}
