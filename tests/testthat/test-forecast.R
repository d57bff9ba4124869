# tsattn() and forecast(): real series, the forecast object, intervals, time stamps,
# attention, accuracy() interoperation, and bad input.

fit_quick <- function(y, model = "gru", ...) {
  tsattn(y, model = model, epochs = 40, seed = 1, verbose = FALSE, ...)
}

expect_forecast_object <- function(fc, y, h, level = c(80, 95)) {
  expect_s3_class(fc, c("tsattn_forecast", "forecast"), exact = TRUE)
  freq <- stats::frequency(y)
  expect_identical(stats::frequency(fc$mean), freq)
  expect_equal(stats::tsp(fc$mean)[1L], stats::tsp(y)[2L] + 1 / freq)
  expect_length(fc$mean, h)
  expect_identical(dim(fc$lower), as.integer(c(h, length(level))))
  expect_identical(dim(fc$upper), as.integer(c(h, length(level))))
  expect_identical(colnames(fc$lower), paste0(level, "%"))
  expect_equal(stats::tsp(fc$lower), stats::tsp(fc$mean))
  expect_identical(fc$level, level)
  expect_true(all(is.finite(fc$mean)))
  # intervals contain the mean and are nested (the wider level outside the narrower)
  expect_true(all(fc$lower <= fc$mean & fc$mean <= fc$upper))
  if (length(level) > 1L) {
    expect_true(all(fc$lower[, 2] <= fc$lower[, 1]))
    expect_true(all(fc$upper[, 2] >= fc$upper[, 1]))
  }
  expect_equal(stats::tsp(fc$fitted), stats::tsp(y))
  expect_equal(stats::tsp(fc$residuals), stats::tsp(y))
  expect_equal(as.numeric(fc$residuals), as.numeric(y - fc$fitted))
  expect_type(fc$method, "character")
  expect_s3_class(fc$model, "tsattn")
}

test_that("every model forecasts a monthly series with a proper forecast object", {
  for (model in c("gru", "lstm", "attention", "transformer", "seq2seq")) {
    fit <- fit_quick(AirPassengers, model)
    expect_s3_class(fit, "tsattn")
    expect_match(fit$method, model)
    fc <- forecast::forecast(fit, h = 15, seed = 2)
    expect_forecast_object(fc, AirPassengers, 15)
    # forecasts are on the series' scale, not the model's
    expect_gt(min(fc$mean), 200)
    expect_lt(max(fc$mean), 1500)
  }
})

test_that("the default tsattn(y) forecasts AirPassengers well", {
  # (its speed is measured in bench/, not here)
  train <- stats::window(AirPassengers, end = c(1958, 12))
  test <- stats::window(AirPassengers, start = c(1959, 1))
  fit <- tsattn(train, seed = 1, verbose = FALSE)
  fc <- forecast::forecast(fit, h = 24, seed = 1)
  acc <- forecast::accuracy(fc, test)
  expect_identical(rownames(acc), c("Training set", "Test set"))
  expect_true(all(is.finite(acc[, "MASE"])))
  # a seasonal naive forecast has MASE 1 on the training set's scale; we must do
  # clearly better on the test years than twice that
  expect_lt(acc["Test set", "MASE"], 2)
})

test_that("predict() is forecast(); levels, h and the seed are respected", {
  fit <- fit_quick(ldeaths)
  a <- predict(fit, h = 6, level = c(50, 90, 99), seed = 3)
  b <- forecast::forecast(fit, h = 6, level = c(50, 90, 99), seed = 3)
  expect_identical(a$mean, b$mean)
  expect_forecast_object(a, ldeaths, 6, c(50, 90, 99))
  c2 <- forecast::forecast(fit, h = 6, level = c(50, 90, 99), seed = 4)
  expect_false(identical(a$lower, c2$lower))
  expect_identical(length(forecast::forecast(fit, seed = 1)$mean), 24L) # two seasons
})

test_that("a non-seasonal annual series and a plain vector work", {
  fit <- fit_quick(Nile)
  fc <- forecast::forecast(fit, h = 5, seed = 1)
  expect_forecast_object(fc, Nile, 5)
  expect_message(fitv <- fit_quick(as.numeric(Nile)), "frequency 1 is assumed")
  expect_identical(stats::frequency(fitv$x), 1)
})

test_that("several aligned series are forecast jointly (mts)", {
  y <- cbind(mdeaths, fdeaths)
  fit <- fit_quick(y)
  fc <- forecast::forecast(fit, h = 12, seed = 1)
  expect_s3_class(fc, "mforecast")
  expect_named(fc$forecast, c("mdeaths", "fdeaths"))
  expect_forecast_object(fc$forecast$mdeaths, mdeaths, 12)
  expect_forecast_object(fc$forecast$fdeaths, fdeaths, 12)
  expect_gt(mean(fc$forecast$mdeaths$mean), mean(fc$forecast$fdeaths$mean))
})

test_that("xreg: regressors known in the past and the future", {
  set.seed(5)
  n <- 120
  x <- rep(c(0, 0, 0, 1), length.out = n + 12)
  y <- stats::ts(10 + 5 * x[1:n] + stats::rnorm(n, sd = 0.3), frequency = 4)
  fit <- tsattn(y, model = "gru", xreg = x[1:n], epochs = 80, seed = 1, verbose = FALSE,
                lambda = NULL, difference = FALSE)
  fc <- forecast::forecast(fit, h = 12, xreg = x[n + 1:12], seed = 1)
  # the forecast follows the future regressor: high where x = 1
  expect_gt(mean(fc$mean[x[n + 1:12] == 1]) - mean(fc$mean[x[n + 1:12] == 0]), 3)
  expect_error(forecast::forecast(fit, h = 12), "`xreg` must be the future values of the 1 regressor")
  expect_error(forecast::forecast(fit, h = 12, xreg = x[1:5]), "`xreg` must have 12 rows")
  expect_error(tsattn(y, xreg = x[1:10], verbose = FALSE), "`xreg` must have 120 rows")
})

test_that("attention of a fit and of a forecast carries time stamps", {
  fit <- fit_quick(AirPassengers, "transformer")
  a <- attention(fit)
  expect_s3_class(a, "tsattn_attention")
  expect_identical(names(dimnames(a)), c("query", "key", "head"))
  expect_identical(dim(a), c(24L, 24L, 4L))
  expect_identical(dimnames(a)$key[24], "1960 Dec")
  expect_identical(dimnames(a)$key[1], "1959 Jan")
  expect_equal(apply(a, c(1, 3), sum), matrix(1, 24, 4), tolerance = 1e-6,
               ignore_attr = TRUE)
  fc <- forecast::forecast(fit, h = 3, seed = 1)
  expect_identical(attention(fc), a)
  df <- as.data.frame(a)
  expect_named(df, c("query_time", "key_time", "head", "layer", "weight"))
  expect_identical(nrow(df), 24L * 24L * 4L)
  expect_equal(sum(df$weight), 24 * 4, tolerance = 1e-6)
  # seq2seq: query = forecast times, key = the window
  s2s <- fit_quick(AirPassengers, "seq2seq")
  a2 <- attention(s2s)
  expect_identical(dimnames(a2)$query[1], "1961 Jan")
  expect_identical(dimnames(a2)$key[24], "1960 Dec")
  # gru has no attention
  expect_null(attention(fit_quick(AirPassengers, "gru")))
})

test_that("print() and summary() describe the fit", {
  fit <- fit_quick(AirPassengers)
  expect_output(print(fit), "tsattn gru\\(lookback = 24\\)")
  expect_output(print(fit), "144 observations, frequency 12, 1949 Jan to 1960 Dec")
  expect_output(print(fit), "parameters; trained [0-9]+ epochs in [0-9.]+ s")
  expect_output(print(fit), "validation: MAE")
  expect_output(summary(fit), "<tsattn network>")
  fc <- forecast::forecast(fit, h = 2, seed = 1)
  expect_output(print(fc), "1961 Jan")
})

test_that("a saved fit forecasts the same after readRDS", {
  fit <- fit_quick(ldeaths)
  f <- tempfile(fileext = ".rds")
  on.exit(unlink(f))
  saveRDS(fit, f)
  back <- readRDS(f)
  expect_identical(forecast::forecast(back, h = 4, seed = 9)$mean,
                   forecast::forecast(fit, h = 4, seed = 9)$mean)
})

test_that("bad input is an error naming the argument", {
  expect_error(tsattn("a"), "`y` must be a ts or mts object")
  y <- AirPassengers
  y[c(5, 40)] <- NA
  expect_error(tsattn(y, verbose = FALSE), "`y` must be free of missing values.*2 NA values, at 1949 May, 1952 Apr")
  expect_error(tsattn(stats::ts(1:20, frequency = 12), model = "gru", verbose = FALSE),
               "`y` must have at least [0-9]+ observations for lookback")
  expect_error(tsattn(stats::ts(1:4), verbose = FALSE), "`y` must have at least 5 observations")
  expect_error(tsattn(AirPassengers, model = "prophet"), "`model` must be one or more of \"gru\".*not \"prophet\"")
  expect_error(tsattn(AirPassengers, model = 3), "`model` must be one or more of")
  expect_error(tsattn(AirPassengers, model = character()), "`model` must be one or more of")
  expect_error(tsattn(AirPassengers, model = c("gru", NA)), "`model` must be one or more of")
  expect_error(tsattn(AirPassengers, model = c("gru", "lstm", "gru")),
               "`model` must be a set of different model names, not \"gru\" twice")
  expect_error(tsattn(AirPassengers, xreg = "a", verbose = FALSE), "`xreg` must be a numeric")
  fit <- fit_quick(ldeaths)
  expect_error(forecast::forecast(fit, h = 0), "`h` must be a whole number >= 1")
  expect_error(forecast::forecast(fit, h = -2), "`h` must be")
  expect_error(forecast::forecast(fit, level = 100), "`level` must be confidence levels in \\(0, 100\\)")
  expect_error(forecast::forecast(fit, level = c(0, 80)), "`level` must be")
  expect_error(forecast::forecast(fit, xreg = 1:3), "`xreg` must be NULL")
})

test_that("a constant series forecasts its constant without NaN", {
  y <- stats::ts(rep(5, 60), frequency = 12)
  fit <- tsattn(y, model = "gru", epochs = 10, seed = 1, verbose = FALSE)
  fc <- forecast::forecast(fit, h = 6, seed = 1)
  expect_true(all(is.finite(fc$mean)))
  expect_lt(max(abs(fc$mean - 5)), 0.5)
})

test_that("model = c(\"transformer\", \"seq2seq\") combines the two", {
  fit <- tsattn(ldeaths, model = c("transformer", "seq2seq"), epochs = 15, seed = 1, verbose = FALSE)
  expect_s3_class(fit, c("tsattn_combination", "tsattn"), exact = TRUE)
  expect_named(fit$members, c("transformer", "seq2seq"))
  expect_identical(fit$model, c("transformer", "seq2seq"))
  expect_identical(fit$method, sprintf(
    "tsattn combination of transformer(lookback = %d) and seq2seq(lookback = %d, horizon = %d), lag-12 differences",
    fit$lookback, fit$lookback, fit$members$seq2seq$horizon))
  out <- capture.output(print(fit))
  expect_match(out[1L], "tsattn combination of transformer")
  expect_true(any(grepl("^  transformer: [0-9,]+ parameters", out)))
  expect_true(any(grepl("^  seq2seq: [0-9,]+ parameters", out)))
  expect_true(any(grepl("^validation: MAE", out)))
  expect_output(summary(fit), "seq2seq:")
  # the members are the single fits, with the same seed
  single <- tsattn(ldeaths, model = "seq2seq", epochs = 15, seed = 1, verbose = FALSE)
  expect_identical(fit$members$seq2seq$network$weights, single$network$weights)
  expect_equal(fit$train_time, fit$members$transformer$train_time + fit$members$seq2seq$train_time)
  # fitted values: the members' average where both have one, the one that has one else
  f1 <- fit$members$transformer$fitted
  f2 <- fit$members$seq2seq$fitted
  both <- !is.na(f1) & !is.na(f2)
  expect_gt(sum(both), 24)
  expect_equal(as.numeric(fit$fitted)[both], ((f1 + f2) / 2)[both])
  only1 <- !is.na(f1) & is.na(f2)
  expect_equal(as.numeric(fit$fitted)[only1], as.numeric(f1)[only1])
  expect_equal(as.numeric(fit$residuals), as.numeric(ldeaths - fit$fitted))
  # attention() is the first member's
  expect_identical(attention(fit), attention(fit$members$transformer))
})

test_that("a combination's forecast pools the members' sample paths", {
  fit <- tsattn(ldeaths, model = c("gru", "seq2seq"), horizon = 6, epochs = 15, seed = 1,
                verbose = FALSE)
  expect_identical(fit$members$seq2seq$horizon, 6L)
  expect_identical(fit$members$gru$horizon, 1L)
  fc <- forecast::forecast(fit, h = 9, npaths = 200, seed = 5)
  expect_forecast_object(fc, ldeaths, 9)
  expect_identical(fc$model, fit)
  expect_identical(fc$method, fit$method)
  expect_identical(dim(fc$paths), c(400L, 9L))
  # the point forecast is the average of the members' (their paths drawn from the seeds
  # that forecast() draws, one pair per member, from `seed`)
  seeds <- with_seed(5, lapply(fit$members, function(f) c(draw_seed(), draw_seed())))
  p1 <- sample_paths(fit$members$gru, 9, NULL, 200, seeds[[1L]])
  p2 <- sample_paths(fit$members$seq2seq, 9, NULL, 200, seeds[[2L]])
  expect_equal(as.numeric(fc$mean), (colMeans(p1[, , 1L]) + colMeans(p2[, , 1L])) / 2)
  # the same seed repeats it; predict() is forecast()
  expect_identical(forecast::forecast(fit, h = 9, npaths = 200, seed = 5)$mean, fc$mean)
  expect_identical(predict(fit, h = 9, npaths = 200, seed = 5)$upper, fc$upper)
  acc <- forecast::accuracy(fc, stats::ts(rep(1800, 9), start = c(1980, 1), frequency = 12))
  expect_true(all(is.finite(acc[, "MAE"])))
  # loss plots: one panel per model
  skip_if_not_installed("ggplot2")
  b <- ggplot2::ggplot_build(ggplot2::autoplot(fit))
  expect_identical(sort(unique(as.character(b$layout$layout$model))), c("gru", "seq2seq"))
  p <- ggplot2::autoplot(fc)
  expect_s3_class(ggplot2::ggplot_build(p), "ggplot_built")
  # the long description of a combination is wrapped over lines of the title
  expect_identical(gsub("\n", " ", p$labels$title), fc$method)
  expect_true(all(nchar(strsplit(p$labels$title, "\n")[[1L]]) <= 75L))
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off())
  expect_identical(plot(fit), fit)
})

test_that("the default is an attention ensemble on a Theta backbone that forecasts short series", {
  fit <- tsattn(ldeaths, seed = 1, verbose = FALSE)
  expect_s3_class(fit, c("tsattn_ensemble", "tsattn"), exact = TRUE)
  expect_match(fit$method, "tsattn ensemble of 5 attention networks .* on a Theta and damped-trend backbone, log, seasonally adjusted")
  expect_length(fit$members, 5L)
  out <- capture.output(print(fit))
  expect_match(out[1L], "^tsattn ensemble")
  expect_true(any(grepl("^backbone: Theta", out)))
  fc <- forecast::forecast(fit, h = 18, seed = 2)
  expect_forecast_object(fc, ldeaths, 18)
  # reproducible with the seed
  again <- tsattn(ldeaths, seed = 1, verbose = FALSE)
  expect_identical(again$members[[3L]]$network$weights, fit$members[[3L]]$network$weights)
  expect_identical(forecast::forecast(again, h = 18, seed = 2)$upper, fc$upper)
  # attention: the first member's, over time-stamped keys of the last window
  a <- attention(fit)
  expect_identical(dim(a), c(fit$lookback, fit$lookback))
  expect_identical(dimnames(a)$key[fit$lookback], "1979 Dec")
  expect_identical(attention(fc), a)
  expect_equal(rowSums(unclass(a)), rep(1, fit$lookback), ignore_attr = TRUE, tolerance = 1e-5)
  # the shortest series of M1 (9 yearly, 10 quarterly, 30 monthly observations)
  for (y in list(stats::ts(c(12, 14, 13, 17, 18, 21, 20, 24, 26), start = 1970),
                 stats::ts(c(5, 7, 6, 4, 6, 8, 7, 5, 7, 9), start = c(1980, 1), frequency = 4),
                 stats::ts(100 + 10 * sin(1:30 * pi / 6) + 1:30, start = c(1980, 1), frequency = 12))) {
    f <- tsattn(y, seed = 1, verbose = FALSE)
    fy <- forecast::forecast(f, h = 6, seed = 1)
    expect_forecast_object(fy, y, 6)
    expect_false(is.null(attention(f)))
  }
  # a series with zeros or negative values: no log
  z <- stats::ts(c(0, -2, 3, 5, 4, 6, 8, 7, 9, 12, 11, 13))
  fz <- tsattn(z, seed = 1, verbose = FALSE)
  expect_false(fz$log)
  expect_true(all(is.finite(forecast::forecast(fz, h = 4, seed = 1)$mean)))
})
