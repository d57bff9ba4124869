# Many series: tsattn(y) on a named list of ts or a long data.frame (key, index, value).
#
# global = TRUE (the default for the default model): one global model, R/global.R.
# global = FALSE (the default for a named model): one model per series, fitted through
# future.apply::future_lapply(), so the caller's future::plan() decides where. Each series
# gets its own seed, drawn from `seed` in the order of the series, and its fit runs with
# the caller's RNG kind and ensemble settings whatever the worker, so every plan gives the
# same fits as fitting each series alone with its seed (fit$seeds).

# TRUE for the inputs that are collections: a list that is not a data.frame, or a
# data.frame with a `key` column
is_collection <- function(y) {
  (is.list(y) && !is.data.frame(y)) || (is.data.frame(y) && "key" %in% names(y))
}

# ---- input -----------------------------------------------------------------------------

# y (a list or a long data.frame) -> a named list of univariate ts of one frequency, each
# checked; errors name the member
as_collection <- function(y, min_length = 1L, call = sys.call(-1L)) {
  if (is.data.frame(y)) {
    series <- collection_from_frame(y, call)
    label <- function(k) sprintf("y$value[y$key == \"%s\"]", k)
  } else {
    series <- collection_from_list(y, call)
    label <- function(k) sprintf("y[[\"%s\"]]", k)
  }
  keys <- names(series)
  for (k in keys) {
    s <- series[[k]]
    n <- length(s)
    if (n == 0L) stop_arg(label(k), "at least one observation", "none", call = call, verb = "have")
    bad <- is.na(s)
    if (all(bad)) stop_arg(label(k), "observations", sprintf("only NA values (%d)", n),
                           call = call, verb = "have")
    if (any(bad)) {
      stamps <- format_time(stats::time(s)[bad], stats::frequency(s))
      stop_arg(label(k), "free of missing values (impute or trim them first)",
               sprintf("%d NA value%s, at %s", sum(bad), if (sum(bad) > 1) "s" else "",
                       paste(utils::head(stamps, 5L), collapse = ", ")), call = call)
    }
    if (any(!is.finite(s)))
      stop_arg(label(k), "finite", sprintf("%d infinite values", sum(!is.finite(s))), call = call)
    if (n < min_length)
      stop_arg(label(k), sprintf("at least %d observations (no model is fitted to fewer)", min_length),
               sprintf("%d", n), call = call, verb = "have")
  }
  freq <- vapply(series, stats::frequency, 1)
  if (length(unique(freq)) > 1L) {
    f <- unique(freq)
    by <- vapply(f, function(v) {
      k <- keys[freq == v]
      sprintf("%g (%s%s)", v, paste0("\"", utils::head(k, 3L), "\"", collapse = ", "),
              if (length(k) > 3L) sprintf(" and %d more", length(k) - 3L) else "")
    }, "")
    stop_arg("y", "series of one frequency", paste("frequencies", paste(by, collapse = " and ")),
             call = call)
  }
  series
}

collection_from_list <- function(y, call) {
  if (!length(y)) stop_arg("y", "a named list of ts (or a ts)", "an empty list", call = call)
  nm <- names(y)
  if (is.null(nm))
    stop_arg("y", "a named list of ts (the names are the series' keys)", "an unnamed list",
             call = call)
  if (any(is.na(nm) | !nzchar(nm))) {
    at <- which(is.na(nm) | !nzchar(nm))
    stop_arg("y", "a named list of ts (the names are the series' keys)",
             sprintf("a list whose member%s %s %s no name", if (length(at) > 1) "s" else "",
                     paste(utils::head(at, 5L), collapse = ", "),
                     if (length(at) > 1) "have" else "has"), call = call)
  }
  dup <- unique(nm[duplicated(nm)])
  if (length(dup))
    stop_arg("y", "a list with one member per key",
             sprintf("one with duplicated key%s %s", if (length(dup) > 1) "s" else "",
                     paste0("\"", utils::head(dup, 5L), "\"", collapse = ", ")), call = call)
  for (k in nm) {
    s <- y[[k]]
    if (!stats::is.ts(s) || !(is.numeric(s) || all(is.na(s))) || NCOL(s) != 1L)
      stop_arg(sprintf("y[[\"%s\"]]", k), "a univariate ts (one series)", describe(s), call = call)
  }
  lapply(y, function(s) {
    if (is.matrix(s)) s <- s[, 1L]
    if (!is.numeric(s)) storage.mode(s) <- "double" # all NA
    s
  })
}

# the time of each row of the index column as in time() of a ts (decimal years for
# monthly and quarterly data), and the frequency it implies
index_time <- function(index, key, call) {
  if (inherits(index, "yearmon")) return(list(time = as.numeric(unclass(index)), freq = 12))
  if (inherits(index, "yearqtr")) return(list(time = as.numeric(unclass(index)), freq = 4))
  if (inherits(index, "Date")) {
    days <- unlist(lapply(split(as.numeric(index), key), function(d) diff(sort(d))))
    if (any(days > 0 & days < 28))
      stop_arg("y$index", "dates one month, one quarter or one year apart (or numeric times, e.g. 2020.25)",
               sprintf("dates %g days apart", min(days[days > 0])), call = call)
    lt <- as.POSIXlt(index)
    month <- (lt$year + 1900) * 12 + lt$mon # months since year 0
    steps <- unlist(lapply(split(month, key), function(m) diff(sort(m))))
    step <- if (any(steps > 0)) min(steps[steps > 0]) else 12
    if (!step %in% c(1, 3, 12))
      stop_arg("y$index", "dates one month, one quarter or one year apart (or numeric times, e.g. 2020.25)",
               sprintf("dates %d months apart", step), call = call)
    yr <- lt$year + 1900
    time <- switch(as.character(step), `1` = yr + lt$mon / 12, `3` = yr + (lt$mon %/% 3) / 4, `12` = yr)
    return(list(time = time, freq = 12 / step))
  }
  if (!is.numeric(index))
    stop_arg("y$index", "numeric times (as time() of a ts gives), Date, yearmon or yearqtr",
             describe(index), call = call)
  if (any(!is.finite(index))) stop_arg("y$index", "free of NA, NaN and Inf", "non-finite values", call = call)
  index <- as.numeric(index)
  steps <- unlist(lapply(split(index, key), function(t) diff(sort(t))))
  steps <- steps[steps > 1e-9]
  if (!length(steps)) return(list(time = index, freq = 1))
  freq <- 1 / min(steps)
  if (abs(freq - round(freq)) < 1e-6 * max(1, freq)) freq <- round(freq)
  list(time = index, freq = freq)
}

collection_from_frame <- function(y, call) {
  need <- c("key", "index", "value")
  miss <- setdiff(need, names(y))
  if (length(miss))
    stop_arg("y", "a data.frame with columns key, index and value",
             sprintf("one without %s", paste(miss, collapse = ", ")), call = call)
  extra <- setdiff(names(y), need)
  # extra columns constant within each key are static covariates (fit_collection());
  # columns that change over time would be regressors, which are not supported
  varying <- extra[vapply(extra, function(nm) {
    v <- y[[nm]]
    any(tapply(seq_along(v), as.character(y$key), function(i) length(unique(v[i])) > 1L))
  }, NA)]
  if (length(varying))
    stop_arg("y", "a data.frame with columns key, index and value, and static columns constant within each key (time-varying regressor columns are not supported yet)",
             sprintf("one with %s varying within a key", paste(utils::head(varying, 5L), collapse = ", ")),
             call = call)
  if (!nrow(y)) stop_arg("y", "a data.frame with rows", "an empty one", call = call)
  key <- y$key
  if (is.factor(key)) key <- as.character(key)
  if (!(is.character(key) || is.numeric(key)) || anyNA(key) || any(!nzchar(key)))
    stop_arg("y$key", "character, factor or numeric keys, none of them NA or empty", describe(y$key),
             call = call)
  key <- as.character(key)
  if (!is.numeric(y$value)) stop_arg("y$value", "numeric", describe(y$value), call = call)
  it <- index_time(y$index, key, call)
  freq <- it$freq
  keys <- unique(key)
  rows <- split(seq_len(nrow(y)), factor(key, levels = keys))
  out <- lapply(keys, function(k) {
    i <- rows[[k]]
    t <- it$time[i]
    o <- order(t)
    t <- t[o]
    pos <- round((t - t[1L]) * freq) # periods after the first
    if (any(abs((t - t[1L]) * freq - pos) > 1e-6))
      stop_arg(sprintf("y$index[y$key == \"%s\"]", k),
               sprintf("times on one grid of frequency %g", freq), "irregular times", call = call)
    if (anyDuplicated(pos)) {
      d <- t[duplicated(pos)][1L]
      stop_arg("y", "a data.frame with one row per key and index",
               sprintf("one with duplicated rows for key \"%s\" at %s", k, format_time(d, freq)),
               call = call)
    }
    if (length(pos) > 1L && any(diff(pos) != 1)) {
      g <- which(diff(pos) != 1)[1L]
      stop_arg(sprintf("y$index[y$key == \"%s\"]", k),
               "without gaps (add the missing periods, or trim the series)",
               sprintf("one with a gap after %s", format_time(t[g], freq)), call = call)
    }
    stats::ts(as.numeric(y$value[i][o]), start = t[1L], frequency = freq)
  })
  out <- stats::setNames(out, keys)
  if (length(extra)) { # one row per key: the static covariates
    first <- vapply(rows, `[[`, 1L, 1L)
    st <- data.frame(key = keys, stringsAsFactors = FALSE)
    for (nm in extra) st[[nm]] <- y[[nm]][first]
    attr(out, "static") <- st
  }
  out
}

# ---- fit ---------------------------------------------------------------------------------

need_future <- function(call = sys.call(-1L)) {
  if (!requireNamespace("future.apply", quietly = TRUE))
    stop(simpleError(paste0("Fitting a collection of series needs the package future.apply ",
                            "(install.packages(\"future.apply\"); Debian: apt-get install r-cran-future.apply)."),
                     call = call))
}

# one seed per position, drawn from `seed` (NULL: R's RNG)
derive_seeds <- function(seed, keys, call = sys.call(-1L)) {
  if (is.null(seed)) seed <- draw_seed() else check_seed(seed, call = call)
  stats::setNames(with_seed(seed, vapply(seq_along(keys), function(i) draw_seed(), 1)), keys)
}

fit_collection <- function(y, model, args, seed, call, global = NULL, verbose = FALSE) {
  auto <- identical(model, "auto") && is.null(args$lookback) && is.null(args$horizon)
  if (is.null(global)) global <- auto
  if (global && !auto)
    stop_arg("global", "FALSE for this model: the global model is the default's (model = \"auto\" without lookback or horizon)",
             "TRUE")
  if (!global) need_future(call)
  if (!is.null(args$xreg))
    stop_arg("xreg", "NULL for a collection of series (regressors are not supported there yet)",
             describe(args$xreg), call = call)
  series <- as_collection(y, min_length = if (auto) 5L else 1L, call = call)
  # a long data.frame's columns constant within each key are static covariates
  from_frame <- attr(series, "static")
  attr(series, "static") <- NULL
  if (!is.null(from_frame)) {
    if (!is.null(args$static))
      stop_arg("static", "NULL when `y` carries static columns", describe(args$static), call = call)
    args$static <- from_frame
  }
  if (!global && !is.null(args$static))
    stop_arg("static", "NULL for local models (the global model uses static covariates: global = TRUE)",
             describe(args$static), call = call)
  if (global) {
    if (!is.null(seed)) check_seed(seed, call = call)
    args$verbose <- verbose
    return(fit_global(series, args, seed, call))
  }
  # arguments that would fail for every series fail once, before any fit
  if (!identical(model, "auto") && !inherits(model, "tsattn_network")) check_models(model, call = call)
  check_device(args$device, call = call)
  keys <- names(series)
  seeds <- derive_seeds(seed, keys, call)
  jobs <- Map(function(k, s, sd) list(key = k, y = s, seed = sd), keys, series, seeds)
  names(jobs) <- NULL
  # future.seed = TRUE leaves the session's RNG kind changed: keep the caller's RNG as it was
  rng <- rng_state()
  on.exit(rng_restore(rng), add = TRUE)
  progress <- if (requireNamespace("progressr", quietly = TRUE))
    progressr::progressor(steps = length(jobs)) else NULL
  t0 <- proc.time()[["elapsed"]]
  kind <- RNGkind() # a value: an argument RNGkind() would be forced in the future
  fits <- future.apply::future_lapply(
    jobs, collection_fit_one, model = model, args = args, rng_kind = kind,
    settings = getOption("tsattn.ensemble"), progress = progress,
    future.seed = TRUE, future.packages = "tsattn")
  secs <- proc.time()[["elapsed"]] - t0
  names(fits) <- keys
  bad <- vapply(fits, inherits, NA, "error")
  if (any(bad)) {
    k <- keys[bad]
    stop(simpleError(sprintf("series \"%s\"%s: %s", k[1L],
                             if (length(k) > 1L) sprintf(" (and %d more: %s)", length(k) - 1L,
                                                         paste0("\"", utils::head(k[-1L], 3L), "\"", collapse = ", ")) else "",
                             conditionMessage(fits[[k[1L]]])), call = call))
  }
  structure(list(
    fits = fits, keys = keys, seeds = seeds, global = FALSE, model = model,
    frequency = stats::frequency(series[[1L]]),
    method = sprintf("tsattn: %d local models (one per series)", length(keys)),
    train_time = secs, call = call
  ), class = c("tsattn_collection", "tsattn"))
}

# one series' fit, as tsattn(<the series>, seed = <its seed>, ...) would give in the
# calling session: with its RNG kind and ensemble settings, whatever the worker's
collection_fit_one <- function(job, model, args, rng_kind, settings, progress = NULL) {
  op <- options(tsattn.ensemble = settings)
  rng <- rng_state()
  on.exit({
    options(op)
    rng_restore(rng)
  })
  suppressWarnings(RNGkind(rng_kind[1L], rng_kind[2L], rng_kind[3L]))
  # the call names the series by its key (its forecast's `series`)
  where <- new.env(parent = asNamespace("tsattn"))
  assign(job$key, job$y, envir = where)
  cl <- as.call(c(list(quote(tsattn), y = as.name(job$key), model = model), args,
                  list(seed = job$seed, verbose = FALSE)))
  res <- tryCatch(eval(cl, where), error = function(e) e)
  if (!is.null(progress)) progress(message = job$key)
  res
}

# one series' forecast from a collection of local fits, as predict(<its fit>, seed = <its
# seed>) gives it in the calling session, whatever the worker; an error is returned
collection_forecast_one <- function(k, fits, seeds, h, level, npaths, device, rng_kind) {
  rng <- rng_state()
  on.exit(rng_restore(rng))
  suppressWarnings(RNGkind(rng_kind[1L], rng_kind[2L], rng_kind[3L]))
  tryCatch({
    fc <- predict(fits[[k]], h = h, level = level, npaths = npaths, seed = seeds[[k]],
                  device = device)
    fc$series <- k
    fc
  }, error = function(e) e)
}

# R's RNG kind and state (.Random.seed, or none), and their restoration
rng_state <- function() {
  env <- globalenv()
  list(kind = RNGkind(),
       seed = if (exists(".Random.seed", envir = env, inherits = FALSE)) get(".Random.seed", envir = env))
}

rng_restore <- function(state) {
  env <- globalenv()
  suppressWarnings(RNGkind(state$kind[1L], state$kind[2L], state$kind[3L]))
  if (is.null(state$seed)) {
    if (exists(".Random.seed", envir = env, inherits = FALSE)) rm(".Random.seed", envir = env)
  } else assign(".Random.seed", state$seed, envir = env)
}

# the fit of one key (of a global model: the series' view of it, global_view()); an
# error listing the keys when there is none
collection_member <- function(object, key, call = sys.call(-1L)) {
  keys <- object$keys
  if (is.null(key) || !is.character(key) || length(key) != 1L || !key %in% keys)
    stop_arg("key", sprintf("one of the series' keys (%s%s)",
                            paste0("\"", utils::head(keys, 5L), "\"", collapse = ", "),
                            if (length(keys) > 5L) sprintf(", ... %d in all", length(keys)) else ""),
             describe(key), call = call)
  if (!isTRUE(object$global)) return(object$fits[[key]])
  validate_global(object, call = call)
  global_view(object, key)
}

#' @export
print.tsattn_collection <- function(x, ...) {
  if (isTRUE(x$global)) return(print_global(x))
  n <- vapply(x$fits, function(f) length(f$x), 1L)
  cat(x$method, "\n", sep = "")
  cat(sprintf("series: %d, frequency %g, %d to %d observations\n", length(x$keys), x$frequency,
              min(n), max(n)))
  m <- table(vapply(x$fits, function(f) sub(" \\(lookback.*$", "", f$method), ""))
  for (i in seq_along(m)) cat(sprintf("  %s: %d\n", names(m)[i], m[[i]]))
  cat(sprintf("fitted in %.1f s; keys: %s%s\n", x$train_time,
              paste0("\"", utils::head(x$keys, 5L), "\"", collapse = ", "),
              if (length(x$keys) > 5L) ", ..." else ""))
  invisible(x)
}

#' @export
summary.tsattn_collection <- function(object, ...) {
  if (isTRUE(object$global)) return(summary_global(object))
  print(object)
  f <- object$fits
  df <- data.frame(
    key = object$keys,
    n = vapply(f, function(g) length(g$x), 1L),
    start = vapply(f, function(g) format_time(stats::time(g$x)[1L], object$frequency), ""),
    end = vapply(f, function(g) format_time(utils::tail(stats::time(g$x), 1L), object$frequency), ""),
    method = vapply(f, function(g) g$method, ""),
    row.names = NULL, stringsAsFactors = FALSE)
  cat("\n")
  print(df, right = FALSE)
  invisible(df)
}

# ---- forecast ----------------------------------------------------------------------------

#' @rdname forecast.tsattn
#' @rawNamespace S3method(forecast::forecast, tsattn_collection)
forecast.tsattn_collection <- function(object, h = NULL, level = c(80, 95), xreg = NULL,
                                       npaths = 1000, seed = NULL, device = "cpu", ...) {
  if (!is.null(xreg))
    stop_arg("xreg", "NULL: the models were fitted without regressors", describe(xreg))
  if (!is.null(h)) h <- check_count(h, "h")
  level <- check_level(level)
  npaths <- check_count(npaths, "npaths")
  call <- sys.call()
  keys <- object$keys
  seeds <- derive_seeds(seed, keys)
  if (isTRUE(object$global)) {
    h <- forecast_h(list(x = object$series[[1L]]), h)
    validate_global(object)
    device <- check_device(device, object$networks[[1L]])
    fcs <- forecast_global(object, h, level, npaths, seeds, device, call)
    return(structure(list(forecast = fcs, method = vapply(fcs, function(f) f$method, ""),
                          model = object, x = lapply(fcs, function(f) f$x), seeds = seeds),
                     class = c("tsattn_mforecast", "mforecast")))
  }
  # local models forecast where future::plan() says, as they were fitted: each series with
  # its own seed and the caller's RNG kind, so every plan gives the same forecasts
  need_future(call)
  rng <- rng_state()
  on.exit(rng_restore(rng), add = TRUE)
  # (the caller's kind, taken here: an argument `RNGkind()` would be a promise forced in
  # the future, under the kind future.seed sets there)
  kind <- RNGkind()
  fcs <- future.apply::future_lapply(
    keys, collection_forecast_one, fits = object$fits, seeds = seeds, h = h, level = level,
    npaths = npaths, device = device, rng_kind = kind, future.seed = TRUE,
    future.packages = "tsattn")
  names(fcs) <- keys
  bad <- vapply(fcs, inherits, NA, "error")
  if (any(bad))
    stop(simpleError(sprintf("series \"%s\": %s", keys[bad][1L], conditionMessage(fcs[[which(bad)[1L]]])),
                     call = call))
  structure(list(forecast = fcs, method = vapply(fcs, function(f) f$method, ""), model = object,
                 x = lapply(fcs, function(f) f$x), seeds = seeds),
            class = c("tsattn_mforecast", "mforecast"))
}

#' @rdname forecast.tsattn
#' @export
predict.tsattn_collection <- function(object, h = NULL, level = c(80, 95), xreg = NULL,
                                      npaths = 1000, seed = NULL, device = "cpu",
                                      newdata = NULL, ...) {
  forecast.tsattn_collection(object, h = h, level = level, xreg = xreg, npaths = npaths,
                             seed = seed, device = device)
}

#' @rdname forecast.tsattn
#' @param x A `tsattn_mforecast` (several series' forecasts).
#' @param row.names,optional Not used (for the `as.data.frame()` generic).
#' @export
as.data.frame.tsattn_mforecast <- function(x, row.names = NULL, optional = FALSE, ...) {
  out <- lapply(names(x$forecast), function(k) {
    f <- x$forecast[[k]]
    d <- data.frame(key = rep(k, length(f$mean)), time = as.numeric(stats::time(f$mean)),
                    mean = as.numeric(f$mean), stringsAsFactors = FALSE)
    lo <- matrix(as.numeric(f$lower), length(f$mean))
    hi <- matrix(as.numeric(f$upper), length(f$mean))
    for (i in seq_along(f$level)) {
      d[[paste0("lower_", f$level[i])]] <- lo[, i]
      d[[paste0("upper_", f$level[i])]] <- hi[, i]
    }
    d
  })
  out <- do.call(rbind, out)
  rownames(out) <- NULL
  out
}

# ---- attention and plots of a fit ----------------------------------------------------

#' @rdname attention
#' @param key For a collection of series (a fit or forecast of several series): the key of
#'   the series whose attention is wanted.
#' @export
attention.tsattn_collection <- function(object, key = NULL, device = "cpu", ...) {
  f <- collection_member(object, key, call = sys.call())
  attention(f, device = device)
}

#' @rdname autoplot.tsattn
#' @method autoplot tsattn_collection
#' @rawNamespace S3method(ggplot2::autoplot, tsattn_collection)
autoplot.tsattn_collection <- function(object, key = NULL, ...) {
  f <- collection_member(object, key, call = sys.call())
  autoplot.tsattn(f, ...)
}

#' @rdname plot.tsattn
#' @export
plot.tsattn_collection <- function(x, key = NULL, ...) {
  f <- collection_member(x, key, call = sys.call())
  plot.tsattn(f, ...)
}
