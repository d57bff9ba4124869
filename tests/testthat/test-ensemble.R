# The default tsattn(y) (R/ensemble.R) on the shortest series it accepts: M1's shortest are
# 9 yearly, 10 quarterly and 30 monthly points, and every series of 5 or more points must
# get finite forecasts and intervals (issue 11); fewer than 5 is an error naming `y`.

expect_finite_forecast <- function(y, h) {
  fit <- tsattn(y, seed = 1, verbose = FALSE)
  expect_s3_class(fit, "tsattn_ensemble")
  fc <- forecast::forecast(fit, h = h, seed = 1)
  expect_length(fc$mean, h)
  expect_true(all(is.finite(fc$mean)))
  expect_true(all(is.finite(fc$lower)) && all(is.finite(fc$upper)))
  # the 95% interval holds the 80% one, which holds the point forecast
  expect_true(all(fc$lower[, 2L] <= fc$lower[, 1L] & fc$lower[, 1L] <= fc$mean &
                    fc$mean <= fc$upper[, 1L] & fc$upper[, 1L] <= fc$upper[, 2L]))
  expect_false(is.null(attention(fit)))
  invisible(fc)
}

test_that("the default forecasts very short yearly, quarterly and monthly series", {
  yearly <- c(112, 118, 121, 130, 128, 137, 141, 150, 149, 158)
  quarterly <- c(40, 55, 61, 38, 43, 59, 66, 41, 47, 63)
  monthly <- c(210, 198, 225, 240, 262, 281, 290, 284, 260, 241, 222, 230)
  for (n in c(5L, 9L, 10L)) {
    expect_finite_forecast(stats::ts(yearly[seq_len(n)], start = 1970), 6)
    expect_finite_forecast(stats::ts(quarterly[seq_len(n)], start = c(1980, 1), frequency = 4), 8)
    expect_finite_forecast(stats::ts(monthly[seq_len(n)], start = c(1980, 1), frequency = 12), 18)
  }
  # a constant series and one with zeros and negative values (no log)
  expect_finite_forecast(stats::ts(rep(7, 9), start = 1970), 6)
  expect_finite_forecast(stats::ts(c(0, -3, 2, 0, 5, -1, 4, 6, 3, 8), frequency = 4), 8)
})

test_that("fewer than 5 observations is an error naming `y`", {
  for (n in 1:4) {
    expect_error(tsattn(stats::ts(seq_len(n) + 10), verbose = FALSE),
                 "`y` must have at least 5 observations")
    expect_error(tsattn(stats::ts(seq_len(n) + 10, frequency = 12), verbose = FALSE),
                 "`y` must have at least 5 observations")
  }
})

test_that("the damped-trend recursion in C gives the R loop's numbers", {
  # the recursion as R/ensemble.R wrote it before it moved to src/ta_smooth.c
  in_r <- function(a, alpha, beta, phi) {
    n <- length(a)
    level <- trend <- numeric(n)
    lp <- a[1L]
    bp <- if (n >= 3L) (a[3L] - a[1L]) / 2 else 0
    sse <- 0
    for (t in seq_len(n)) {
      f <- lp + phi * bp
      sse <- sse + (a[t] - f)^2
      l <- alpha * a[t] + (1 - alpha) * f
      bp <- beta * (l - lp) + (1 - beta) * phi * bp
      lp <- l
      level[t] <- l
      trend[t] <- bp
    }
    list(level = level, trend = trend, sse = sse)
  }
  ns <- asNamespace("tsattn")
  set.seed(3)
  for (a in list(log(as.numeric(AirPassengers)), as.numeric(Nile), c(2, 5), 7, cumsum(rnorm(40)))) {
    for (p in list(c(0.5, 0.05, 0.9), c(1, 1, 1), c(0.01, 0.01, 0.8))) {
      expect_identical(ns$damped_states(a, p[1], p[2], p[3]), in_r(a, p[1], p[2], p[3]))
      expect_identical(ns$damped_states(a, p[1], p[2], p[3], FALSE)$sse, in_r(a, p[1], p[2], p[3])$sse)
    }
  }
  expect_error(ns$damped_states(c(1, NA, 3), 0.5, 0.1, 0.9), "'a' must be finite")
  expect_error(ns$damped_states(numeric(), 0.5, 0.1, 0.9), "'a' must be a non-empty")
  expect_error(ns$damped_states(1:3, NaN, 0.1, 0.9), "'alpha' must be one finite number")
})
