# A global model of a collection (tsattn(<collection>, global = TRUE), R/global.R): one
# set of networks trained on the windows of every series, cut in C batch by batch
# (src/ta_windows.c).

ns <- asNamespace("tsattn")

global_series <- function() {
  list(male = datasets::mdeaths, female = datasets::fdeaths, all = datasets::ldeaths,
       air = stats::window(datasets::AirPassengers, end = c(1952, 12)),
       short = stats::ts(c(5, 7, 6, 8, 9, 8, 10, 11), start = c(2001, 3), frequency = 12))
}

# the windows that ta_windows.h describes, written out in R from its own formula
windows_in_r <- function(win) {
  L <- win$L; H <- win$H; n <- length(win$origin)
  P <- if (is.null(win$stat)) 0L else ncol(win$stat)
  x <- array(0, c(n, L, 1L + P)); y <- array(0, c(n, 1L, H))
  for (i in seq_len(n)) {
    o <- win$origin[i] + 1; f <- win$first[i] + 1 # 1-based
    p <- pmax(f, o - L + seq_len(L))
    x[i, , 1L] <- (win$z[p] - win$level[o]) * win$inv_scale[o]
    for (j in seq_len(P)) x[i, , 1L + j] <- win$stat[win$series[i] + 1, j]
    pw <- win$phi[o]; sum <- 0
    for (k in seq_len(H) - 1) {
      y[i, 1L, k + 1] <- (win$z[o + 1 + k] - win$start[o] - win$slope[o] * k - win$damp[o] * sum) *
        win$inv_scale[o]
      pw <- pw * win$phi[o]; sum <- sum + pw
    }
  }
  list(x = x, y = y)
}

test_that("the backbone as a line plus a damped trend is the backbone's forecast", {
  for (y in list(datasets::AirPassengers, datasets::Nile, datasets::lynx)) {
    p <- ns$remainder_prep(y)
    o <- seq_along(p$adjusted)
    l <- ns$backbone_lines(p$backbone, o)
    k <- 0:9
    d <- vapply(k, function(j) if (j == 0) 0 else sum(l$phi[1]^(2:(j + 1))), 1)
    expect_equal(l$start + outer(l$slope, k) + outer(l$damp, d),
                 ns$theta_forecast(p$backbone, o, 10L), tolerance = 1e-10)
  }
  # non-seasonal series carry Holt's trend too (phi = 1, folded into the slope)
  expect_length(ns$remainder_prep(datasets::Nile)$backbone$trends, 2L)
})

test_that("windows cut in C train exactly as the same windows written out in R", {
  prep <- lapply(global_series(), ns$remainder_prep)
  win <- ns$global_windows(prep, 12L, 6L)
  # the short series (8 points) has windows whose inputs start before its first point
  expect_true(any(win$origin - win$first < 11))
  expect_equal(length(unique(win$first)), 5L)
  w <- windows_in_r(win)
  net <- ns$remainder_network(6L, 8L)
  opt <- optimizer_adam(lr = 1e-2)
  a <- fit(net, w$x, w$y, epochs = 3, batch_size = 16, optimizer = opt, seed = 3, verbose = FALSE)
  b <- ns$fit_windows(net, win, 3L, 16L, opt, 3, "cpu", FALSE)
  expect_identical(b$weights, a$weights)
  expect_identical(b$history$loss, a$history$loss)
  # with the MAE loss too
  a <- fit(net, w$x, w$y, epochs = 2, batch_size = 7, optimizer = opt, seed = 4, loss = "mae",
           verbose = FALSE)
  b <- ns$fit_windows(net, win, 2L, 7L, opt, 4, "cpu", FALSE, loss = "mae")
  expect_identical(b$weights, a$weights)
})

test_that("windows outside their series are an error before any training", {
  prep <- lapply(global_series(), ns$remainder_prep)
  win <- ns$global_windows(prep, 12L, 6L)
  net <- ns$remainder_network(6L, 8L)
  opt <- optimizer_adam()
  bad <- win; bad$origin[3] <- bad$last[3] - 2 # leaves 2 targets, not 6
  expect_error(ns$fit_windows(net, bad, 1L, 8L, opt, 1, "cpu", FALSE),
               "window 3 .* lies outside its series, leaves fewer than H = 6 targets")
  bad <- win; bad$origin[1] <- bad$first[1] - 1
  expect_error(ns$fit_windows(net, bad, 1L, 8L, opt, 1, "cpu", FALSE), "window 1 ")
  bad <- win; bad$origin[2] <- NA
  expect_error(ns$fit_windows(net, bad, 1L, 8L, opt, 1, "cpu", FALSE), "window 2 ")
  bad <- win; bad$first[2] <- 0.5
  expect_error(ns$fit_windows(net, bad, 1L, 8L, opt, 1, "cpu", FALSE), "window 2 ")
  bad <- win; bad$level <- bad$level[-1]
  expect_error(ns$fit_windows(net, bad, 1L, 8L, opt, 1, "cpu", FALSE), "'level' must have")
  bad <- win; bad$z[5] <- NaN
  expect_error(ns$fit_windows(net, bad, 1L, 8L, opt, 1, "cpu", FALSE), "'z' must be finite")
  bad <- win; bad$slope <- NULL
  expect_error(ns$fit_windows(net, bad, 1L, 8L, opt, 1, "cpu", FALSE), "has no 'slope'")
  expect_error(ns$fit_windows(ns$remainder_network(5L, 8L), win, 1L, 8L, opt, 1, "cpu", FALSE),
               "gives 5 values per window, not H = 6")
})

test_that("a global model forecasts every series, reproducibly, with its attention", {
  y <- global_series()
  fit <- tsattn(y, global = TRUE, seed = 1)
  expect_s3_class(fit, "tsattn_collection")
  expect_true(fit$global)
  expect_identical(fit$keys, names(y))
  expect_length(fit$networks, 3L)
  expect_true(all(fit$net_weights %in% c(0, 0.5)))
  expect_output(print(fit), "one global model of 3 attention networks .* for 5 series")
  expect_output(s <- summary(fit), "short")
  expect_equal(s$n, vapply(y, length, 1L), ignore_attr = TRUE)

  fc <- forecast::forecast(fit, h = 12, seed = 2)
  expect_s3_class(fc, c("tsattn_mforecast", "mforecast"))
  expect_identical(names(fc$forecast), names(y))
  for (k in names(y)) {
    f <- fc$forecast[[k]]
    expect_s3_class(f, "tsattn_forecast")
    expect_length(f$mean, 12L)
    expect_true(all(is.finite(f$mean)) && all(is.finite(f$lower)) && all(is.finite(f$upper)))
    expect_true(all(f$lower[, 2] <= f$mean & f$mean <= f$upper[, 2]))
    expect_equal(stats::tsp(f$mean)[1L], stats::tsp(y[[k]])[2L] + 1 / 12)
  }
  df <- as.data.frame(fc)
  expect_identical(unique(df$key), names(y))
  expect_equal(nrow(df), 12L * length(y))
  # the forecast of one series is the single-series default's with the global networks
  v <- ns$global_view(fit, "female")
  expect_s3_class(v, "tsattn_ensemble")
  fv <- forecast::forecast(v, h = 12, seed = fc$seeds[["female"]])
  expect_identical(fv$mean, fc$forecast$female$mean)
  expect_identical(fv$upper, fc$forecast$female$upper)
  expect_identical(fv$fitted, fc$forecast$female$fitted)
  expect_true(sum(is.finite(fv$fitted)) >= 40L)

  att <- attention(fit, key = "air")
  expect_s3_class(att, "tsattn_attention")
  expect_equal(dim(att), c(24L, 24L))
  expect_equal(unname(rowSums(att)), rep(1, 24), tolerance = 1e-5)
  expect_error(attention(fit, key = "nope"), "`key` must be one of the series' keys")

  again <- tsattn(y, global = TRUE, seed = 1)
  expect_identical(again$networks[[2]]$weights, fit$networks[[2]]$weights)
  expect_identical(forecast::forecast(again, h = 12, seed = 2)$forecast$air$mean, fc$forecast$air$mean)
  other <- tsattn(y, global = TRUE, seed = 9)
  expect_false(identical(other$networks[[1]]$weights, fit$networks[[1]]$weights))
  # a long data.frame gives the same model as the list
  long <- do.call(rbind, lapply(names(y), function(k)
    data.frame(key = k, index = as.numeric(stats::time(y[[k]])), value = as.numeric(y[[k]]))))
  from_df <- tsattn(long, global = TRUE, seed = 1)
  expect_identical(from_df$networks[[1]]$weights, fit$networks[[1]]$weights)
})

test_that("a tampered or corrupted global fit is an error naming the field", {
  fit <- tsattn(global_series()[1:3], seed = 2)
  f <- fit; f$net_weights[2] <- 0.7
  expect_error(forecast::forecast(f, h = 3), "`object\\$checksum` must match")
  f <- fit; f$networks[[1]]$weights[[1]][1] <- f$networks[[1]]$weights[[1]][1] + 1e-9
  expect_error(forecast::forecast(f, h = 3), "`object\\$checksum` must match")
  f <- fit; f$series$male[3] <- f$series$male[3] + 1
  expect_error(attention(f, key = "male"), "`object\\$checksum` must match")
  f <- fit; f$net_weights <- f$net_weights[-1]
  expect_error(forecast::forecast(f, h = 3), "`object\\$net_weights` must be 3 finite numbers")
  f <- fit; f$lookbacks <- c(24, 12)
  expect_error(forecast::forecast(f, h = 3), "`object\\$lookbacks` must be 3 whole numbers")
  f <- fit; f$prep$female$scale <- -1
  expect_error(forecast::forecast(f, h = 3), "`object\\$prep\\[\\[\"female\"\\]\\]` must be the series' pipeline")
  f <- fit; f$remainder_horizon <- 7
  expect_error(forecast::forecast(f, h = 3), "`object\\$networks\\[\\[1\\]\\]` must be a network from 1 input to 7 outputs")
  expect_silent(forecast::forecast(fit, h = 3, npaths = 50))
})

test_that("a large collection trains on a sample of its windows, the same for a seed", {
  op <- options(tsattn.global = list(steps = 5L, batch_size = 8L, members = 1L,
                                     select_weight = FALSE))
  on.exit(options(op))
  y <- global_series()
  a <- tsattn(y, global = TRUE, seed = 3)
  # 5 steps of 8 windows: one epoch over the 40 sampled windows
  expect_equal(nrow(a$networks[[1]]$history), 1L)
  b <- tsattn(y, global = TRUE, seed = 3)
  expect_identical(a$networks[[1]]$weights, b$networks[[1]]$weights)
  expect_true(all(a$net_weights == 1))
})

test_that("global = TRUE where it does not apply is an error naming it", {
  y <- global_series()
  expect_error(tsattn(datasets::mdeaths, global = TRUE), "`global` must be FALSE for one series")
  expect_error(tsattn(y, model = "gru", global = TRUE), "`global` must be FALSE for this model")
  expect_error(tsattn(y, lookback = 6, global = TRUE), "`global` must be FALSE for this model")
  expect_error(tsattn(y, global = NA), "`global`")
})

test_that("a collection of very short series gets a global model of fewer steps", {
  tiny <- list(a = stats::ts(1:6 + 0, frequency = 12), b = stats::ts(c(3, 1, 4, 1, 5, 9), frequency = 12),
               c = stats::ts(c(2, 4, 3, 5, 6, 5, 7, 8), frequency = 12))
  fit <- tsattn(tiny, seed = 1)
  expect_true(fit$global)
  expect_identical(fit$remainder_horizon, 6L)
  fc <- forecast::forecast(fit, h = 9, npaths = 100, seed = 1)
  for (k in names(tiny)) expect_true(all(is.finite(fc$forecast[[k]]$mean)) && all(is.finite(fc$forecast[[k]]$upper)))
})

test_that("the default for a collection is the global model of the default, local for others", {
  y <- global_series()[1:2]
  expect_true(tsattn(y, seed = 1)$global)
  expect_false(tsattn(y, model = "gru", epochs = 2, seed = 1)$global)
  expect_false(tsattn(y, seed = 1, global = FALSE)$global)
})

test_that("static covariates ride along every step of every window", {
  y <- global_series()
  st <- data.frame(key = rev(names(y)), size = c(2, 7, 1, 9, 4), kind = c("a", "b", "a", "b", "c"),
                   open = c(TRUE, FALSE, TRUE, TRUE, FALSE))
  prep <- lapply(y, ns$remainder_prep)
  m <- ns$static_matrix(st, names(y))
  expect_identical(dim(m), c(5L, 5L)) # size, kind:a, kind:b, kind:c, open
  expect_equal(unname(m[, "size"]), as.numeric(scale(c(4, 9, 1, 7, 2))))
  expect_equal(unname(m[, "kind:c"]), c(1, 0, 0, 0, 0))
  for (k in seq_along(prep)) prep[[k]]$static <- unname(m[k, ])
  win <- ns$global_windows(prep, 12L, 6L)
  expect_identical(dim(win$stat), c(5L, 5L))
  expect_length(win$series, length(win$origin))
  w <- windows_in_r(win)
  net <- ns$remainder_network(6L, 8L)
  opt <- optimizer_adam(lr = 1e-2)
  a <- fit(net, w$x, w$y, epochs = 2, batch_size = 16, optimizer = opt, seed = 5, verbose = FALSE)
  b <- ns$fit_windows(net, win, 2L, 16L, opt, 5, "cpu", FALSE)
  expect_identical(b$weights, a$weights)
  expect_identical(b$network$input_dim, a$network$input_dim)
  bad <- win; bad$series[4] <- 5
  expect_error(ns$fit_windows(net, bad, 1L, 8L, opt, 1, "cpu", FALSE), "window 4 ")

  fit <- tsattn(y, seed = 1, static = st)
  expect_identical(fit$networks[[1]]$input_dim, 6L)
  expect_identical(fit$static_names, colnames(m))
  fc <- forecast::forecast(fit, h = 6, npaths = 100, seed = 1)
  for (k in names(y)) expect_true(all(is.finite(fc$forecast[[k]]$mean)))
  v <- ns$global_view(fit, "air")
  expect_identical(forecast::forecast(v, h = 6, npaths = 100, seed = fc$seeds[["air"]])$mean,
                   fc$forecast$air$mean)
  expect_identical(ncol(v$members[[1]]$features), 6L)
  expect_equal(dim(attention(fit, key = "short")), c(24L, 24L))
  # a long data.frame's columns constant within each key are the same covariates
  long <- do.call(rbind, lapply(names(y), function(k) {
    r <- st[st$key == k, ]
    data.frame(key = k, index = as.numeric(stats::time(y[[k]])), value = as.numeric(y[[k]]),
               size = r$size, kind = r$kind, open = r$open)
  }))
  from_df <- tsattn(long, seed = 1)
  expect_identical(from_df$networks[[3]]$weights, fit$networks[[3]]$weights)
  expect_identical(from_df$static_names, fit$static_names)
  # tampering with a series' covariates is caught
  f <- fit; f$prep$air$static[1] <- 5
  expect_error(forecast::forecast(f, h = 3), "`object\\$checksum` must match")
  f <- fit; f$prep$air$static <- f$prep$air$static[-1]
  expect_error(forecast::forecast(f, h = 3), "static covariates")
})

test_that("static = \"key\" gives each series a learned embedding", {
  y <- global_series()[1:4]
  fit <- tsattn(y, seed = 2, static = "key")
  expect_identical(fit$networks[[1]]$input_dim, 5L)
  expect_identical(fit$static_names, paste0("key:", names(y)))
  # the first layer's weights on the one-hot columns: one vector per series
  w1 <- get_weights(fit$networks[[1]])[[1]]
  expect_identical(dim(w1), c(32L, 5L))
  fc <- forecast::forecast(fit, h = 12, npaths = 100, seed = 1)
  expect_true(all(vapply(fc$forecast, function(f) all(is.finite(f$upper)), NA)))
})

test_that("bad static covariates are errors naming them", {
  y <- global_series()[1:3]
  st <- data.frame(key = names(y), size = c(1, 2, 3))
  expect_error(tsattn(datasets::mdeaths, static = st), "`static` must be NULL for one series")
  expect_error(tsattn(y, static = st, global = FALSE), "`static` must be NULL for local models")
  expect_error(tsattn(y, static = st[-2, ]), "`static\\$key` must be the series' keys, each once, not one without \"female\"")
  expect_error(tsattn(y, static = rbind(st, data.frame(key = "x", size = 1))), "`static\\$key` must be")
  expect_error(tsattn(y, static = transform(st, size = c(1, NA, 3))), "`static\\$size` must be free of NA")
  expect_error(tsattn(y, static = list(1)), "`static` must be NULL, \"key\", or a data.frame")
  expect_error(tsattn(y, static = data.frame(key = names(y), when = Sys.Date() + 1:3)),
               "`static\\$when` must be numeric, logical, factor or character")
})
