# tsattn() on a collection of series (a named list of ts or a long data.frame): one local
# model per series through future.apply, forecasts of the collection, and bad collections.
# Short series and the default ensemble (about 0.1 s per series) keep this quick.

skip_if_not_installed("future.apply")
skip_if_not_installed("future")

three <- function() {
  list(air = stats::window(datasets::AirPassengers, end = c(1953, 12)),
       deaths = datasets::ldeaths,
       nile = stats::ts(as.numeric(datasets::Nile)[1:30], start = 1871, frequency = 1))
}
monthly <- function() {
  list(air = stats::window(datasets::AirPassengers, end = c(1953, 12)),
       male = stats::window(datasets::mdeaths, start = 1976),
       female = datasets::fdeaths)
}

# the same collection as a long data.frame
as_long <- function(y) {
  do.call(rbind, lapply(names(y), function(k) {
    data.frame(key = k, index = as.numeric(stats::time(y[[k]])), value = as.numeric(y[[k]]))
  }))
}

# fits and forecasts shared by the tests below
shared <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      fit <- tsattn(monthly(), seed = 7, global = FALSE)
      cache <<- list(fit = fit, fc = forecast::forecast(fit, h = 6, npaths = 200, seed = 3))
    }
    cache
  }
})

test_that("a named list of ts gives one fit per series and a collection forecast", {
  fit <- shared()$fit
  fc <- shared()$fc
  expect_s3_class(fit, c("tsattn_collection", "tsattn"), exact = TRUE)
  expect_named(fit$fits, c("air", "male", "female"))
  expect_identical(fit$keys, c("air", "male", "female"))
  for (f in fit$fits) expect_s3_class(f, "tsattn_ensemble")
  expect_equal(stats::tsp(fit$fits$male$x), stats::tsp(stats::window(datasets::mdeaths, start = 1976)))
  expect_output(print(fit), "3 local models")
  expect_output(summary(fit), "1976 Jan")

  expect_s3_class(fc, c("tsattn_mforecast", "mforecast"), exact = TRUE)
  expect_named(fc$forecast, c("air", "male", "female"))
  for (k in names(fc$forecast)) {
    f <- fc$forecast[[k]]
    expect_s3_class(f, c("tsattn_forecast", "forecast"), exact = TRUE)
    expect_identical(f$series, k)
    expect_length(f$mean, 6L)
    expect_equal(stats::tsp(f$mean)[1L], stats::tsp(fit$fits[[k]]$x)[2L] + 1 / 12)
    expect_true(all(f$lower <= f$mean & f$mean <= f$upper))
  }
  expect_output(print(fc), "female: ")
  # the default h: two seasons, for every series
  expect_length(predict(fit, npaths = 50, seed = 1)$forecast$air$mean, 24L)
})

test_that("each series' fit and forecast are those of fitting it alone with its seed", {
  fit <- shared()$fit
  fc <- shared()$fc
  y <- monthly()
  expect_named(fit$seeds, names(y))
  expect_named(fc$seeds, names(y))
  for (k in c("air", "female")) {
    alone <- tsattn(y[[k]], seed = fit$seeds[[k]], verbose = FALSE)
    fa <- forecast::forecast(alone, h = 6, npaths = 200, seed = fc$seeds[[k]])
    expect_identical(fa$mean, fc$forecast[[k]]$mean)
    expect_identical(fa$lower, fc$forecast[[k]]$lower)
    expect_identical(fa$upper, fc$forecast[[k]]$upper)
    expect_identical(alone$fitted, fit$fits[[k]]$fitted)
  }
  # the seed decides: the same seed repeats, another one gives other networks
  again <- tsattn(y, seed = 7, global = FALSE)
  expect_identical(again$seeds, fit$seeds)
  expect_identical(forecast::forecast(again, h = 6, npaths = 200, seed = 3)$forecast$male$upper,
                   fc$forecast$male$upper)
  expect_false(identical(tsattn(y, seed = 8, global = FALSE)$seeds, fit$seeds))
  # set.seed() governs seed = NULL
  set.seed(11); a <- tsattn(y[1:2], global = FALSE); ra <- stats::runif(1)
  set.seed(11); b <- tsattn(y[1:2], global = FALSE); rb <- stats::runif(1)
  expect_identical(a$seeds, b$seeds)
  expect_identical(ra, rb)
  # the session's RNG kind is left as it was (future.seed would change it)
  expect_identical(RNGkind()[1L], "Mersenne-Twister")
})

test_that("a named model is fitted per series too", {
  y <- list(a = datasets::ldeaths, b = datasets::mdeaths)
  fit <- tsattn(y, model = "gru", epochs = 3, seed = 1)
  expect_s3_class(fit$fits$b, "tsattn")
  expect_match(fit$fits$b$method, "gru")
  alone <- tsattn(y$b, model = "gru", epochs = 3, seed = fit$seeds[["b"]], verbose = FALSE)
  expect_identical(get_weights(alone$network), get_weights(fit$fits$b$network))
})

test_that("identical forecasts under the sequential and multisession plans", {
  skip_on_cran()
  old <- future::plan()
  on.exit(future::plan(old), add = TRUE)
  y <- monthly()
  future::plan(future::sequential)
  seq_fit <- tsattn(y, seed = 5, global = FALSE)
  seq_fc <- forecast::forecast(seq_fit, h = 5, npaths = 100, seed = 1)
  future::plan(future::multisession, workers = 2)
  par_fit <- tsattn(y, seed = 5, global = FALSE)
  par_fc <- forecast::forecast(par_fit, h = 5, npaths = 100, seed = 1)
  for (k in names(y)) {
    expect_identical(par_fit$fits[[k]]$fitted, seq_fit$fits[[k]]$fitted)
    expect_identical(par_fc$forecast[[k]]$mean, seq_fc$forecast[[k]]$mean)
    expect_identical(par_fc$forecast[[k]]$upper, seq_fc$forecast[[k]]$upper)
  }
  expect_identical(as.data.frame(par_fc), as.data.frame(seq_fc))
})

test_that("a long data.frame is the same collection as the list", {
  y <- three()[1:2]
  df <- as_long(y)
  df <- df[rev(seq_len(nrow(df))), ] # the order of the rows does not matter
  fit_df <- tsattn(df, seed = 2, global = FALSE)
  fit_l <- tsattn(y, seed = 2, global = FALSE)
  expect_identical(fit_df$keys, c("deaths", "air"))
  expect_equal(stats::tsp(fit_df$fits$air$x), stats::tsp(y$air))
  expect_equal(as.numeric(fit_df$fits$air$x), as.numeric(y$air))
  # the seeds follow the order of the keys: first appearance in the data.frame
  expect_identical(tsattn(as_long(y), seed = 2, global = FALSE)$seeds, fit_l$seeds)
  # Date, yearmon and yearqtr index
  q <- data.frame(key = rep(c("p", "q"), c(12, 9)),
                  index = c(seq(as.Date("2000-01-01"), by = "quarter", length.out = 12),
                            seq(as.Date("2001-04-01"), by = "quarter", length.out = 9)),
                  value = c(1:12, 21:29) + 0.5)
  fq <- tsattn(q, seed = 1, global = FALSE)
  expect_identical(fq$frequency, 4)
  expect_equal(stats::tsp(fq$fits$q$x), c(2001.25, 2003.25, 4))
  # month ends
  m <- data.frame(key = "m", index = seq(as.Date("2010-04-01"), by = "month", length.out = 30) - 1,
                  value = seq_len(30) + 0)
  expect_equal(stats::tsp(tsattn(m, seed = 1, global = FALSE)$fits$m$x), c(2010 + 2 / 12, 2010 + 31 / 12, 12))
  skip_if_not_installed("zoo")
  zm <- data.frame(key = "m", index = zoo::as.yearmon(2010 + (2:31) / 12), value = seq_len(30) + 0)
  expect_equal(stats::tsp(tsattn(zm, seed = 1, global = FALSE)$fits$m$x), c(2010 + 2 / 12, 2010 + 31 / 12, 12))
})

test_that("as.data.frame() of a collection forecast is long: key, time, mean, intervals", {
  fc <- shared()$fc
  df <- as.data.frame(fc)
  expect_named(df, c("key", "time", "mean", "lower_80", "upper_80", "lower_95", "upper_95"))
  expect_identical(nrow(df), 3L * 6L)
  expect_identical(unique(df$key), c("air", "male", "female"))
  expect_equal(df$time[df$key == "male"], as.numeric(stats::time(fc$forecast$male$mean)))
  expect_equal(df$mean[df$key == "female"], as.numeric(fc$forecast$female$mean))
  expect_equal(df$upper_95[df$key == "air"], as.numeric(fc$forecast$air$upper[, 2]))
  expect_true(all(df$lower_95 <= df$lower_80 & df$lower_80 <= df$mean &
                  df$mean <= df$upper_80 & df$upper_80 <= df$upper_95))
})

test_that("attention(fit, key = ) is one series' attention", {
  fit <- shared()$fit
  fc <- shared()$fc
  a <- attention(fit, key = "male")
  expect_s3_class(a, "tsattn_attention")
  expect_identical(a, attention(fit$fits$male))
  expect_identical(utils::tail(dimnames(a)$key, 1L), "1979 Dec")
  expect_identical(attention(fc, key = "male"), fc$forecast$male$attention)
  expect_error(attention(fit), "`key` must be one of the series' keys \\(\"air\", \"male\", \"female\"\\), not NULL")
  expect_error(attention(fc, key = "nope"), "`key` must be one of the series' keys.*not \"nope\"")
})

test_that("autoplot() of a collection forecast draws facets of the chosen keys", {
  skip_if_not_installed("ggplot2")
  fc <- shared()$fc
  p <- ggplot2::autoplot(fc, keys = c("female", "air"))
  expect_s3_class(p, "ggplot")
  b <- ggplot2::ggplot_build(p)
  expect_identical(levels(b$layout$layout$series), c("female", "air"))
  expect_s3_class(ggplot2::autoplot(fc), "ggplot")
  expect_error(ggplot2::autoplot(fc, keys = "nope"), "`keys` must be names of the forecast series")
  expect_s3_class(ggplot2::autoplot(shared()$fit, key = "air", type = "attention"), "ggplot")
  pdf(NULL)
  on.exit(grDevices::dev.off())
  expect_identical(plot(fc, keys = "male"), fc)
})

test_that("bad collections are errors that name the member", {
  y <- three()
  expect_error(tsattn(y), "`y` must be series of one frequency, not frequencies 12 \\(\"air\", \"deaths\"\\) and 1 \\(\"nile\"\\)")
  expect_error(tsattn(unname(y[1:2])), "`y` must be a named list of ts .*, not an unnamed list")
  expect_error(tsattn(list(a = datasets::ldeaths, datasets::mdeaths)),
               "not a list whose member 2 has no name")
  expect_error(tsattn(list(a = datasets::ldeaths, a = datasets::mdeaths)),
               "`y` must be a list with one member per key, not one with duplicated key \"a\"")
  expect_error(tsattn(list()), "`y` must be a named list of ts \\(or a ts\\), not an empty list")
  expect_error(tsattn(list(a = datasets::ldeaths, b = stats::ts(rep(NA, 30), frequency = 12))),
               "`y\\[\\[\"b\"\\]\\]` must have observations, not only NA values \\(30\\)")
  yb <- datasets::mdeaths
  yb[3] <- NA
  expect_error(tsattn(list(a = datasets::ldeaths, b = yb)),
               "`y\\[\\[\"b\"\\]\\]` must be free of missing values .*1 NA value, at 1974 Mar")
  expect_error(tsattn(list(a = datasets::ldeaths, b = stats::ts(1:3, frequency = 12))),
               "`y\\[\\[\"b\"\\]\\]` must have at least 5 observations")
  expect_error(tsattn(list(a = datasets::ldeaths, b = 1:30)),
               "`y\\[\\[\"b\"\\]\\]` must be a univariate ts")
  expect_error(tsattn(list(a = datasets::ldeaths, b = cbind(datasets::mdeaths, datasets::fdeaths))),
               "`y\\[\\[\"b\"\\]\\]` must be a univariate ts")
  # too short for a named model's lookback: the series is named
  expect_error(tsattn(list(a = datasets::ldeaths, b = stats::ts(1:20, frequency = 12)),
                      model = "gru", epochs = 2),
               "series \"b\": `y` must have at least [0-9]+ observations for lookback")
  expect_error(tsattn(y[1:2], model = "prophet"), "`model` must be one or more of")
  expect_error(tsattn(y[1:2], xreg = 1:10), "`xreg` must be NULL for a collection")

  df <- as_long(y[1:2])
  expect_error(tsattn(rbind(df, df[5, ])),
               "`y` must be a data.frame with one row per key and index, not one with duplicated rows for key \"air\" at 1949 May")
  expect_error(tsattn(df[-5, ]), "`y\\$index\\[y\\$key == \"air\"\\]` must be without gaps .* after 1949 Apr")
  expect_error(tsattn(df[, c("key", "value")]), "`y` must be a data.frame with columns key, index and value, not one without index")
  expect_error(tsattn(cbind(df, price = seq_len(nrow(df)))),
               "regressor columns are not supported yet\\), not one with price varying within a key")
  df$value[df$key == "deaths"] <- NA
  expect_error(tsattn(df), "`y\\$value\\[y\\$key == \"deaths\"\\]` must have observations, not only NA")
  expect_error(tsattn(data.frame(key = "a", index = as.Date("2020-01-01") + 0:9, value = 1:10 + 0)),
               "`y\\$index` must be dates one month, one quarter or one year apart")
  expect_error(tsattn(data.frame(key = "a", index = letters[1:10], value = 1:10 + 0)),
               "`y\\$index` must be numeric times")
  expect_error(forecast::forecast(shared()$fit, h = 3, xreg = 1:3), "`xreg` must be NULL")
})
