# Numeric faults (issue 15, item 6): degenerate and large series, integer ts and
# regressors with a constant or duplicated column give a finite forecast (mean and
# intervals) or a clear error naming the argument, never NaN, Inf or a crash, for the
# default ensemble and for named models.

old <- options(tsattn.threads = 1)
on.exit(options(old), add = TRUE)

expect_finite_forecast <- function(fit, h = 6, ...) {
  fc <- predict(fit, h = h, npaths = 50, seed = 1, ...)
  expect_s3_class(fc, "tsattn_forecast")
  expect_length(fc$mean, h)
  expect_true(all(is.finite(fc$mean)))
  expect_true(all(is.finite(fc$lower)) && all(is.finite(fc$upper)))
  expect_true(all(fc$lower <= fc$upper))
  invisible(fc)
}
fit_model <- function(y, model, ...) {
  if (model == "auto") tsattn(y, seed = 1, verbose = FALSE, ...)
  else tsattn(y, model = model, epochs = 3, seed = 1, verbose = FALSE, ...)
}
models <- c("auto", "gru", "attention")

test_that("a constant and an all-zero series forecast their value", {
  for (v in c(5, 0, -3)) for (freq in c(1, 12)) {
    y <- ts(rep(v, 48), frequency = freq)
    for (m in models) {
      fc <- expect_finite_forecast(fit_model(y, m))
      expect_equal(as.numeric(fc$mean), rep(v, 6), tolerance = 1e-6)
    }
  }
})

test_that("a series of 5 points forecasts; fewer is an error naming y", {
  y <- ts(c(1, 3, 2, 5, 4))
  for (m in models) expect_finite_forecast(fit_model(y, m))
  expect_error(tsattn(ts(c(1, 3, 2, 5)), seed = 1, verbose = FALSE), "`y` must have at least 5 observations")
})

test_that("an integer ts forecasts as its double copy does", {
  yi <- ts(as.integer(round(AirPassengers)), start = c(1949, 1), frequency = 12)
  yd <- yi
  storage.mode(yd) <- "double"
  for (m in models) {
    fi <- expect_finite_forecast(fit_model(yi, m))
    fd <- predict(fit_model(yd, m), h = 6, npaths = 50, seed = 1)
    expect_equal(fi$mean, fd$mean)
  }
})

test_that("regressors with a constant or a duplicated column forecast", {
  y <- AirPassengers
  n <- length(y)
  set.seed(1)
  tr <- seq_len(n) / n
  cases <- list(
    constant = list(cbind(a = rnorm(n), c = 1), cbind(a = rnorm(6), c = 1)),
    zero = list(cbind(z = rep(0, n)), cbind(z = rep(0, 6))),
    duplicated = list(cbind(a = tr, b = tr), cbind(a = (n + 1:6) / n, b = (n + 1:6) / n))
  )
  for (cs in cases) for (m in c("gru", "attention")) {
    f <- fit_model(y, m, xreg = cs[[1]])
    expect_true(all(is.finite(f$xreg_scale)) && all(f$xreg_scale > 0))
    expect_finite_forecast(f, xreg = cs[[2]])
  }
  # the default with regressors (the transformer and seq2seq combination)
  f <- tsattn(y, xreg = cases$duplicated[[1]], epochs = 2, seed = 1, verbose = FALSE)
  expect_finite_forecast(f, xreg = cases$duplicated[[2]])
})

test_that("a long series: the backbone has no integer overflow, a named model forecasts", {
  # t * t of the Theta backbone's regression overflowed an integer beyond 46,340 points:
  # tsattn(y) of 100,000 points failed with NaN windows (bench/long-series.R measures it)
  set.seed(1)
  a <- cumsum(rnorm(1e5, sd = 0.1))
  bb <- tsattn:::theta_backbone(a)
  expect_true(all(is.finite(bb$drift)) && all(is.finite(bb$level)))
  expect_equal(bb$drift[1e5], unname(coef(lm(a ~ seq_along(a)))[2]) / 2, tolerance = 1e-6)
  y <- ts(10 + sin(2 * pi * seq_len(5000) / 24) + cumsum(rnorm(5000, sd = 0.05)), frequency = 24)
  expect_finite_forecast(tsattn(y, model = "gru", epochs = 1, seed = 1, verbose = FALSE), h = 48)
  # the default's networks train on the last `max_windows` windows (5000; here 300, with
  # fewer epochs, to keep the test short): the same fit as on the series' last part
  old <- options(tsattn.ensemble = list(max_windows = 300L, epochs = 2L, members = 2L))
  on.exit(options(old), add = TRUE)
  f <- tsattn(y, seed = 1, verbose = FALSE)
  expect_identical(unname(vapply(f$members, function(m) nrow(m$history), 1L)), c(2L, 2L))
  expect_finite_forecast(f, h = 48)
  # a member's training windows: the last 300 origins, ending H steps before the end
  expect_identical(tsattn:::member_origins(24L, 5000L, 48L, 300L), 4653:4952)
  expect_identical(tsattn:::member_origins(24L, 100L, 10L, 5000L), 24:90)
  expect_identical(tsattn:::ensemble_defaults$max_windows, 5000L)
})

test_that("a diverged default ensemble warns and forecasts finite values, never Inf", {
  # an optimizer given to tsattn() reaches the ensemble's networks (it was an error about
  # a formal argument matched twice)
  # one warning per distinct message of the networks' fits, not one per network
  w <- character()
  d <- withCallingHandlers(
    tsattn(AirPassengers, optimizer = optimizer_adam(lr = 1e8), seed = 1, verbose = FALSE),
    warning = function(e) { w <<- c(w, conditionMessage(e)); invokeRestart("muffleWarning") })
  expect_gte(length(w), 1L)
  expect_identical(anyDuplicated(w), 0L)
  expect_match(w, "^in [0-9]+ of the ensemble's network fits: .*(NaN|diverged)")
  fc <- tryCatch(suppressWarnings(predict(d, h = 12, npaths = 50, seed = 1)),
                 error = function(e) e)
  if (inherits(fc, "error")) {
    expect_match(conditionMessage(fc), "not finite")
  } else {
    expect_true(all(is.finite(fc$mean)) && all(is.finite(fc$upper)))
  }
  good <- tsattn(AirPassengers, optimizer = optimizer_adam(lr = 1e-3), seed = 1, verbose = FALSE)
  expect_s3_class(good, "tsattn_ensemble")
})

test_that("predict() warns with the count of predictions that overflow float32", {
  net <- sequential(layer_dense(2, bias = FALSE), input_dim = 1)
  net <- set_weights(net, list("0.weight" = matrix(c(1e30, 1), 2, 1)))
  x <- array(c(1e10, 1, 2), c(3, 1, 1))
  expect_warning(p <- predict(net, x, batch_size = 2),
                 "^1 of the 6 predictions are not finite: the weights overflow float32")
  expect_identical(dim(p), c(3L, 1L, 2L))
  expect_identical(p[1, 1, 1], Inf)
  expect_equal(p[, 1, 2], c(1e10, 1, 2), tolerance = 1e-6)
  expect_equal(p[2:3, 1, 1], c(1e30, 2e30), tolerance = 1e-6)
})
