# Combinations: tsattn(y, model = c("transformer", "seq2seq")) fits every named model on
# the same series with the same settings and forecasts with all of them, pooling their
# sample paths: the point forecast is the average of the models' point forecasts and the
# intervals the quantiles of the pooled paths (so they widen where the models disagree).
# A recursive one-step model and a direct multi-step one make errors of different kinds,
# which is why the default combines the transformer with seq2seq (bench/accuracy.R).
#
# The object is the first model's fit (its network, window and attention) with the
# class "tsattn_combination" in front, every fit in $members, and the combination's own
# method, fitted values, residuals, validation error and training time.

check_models <- function(model, call = sys.call(-1L)) {
  ok <- is.character(model) && length(model) >= 1L && !anyNA(model) && all(model %in% model_names)
  if (!ok)
    stop_arg("model", paste0("one or more of ", paste0("\"", model_names, "\"", collapse = ", "),
                             " (several are combined), or a network from sequential()/seq2seq()"),
             describe(model), call = call)
  if (anyDuplicated(model))
    stop_arg("model", "a set of different model names",
             sprintf("\"%s\" twice", model[anyDuplicated(model)]), call = call)
  model
}

fit_combination <- function(models, y, lookback, horizon, xreg, dots, epochs, lambda, difference,
                            patience, seed, device, verbose, call) {
  s2s_in <- "seq2seq" %in% models
  members <- list()
  interrupted <- NULL
  for (m in models) {
    # horizon is seq2seq's alone (the recursive models predict one step); with no
    # seq2seq member it goes to every model, which then says what it accepts
    hm <- if (m == "seq2seq" || !s2s_in) horizon else NULL
    fit <- tryCatch(
      do.call(tsattn, c(list(y, model = m, lookback = lookback, horizon = hm, xreg = xreg),
                        dots, list(epochs = epochs, lambda = lambda, difference = difference,
                                   patience = patience, seed = seed, device = device,
                                   verbose = verbose))),
      # an interrupt keeps the models fitted so far, this one as trained so far
      tsattn_interrupt = function(e) {
        interrupted <<- e
        e$object
      })
    fit$call <- call
    fit$call$model <- m
    members[[m]] <- fit
    if (!is.null(interrupted)) break
  }
  models <- names(members)
  obj <- members[[1L]]
  obj$members <- members
  obj$model <- models
  obj$call <- call
  obj$train_time <- sum(vapply(members, function(f) f$train_time, 1))
  # one-step fitted values: the members' average where any has one (seq2seq's windows
  # end horizon - 1 steps earlier)
  Y <- as.matrix(y)
  fits <- lapply(members, function(f) as.matrix(f$fitted))
  fitted <- Reduce(`+`, lapply(fits, function(f) ifelse(is.na(f), 0, f))) /
    Reduce(`+`, lapply(fits, function(f) !is.na(f)))
  fitted[!is.finite(fitted)] <- NA_real_
  obj$fitted <- like_series(drop_if_one(fitted), obj$x)
  obj$residuals <- like_series(drop_if_one(as.matrix(obj$x) - fitted), obj$x)
  res <- as.matrix(obj$residuals)
  tail_rows <- utils::tail(which(stats::complete.cases(res)), obj$n_val)
  obj$val_mae <- mean(abs(res[tail_rows, , drop = FALSE]))
  obj$method <- combination_label(members)
  class(obj) <- c("tsattn_combination", "tsattn")
  obj <- seal_fit(obj)
  if (!is.null(interrupted))
    signal_tsattn_interrupt(obj, sprintf("%s (model \"%s\"; the combination has the models fitted so far)",
                                         conditionMessage(interrupted), utils::tail(models, 1L)),
                            call)
  obj
}

# "tsattn combination of transformer(lookback = 24) and seq2seq(lookback = 24,
# horizon = 12) on log, lag-12 differences": the transformation once when shared
combination_label <- function(members) {
  parts <- vapply(members, function(f) sub("^tsattn ", "", f$method), "")
  core <- sub("^([^)]*\\)).*$", "\\1", parts)
  tail <- substring(parts, nchar(core) + 1L)
  if (length(unique(tail)) == 1L) {
    paste0("tsattn combination of ", paste(core, collapse = " and "), tail[[1L]])
  } else {
    paste0("tsattn combination of ", paste(parts, collapse = " and "))
  }
}

#' @rdname forecast.tsattn
#' @rawNamespace S3method(forecast::forecast, tsattn_combination)
forecast.tsattn_combination <- function(object, h = NULL, level = c(80, 95), xreg = NULL,
                                        npaths = 1000, seed = NULL, device = "cpu", ...) {
  validate_combination(object)
  h <- forecast_h(object, h)
  devices <- lapply(object$members, function(f) check_device(device, f$network))
  level <- check_level(level)
  npaths <- check_count(npaths, "npaths")
  # one seed pair per member, drawn in order: `seed = s` repeats the whole forecast
  draw <- function() lapply(object$members, function(f) c(draw_seed(), draw_seed()))
  if (!is.null(seed)) check_seed(seed) # validates it
  seeds <- if (is.null(seed)) draw() else with_seed(seed, draw())
  paths <- lapply(seq_along(object$members), function(i)
    sample_paths(object$members[[i]], h, xreg, npaths, seeds[[i]], devices[[i]]))
  # pool [npaths, h, k] arrays along the paths
  k <- dim(paths[[1L]])[3L]
  pooled <- array(NA_real_, c(npaths * length(paths), h, k))
  for (i in seq_along(paths)) pooled[(i - 1L) * npaths + seq_len(npaths), , ] <- paths[[i]]
  forecast_object(object, pooled, h, level)
}

#' @rdname forecast.tsattn
#' @export
predict.tsattn_combination <- function(object, h = NULL, level = c(80, 95), xreg = NULL,
                                       npaths = 1000, seed = NULL, device = "cpu",
                                       newdata = NULL, ...) {
  forecast.tsattn_combination(object, h = h, level = level, xreg = xreg, npaths = npaths,
                              seed = seed, device = device)
}

#' @export
print.tsattn_combination <- function(x, ...) {
  cat(x$method, "\n", sep = "")
  cat("(the point forecast averages the models'; the intervals pool their sample paths)\n")
  print_series_line(x)
  for (f in x$members) {
    np <- network_layout(f$network)$n_params
    cat(sprintf("  %s: %s parameters, %d epochs in %.1f s, validation MAE %.4g\n",
                f$model, format(np, big.mark = ","), nrow(f$history), f$train_time, f$val_mae))
  }
  cat(sprintf("validation: MAE %.4g of the averaged one-step forecasts over the last %d observations\n",
              x$val_mae, x$n_val))
  invisible(x)
}

#' @export
summary.tsattn_combination <- function(object, ...) {
  print(object)
  for (f in object$members) {
    cat("\n", f$model, ": ", sep = "")
    print(f$network)
  }
  invisible(object)
}
