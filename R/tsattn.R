# tsattn(): forecasting ts/mts objects with the package's networks.
#
# The series is transformed (log when it is positive and its swings grow with its
# level), differenced once when it trends, and scaled; windows of `lookback` steps of
# that series (each row with the regressors of the step after it) train a network that
# predicts the next step (or the next `horizon` steps for seq2seq). Forecasts run the
# network recursively on 1000 sample paths in C, adding validation residuals drawn at
# random, and undo the scaling, differencing and transformation.

model_names <- c("gru", "lstm", "attention", "transformer", "seq2seq")

# y as a ts (or mts) with its time attributes; NA is an error that says where
as_series <- function(y, call = sys.call(-1L)) {
  if (is.data.frame(y)) y <- as.matrix(y)
  if (!is.numeric(y) || (!is.null(dim(y)) && length(dim(y)) != 2L))
    stop_arg("y", "a ts or mts object (or a numeric vector)", describe(y), call = call)
  if (!stats::is.ts(y)) {
    message("`y` is not a ts object: frequency 1 is assumed.")
    y <- stats::ts(y, frequency = 1)
  }
  bad <- is.na(y)
  if (any(bad)) {
    tt <- stats::time(y)
    where <- if (is.matrix(y)) which(bad, arr.ind = TRUE)[, 1L] else which(bad)
    stamps <- format_time(tt[where], stats::frequency(y))
    stop_arg("y", "free of missing values (impute or trim them first)",
             sprintf("%d NA value%s, at %s", sum(bad), if (sum(bad) > 1) "s" else "",
                     paste(utils::head(unique(stamps), 5L), collapse = ", ")), call = call)
  }
  if (any(!is.finite(y)))
    stop_arg("y", "finite", sprintf("%d infinite values", sum(!is.finite(y))), call = call)
  y
}

# "1960 Jan", "1960 Q2", "1960" (or the decimal time for other frequencies)
format_time <- function(tt, freq) {
  yr <- floor(tt + 1e-8)
  cycle <- round((tt - yr) * freq) + 1L
  if (freq == 12) return(paste(yr, month.abb[cycle]))
  if (freq == 4) return(paste0(yr, " Q", cycle))
  if (freq == 1) return(as.character(yr))
  if (abs(freq - round(freq)) < 1e-8) return(sprintf("%d.%d", yr, cycle))
  format(round(tt, 3))
}

default_lookback <- function(n, freq) {
  lb <- if (freq > 1) 2 * freq else 10
  as.integer(max(2, min(lb, floor(n / 4))))
}

default_network <- function(model, n_in, n_out, horizon) {
  switch(model,
    gru = sequential(layer_gru(32), layer_last_step(), layer_dense(n_out)),
    lstm = sequential(layer_lstm(32), layer_last_step(), layer_dense(n_out)),
    attention = sequential(layer_dense(16), layer_positional_encoding(),
                           layer_attention(score = "scaled_dot", causal = TRUE),
                           layer_last_step(), layer_dense(16, activation = "relu"),
                           layer_dense(n_out)),
    transformer = sequential(layer_dense(32), layer_positional_encoding(),
                             layer_transformer_encoder(heads = 4, d_ff = 64, dropout = 0.1,
                                                       causal = TRUE),
                             layer_last_step(), layer_dense(n_out)),
    seq2seq = seq2seq(layer_gru(32), layer_gru(32), attention = "additive",
                      horizon = horizon, output_dim = n_out)
  )
}

is_seq2seq <- function(net) any(vapply(net$layers, function(l) identical(l$type, "seq2seq"), TRUE))

#' Forecasting models for time series
#'
#' Fits a recurrent or attention network to a `ts` (one series) or `mts` (several
#' aligned series, forecast jointly) and keeps what [forecast()][forecast.tsattn] needs.
#'
#' The default, `model = "auto"`, for one series without regressors (and without
#' `lookback` or `horizon` given): an ensemble of small attention networks on a classical
#' backbone, as ES-RNN (the M4 winner) puts a network on an exponential-smoothing level
#' and season:
#' * the log when the series is positive; a season (the classical decomposition's indices
#'   on the log scale) where the autocorrelation at the seasonal lag is more than half a
#'   standard error (the test of `forecast::thetaf()`, with a lower threshold than its
#'   1.645);
#' * a backbone on the seasonally adjusted series, computed at every origin: the mean of
#'   Theta (simple exponential smoothing plus half the slope of the least-squares line)
#'   and a damped trend, and for non-seasonal series Holt's linear trend as well (as the
#'   M4 competition's "Comb" benchmark averages exponential smoothing methods);
#' * five attention networks (a dense projection to width 16, positional encoding, causal
#'   scaled-dot attention, the last step, dense layers to `H` outputs), with lookbacks of
#'   one, two and one and a half seasons (4 to 10 steps for non-seasonal series), each
#'   trained for 60 epochs with weight decay on every window of the series (stride 1;
#'   the last 5000 windows of longer series):
#'   inputs are the window minus its level, targets what the backbone misses at steps
#'   1..H (two seasons, or 10 steps; fewer for short series), both over the backbone's
#'   one-step error scale. The networks' average is added to the backbone with a share
#'   (0 or 1/2) chosen per series by rolling origin over its last steps (members fitted
#'   without those steps' targets); 0 unless it lowers that error by 20%;
#' * intervals from the backbone's rolling-origin errors at each step ahead (widened by
#'   1.15, calibrated on M1), as the quantiles of `npaths` simulated paths; the point
#'   forecast is the paths' median path (the forecast before the noise) on the original
#'   scale.
#'
#' These settings were chosen on M1 (a stratified sample of 300 series, checked on the
#' other 701; `bench/m1.R`, results in `bench/M1-RESULTS.md`): there the default has a
#' lower mean MASE than the mean of the ETS, ARIMA and Theta forecasts, and than `ets()`
#' in each of yearly, quarterly and monthly series. Series of 5 observations or
#' more are forecast; `epochs`, `difference` and `patience` do not apply to it.
#' `attention()` of the default is its first network's, over the last window.
#'
#' For named models, and for the default with several series or regressors (the
#' combination of "transformer" and "seq2seq"), the defaults come from the series:
#' * transformation: the log when the series is positive and its swings grow with its
#'   level (the last third's mean and standard deviation both 1.5 times the first
#'   third's), none otherwise;
#' * differencing: at the seasonal lag for seasonal series with three seasons or more
#'   (the network learns how each value differs from the same season a year before), at
#'   lag 1 for other series when a linear trend explains more than half of their
#'   variance, none otherwise;
#' * scaling: to mean 0 and standard deviation 1 (a constant series is only centred);
#' * `lookback`: two seasons (`2 * frequency(y)`) for seasonal series, 10 steps
#'   otherwise, at most a quarter of the series;
#' * validation: the last windows covering `max(frequency, 10%)` of the series hold out
#'   for early stopping (patience 20 epochs) and give the residuals that make the
#'   prediction intervals;
#' * models: "transformer" forecasts one step at a time (feeding its forecasts back) and
#'   "seq2seq" a season at once. "transformer" is a dense projection to width 32,
#'   positional encoding, one causal transformer block (4 heads, feed-forward 64,
#'   dropout 0.1) and a dense output of the last step; "gru" and "lstm" have 32 units;
#'   "attention" is one causal scaled-dot self-attention layer; "seq2seq" a GRU
#'   encoder-decoder with additive attention that predicts `horizon` steps at once.
#'
#' A combination (several names in `model`) fits each model with the same arguments and
#' seed. Its forecast pools the models' sample paths: the point forecast is the average
#' of theirs and the intervals are the quantiles of all paths. `fit$members` holds the
#' single fits; [attention()] and the attention plots of a combination show its first
#' model's attention (`attention(fit$members$seq2seq)` gives the other's).
#'
#' @section Many series:
#' `y` may be a collection of series of one frequency, of different lengths and starts:
#' * a named list of univariate `ts` (the names are the keys), or
#' * a long `data.frame` with columns `key` (character, factor or numeric), `index` and
#'   `value` (numeric), one row per key and period, in any order. `index` is the time as
#'   [time()] of a `ts` gives it (decimal years: `2020 + (0:11) / 12` for monthly data,
#'   whole numbers for yearly; the frequency is the inverse of the smallest step), or a
#'   `zoo::yearmon` (frequency 12) or `zoo::yearqtr` (4), or a `Date` whose dates are a
#'   month, a quarter or a year apart (frequency 12, 4 or 1). Each key's periods must
#'   be consecutive (no gaps). Other columns must be constant within each key (static
#'   covariates, see `static`): time-varying regressor columns are not supported.
#'
#' Members that are empty, only `NA`, have missing values, are too short (5
#' observations for the default) or have another frequency than the rest, duplicated
#' keys or rows, and unnamed lists are errors that name the member.
#'
#' `global = FALSE` (the default for a named `model`) fits one model per series, as
#' `tsattn(y[[key]], model, ...)`
#' would, through [future.apply::future_lapply()] (the package future.apply is needed):
#' your [future::plan()] decides where the fits run (sequentially by default,
#' `plan(multisession)` on the cores of this machine, `plan(cluster)` on others). Each
#' series' fit gets its own seed, drawn from `seed` (or R's RNG) in the order of the
#' series (`fit$seeds`), and runs with the caller's RNG kind, so every plan gives the
#' same models, and `tsattn(y[[key]], seed = fit$seeds[[key]], ...)` the same one again.
#' Progress is reported through progressr when it is installed (turn it on with
#' `progressr::handlers(global = TRUE)`); `verbose` does not apply.
#'
#' `global = TRUE` (the default for the default model, and for it only) trains one set of
#' networks on the
#' windows of every series at once, as DeepAR and N-BEATS do: each series goes through
#' the default's pipeline (log, season, Theta backbone, the remainder on the scale of
#' the backbone's errors), the networks (3, with lookbacks of one, one and a half and two
#' seasons) learn the remainder from the windows of all series, and each series keeps
#' its own share of the networks (0 or 0.5), chosen by rolling origin on its last
#' observations. The windows are cut in C batch by batch, so memory holds the series and
#' not their windows; a collection whose windows exceed 800 batches of 128 trains on a
#' random sample of them (drawn from `seed`). `fit$networks` are the networks,
#' `fit$net_weights` the shares; each series' forecast is the default's forecast with
#' these networks as its members. `options(tsattn.global = list(...))` changes the
#' settings (`R/global.R`).
#'
#' The result has class `c("tsattn_collection", "tsattn")`: `$keys` are the keys; of local
#' models, `$fits` is the named list of fits and `$seeds` their seeds; of a global one,
#' `$series` the series. [forecast()][forecast.tsattn] of it
#' gives a `tsattn_mforecast`, whose `$forecast` is a named list of `tsattn_forecast`
#' and whose [as.data.frame()][forecast.tsattn] is long (key, time, mean, intervals);
#' `attention(fit, key = )` is one series' attention and `autoplot(fc, keys = )` draws
#' some of the series.
#'
#' @param y A `ts` or `mts` object; a numeric vector is accepted (frequency 1 assumed).
#'   Or a collection of series: a named list of `ts` or a long `data.frame` (`key`,
#'   `index`, `value`); see "Many series".
#' @param model "auto" (the default, see above); one of "gru", "lstm", "attention",
#'   "transformer", "seq2seq"; several of them (a combination, see above);
#'   or a network from [sequential()] or [seq2seq()] whose input has
#'   `ncol(y) + ncol(xreg)` features and whose last step outputs `ncol(y)` values.
#' @param lookback Steps of history each prediction sees.
#' @param horizon Steps predicted at once (seq2seq; 1 for the other models, which forecast
#'   recursively; in a combination it is seq2seq's).
#' @param xreg Regressors known in the past and the future: a numeric vector or matrix
#'   with one row per observation of `y`.
#' @param ... Passed to [fit()] (e.g. `optimizer`, `batch_size`).
#' @param epochs Most training epochs (early stopping usually ends sooner).
#' @param lambda `"auto"`, `0` (log) or `NULL` (no transformation).
#' @param difference `"auto"`, `TRUE` (the seasonal lag, or 1), `FALSE`, or the lag.
#' @param patience Epochs without improvement of the validation loss before stopping.
#' @param seed,device,verbose As in [fit()].
#' @param static For a global model of a collection: the series' static covariates, a
#'   `data.frame` with a `key` column and one row per series (numeric and logical columns
#'   are centred and scaled, factor and character columns one-hot), or `"key"`: a one-hot of
#'   the series, whose weights in the networks' first layer are a learned embedding of
#'   each series (at most 5000 series). Every step of every window carries its series'
#'   covariates after the value. A long `data.frame` `y` may carry them as columns that are
#'   constant within each key.
#' @param global For a collection of series: `FALSE` fits one model per series, `TRUE`
#'   one global model across the series (see "Many series"); `NULL` (the default) means
#'   `TRUE` for the default model and `FALSE` for the others. `TRUE` is an error for one
#'   series.
#' @return An object of class `tsattn`: `c("tsattn_ensemble", "tsattn")` for the
#'   default on one series, `c("tsattn_combination", "tsattn")` for several models,
#'   `c("tsattn_collection", "tsattn")` for a collection of series. An interrupt
#'   (Ctrl-C) during training keeps the epochs completed so far: the fit made from them
#'   (of a combination, the models fitted so far) is the `object` of the interrupt
#'   condition, as in [fit()], and is returned by [interrupted_fit()].
#'   A fit whose best validation loss exceeds 1000 (the series is scaled, so predicting
#'   its mean scores about 1) has diverged: `tsattn()` warns and says what to change.
#' @examples
#' fit <- tsattn(AirPassengers, model = "gru", epochs = 30, seed = 1)
#' fit
#' fc <- predict(fit, h = 12) # or forecast::forecast(fit, h = 12)
#'
#' # many series: one global model across them
#' fits <- tsattn(list(male = mdeaths, female = fdeaths), seed = 1)
#' fcs <- predict(fits, h = 12)
#' head(as.data.frame(fcs))
#' # or one model per series, where future::plan() says
#' if (requireNamespace("future.apply", quietly = TRUE)) {
#'   local <- tsattn(list(male = mdeaths, female = fdeaths), seed = 1, global = FALSE)
#' }
#' @export
tsattn <- function(y, model = "auto", lookback = NULL, horizon = NULL,
                   xreg = NULL, ..., epochs = 200, lambda = "auto", difference = "auto",
                   patience = 20, seed = NULL, device = "cpu", verbose = interactive(),
                   global = NULL, static = NULL) {
  call <- match.call()
  if (!is.null(global)) global <- check_flag(global, "global")
  if (is_collection(y)) {
    return(fit_collection(y, model, list(lookback = lookback, horizon = horizon, xreg = xreg,
                                         epochs = epochs, lambda = lambda,
                                         difference = difference, patience = patience,
                                         device = device, static = static, ...), seed, call,
                          global, verbose = verbose))
  }
  if (!is.null(static))
    stop_arg("static", "NULL for one series (static covariates describe the series of a collection)",
             describe(static))
  if (isTRUE(global))
    stop_arg("global", "FALSE for one series (a global model is trained across the series of a collection: a named list of ts or a long data.frame)", "TRUE")
  if (identical(model, "auto")) {
    y <- as_series(y)
    if (NCOL(y) == 1L && is.null(xreg) && is.null(lookback) && is.null(horizon)) {
      check_device(device)
      if (!is.null(seed)) check_seed(seed)
      if (!(identical(lambda, "auto") || is.null(lambda) || identical(lambda, 0) || identical(lambda, 0L)))
        stop_arg("lambda", "\"auto\", 0 (log) or NULL", describe(lambda))
      if (!is.null(lambda) && !identical(lambda, "auto") && any(y <= 0))
        stop_arg("lambda", "NULL for a series with values <= 0", "0")
      return(fit_ensemble(y, lambda, if (is.null(seed)) draw_seed() else seed, device,
                          check_flag(verbose, "verbose"), list(...), call))
    }
    model <- c("transformer", "seq2seq")
  }
  if (!inherits(model, "tsattn_network")) model <- check_models(model)
  if (is.character(model) && length(model) > 1L) {
    y <- as_series(y) # its errors and message once, before any model is fitted
    return(fit_combination(model, y, lookback, horizon, xreg, list(...), epochs, lambda,
                           difference, patience, seed, device, verbose, call))
  }
  y <- as_series(y)
  Y <- as.matrix(y)
  n <- nrow(Y)
  k <- ncol(Y)
  freq <- stats::frequency(y)
  epochs <- check_count(epochs, "epochs")
  patience <- check_count(patience, "patience")
  verbose <- check_flag(verbose, "verbose")
  check_device(device)
  seeds <- check_seed(seed)

  X <- check_xreg(xreg, n)

  # the series as the network sees it (R/transform.R), the network trained on its windows
  # (cut in C from its rows, never written out), and the fit
  trf <- transform_fit(Y, lambda, difference, freq)
  S <- transform_apply(trf, Y)
  rt <- if (!is.null(X)) regressor_fit(X)
  net <- if (is.character(model)) NULL else model
  s2s <- if (is.null(net)) identical(model, "seq2seq") else is_seq2seq(net)
  plan <- window_plan(nrow(S), n, freq, trf$lag, s2s, net, horizon, lookback)
  feat <- window_features(S, if (!is.null(X)) regressor_apply(rt, X), trf$lag)
  if (is.null(net)) net <- default_network(model, ncol(feat), k, plan$horizon)
  trained <- train_windows(net, feat, S, plan, list(...), epochs, patience, seeds[[2L]],
                           device, verbose)
  obj <- single_fit(y, if (is.character(model)) model else "custom", trained, S, plan, trf, X,
                    rt, feat, s2s, call)
  # an interrupt keeps the epochs trained so far: the fit is made from them and the
  # interrupt signalled again, carrying it (R/interrupt.R)
  if (!is.null(trained$interrupted))
    signal_tsattn_interrupt(obj, conditionMessage(trained$interrupted), call)
  obj
}

# ---- the steps of tsattn()'s pipeline for one model ---------------------------------

# the regressors as a finite numeric matrix of n rows (NULL: none)
check_xreg <- function(xreg, n, call = sys.call(-1L)) {
  if (is.null(xreg)) return(NULL)
  X <- as.matrix(xreg)
  if (!is.numeric(X)) stop_arg("xreg", "a numeric vector or matrix", describe(xreg), call = call)
  if (nrow(X) != n)
    stop_arg("xreg", sprintf("%d rows, one per observation of `y`", n), sprintf("%d", nrow(X)),
             verb = "have", call = call)
  if (any(!is.finite(X)))
    stop_arg("xreg", "free of NA, NaN and Inf", sprintf("%d such values", sum(!is.finite(X))),
             call = call)
  X
}

# The windows' shape for N rows of the transformed series (n observations, lag-differenced)
# : list(horizon, lookback, n_win windows, the last n_val of them for validation). seq2seq
# predicts a season ahead by default (fewer steps for short series), other models one step.
window_plan <- function(N, n, freq, lag, s2s, net, horizon, lookback, call = sys.call(-1L)) {
  if (is.null(horizon))
    horizon <- if (s2s) (if (is.null(net)) max(2L, min(as.integer(round(freq)), N %/% 8L)) else
      net$layers[[1L]]$horizon) else 1L
  horizon <- check_count(horizon, "horizon", call = call)
  if (!s2s && horizon != 1L)
    stop_arg("horizon", "1 for models that forecast recursively (use model = \"seq2seq\" for more)",
             format(horizon), call = call)
  lookback <- if (is.null(lookback)) default_lookback(N, freq) else
    check_count(lookback, "lookback", 2L, call = call)
  n_val <- max(1L, as.integer(ceiling(max(freq, 0.1 * N))))
  n_win <- N - lookback - horizon + 1L
  if (n_win < n_val + max(1L, n_val)) {
    min_len <- lookback + horizon + 2L * max(1L, as.integer(ceiling(freq))) + lag
    stop_arg("y", sprintf("at least %d observations for lookback = %d, horizon = %d and a validation window%s (or a smaller lookback)",
                          min_len, lookback, horizon, if (lag > 0L) " after differencing" else ""),
             sprintf("%d", n), verb = "have", call = call)
  }
  list(horizon = horizon, lookback = lookback, n_win = n_win, n_val = min(n_val, n_win %/% 2L))
}

# net trained on the plan's windows of feat [N, F] (inputs) and S [N, k] (targets), the
# last plan$n_val of them validating (early stopping with `patience`), cut in C batch by
# batch (fit_rows()); `args` are tsattn()'s `...` for fit() (batch_size 32 and Adam at
# 3e-3 unless given). list(net, interrupted: the interrupt condition or NULL, secs). A
# diverged fit is a warning.
train_windows <- function(net, feat, S, plan, args, epochs, patience, seed, device, verbose) {
  t0 <- proc.time()[["elapsed"]]
  bs <- if (is.null(args$batch_size)) 32L else args$batch_size
  opt <- if (is.null(args$optimizer)) optimizer_adam(lr = 3e-3) else args$optimizer
  args$batch_size <- args$optimizer <- NULL
  interrupted <- NULL
  fitted_net <- tryCatch(do.call(fit_rows, c(list(net, feat, S, plan$lookback, plan$horizon,
                                                  plan$n_val, epochs = epochs, batch_size = bs,
                                                  optimizer = opt, patience = patience,
                                                  seed = seed, device = device,
                                                  verbose = verbose), args)),
                         tsattn_interrupt = function(e) {
                           interrupted <<- e
                           e$object
                         })
  secs <- proc.time()[["elapsed"]] - t0
  # the series is scaled, so predicting its mean scores about 1: a best validation loss
  # a thousand times that is a diverged fit, whose forecasts would be meaningless
  vl <- fitted_net$history$val_loss
  if (is.null(interrupted) && length(vl) && any(is.finite(vl)) && min(vl, na.rm = TRUE) > 1e3)
    warning(sprintf("training diverged: the best validation loss is %.3g on the scaled series, where predicting its mean scores about 1; refit with a smaller learning rate (optimizer_adam(lr = )) or clipnorm",
                    min(vl, na.rm = TRUE)), call. = FALSE)
  list(net = fitted_net, interrupted = interrupted, secs = secs)
}

# The fit of series y: the trained network's in-sample predictions, residuals in model space
# (validation ones per step ahead for seq2seq), fitted values and residuals on the original
# scale at the targets' times, sealed with its checksum.
single_fit <- function(y, model, trained, S, plan, trf, X, rt, feat, s2s, call) {
  Y <- as.matrix(y)
  n <- nrow(Y)
  k <- ncol(Y)
  n_win <- plan$n_win
  horizon <- plan$horizon
  L <- plan$lookback
  va <- (n_win - plan$n_val + 1L):n_win
  # window i's prediction, and its targets: rows i + L .. i + L + horizon - 1 of S
  pred <- predict_rows(trained$net, feat, L, n_win)
  p1 <- pred[, dim(pred)[2L] - horizon + 1L, , drop = FALSE]
  p1 <- matrix(p1[, 1L, ], n_win, k)
  rs <- matrix(S[L + seq_len(n_win), ], n_win, k) - p1
  val_resid <- if (s2s) {
    lapply(seq_len(horizon), function(h)
      matrix(S[va + L + h - 1L, ], length(va), k) - matrix(pred[va, h, ], length(va), k))
  } else list(rs[va, , drop = FALSE])
  obj <- structure(list(
    x = y, model = model, network = trained$net,
    lookback = plan$lookback, horizon = horizon, log = trf$log, difference = trf$lag > 0L,
    lag = trf$lag, center = trf$center, scale = trf$scale, xreg = X, xreg_center = rt$center,
    xreg_scale = rt$scale, features = feat, val_resid = val_resid, resid_scaled = rs,
    n_val = plan$n_val, history = trained$net$history, train_time = trained$secs,
    seq2seq = s2s, call = call
  ), class = "tsattn")
  target_idx <- (plan$lookback + 1L):(plan$lookback + n_win) + trf$lag
  fitted <- matrix(NA_real_, n, k)
  fitted[target_idx, ] <- transform_invert_step(trf, Y, p1, target_idx[[1L]])
  obj$fitted <- like_series(drop_if_one(fitted), y)
  obj$residuals <- like_series(drop_if_one(Y - fitted), y)
  obj$val_mae <- mean(abs((Y - fitted)[utils::tail(target_idx, plan$n_val), ]))
  obj$method <- method_label(obj)
  seal_fit(obj)
}

# "series: ..." and "regressors: ..." lines of print()
print_series_line <- function(x) {
  y <- x$x
  k <- NCOL(y)
  cat(sprintf("series: %s%d observations, frequency %g, %s to %s\n",
              if (k > 1) sprintf("%d series, ", k) else "", NROW(y), stats::frequency(y),
              format_time(stats::time(y)[1L], stats::frequency(y)),
              format_time(stats::time(y)[NROW(y)], stats::frequency(y))))
  if (!is.null(x$xreg)) cat(sprintf("regressors: %d\n", ncol(x$xreg)))
}

drop_if_one <- function(m) if (ncol(m) == 1L) m[, 1L] else m

# v as a ts with exactly y's time attributes (and column names)
like_series <- function(v, y) {
  out <- stats::ts(v)
  stats::tsp(out) <- stats::tsp(y)
  if (is.matrix(out)) colnames(out) <- colnames(y)
  out
}

method_label <- function(obj) {
  net <- obj$network
  what <- if (obj$model == "custom") "custom network" else obj$model
  sprintf("tsattn %s(lookback = %d%s)%s%s", what, obj$lookback,
          if (obj$horizon > 1L) sprintf(", horizon = %d", obj$horizon) else "",
          if (obj$log) " on log" else "",
          if (obj$lag > 1L) sprintf(", lag-%d differences", obj$lag) else if (obj$lag == 1L) ", differenced" else "")
}

#' @export
print.tsattn <- function(x, ...) {
  cat(x$method, "\n", sep = "")
  print_series_line(x)
  np <- network_layout(x$network)$n_params
  h <- x$history
  best <- if (nrow(h)) sprintf(" (best validation epoch %d)", which.min(h$val_loss)) else ""
  cat(sprintf("network: %s parameters; trained %d epochs in %.1f s%s\n",
              format(np, big.mark = ","), nrow(h), x$train_time, best))
  cat(sprintf("validation: MAE %.4g over the last %d observations\n", x$val_mae, x$n_val))
  invisible(x)
}

#' @export
summary.tsattn <- function(object, ...) {
  print(object)
  cat("\n")
  print(object$network)
  invisible(object)
}
