# Recursive forecast sample paths (simulate_paths(), src/ta_forecast.c).

sim <- function(...) tsattn:::simulate_paths(...)

# The mean path by hand in R: predict one step, read the last output step, shift the
# window up and append (prediction, next regressors).
by_hand <- function(net, window, h, xreg_future = NULL) {
  n_series <- ncol(window) - (if (is.null(xreg_future)) 0L else ncol(xreg_future))
  out <- matrix(NA_real_, h, n_series)
  for (k in seq_len(h)) {
    p <- predict(net, array(window, c(1L, dim(window))))
    out[k, ] <- p[1L, dim(p)[2L], ]
    if (k < h) window <- rbind(window[-1L, , drop = FALSE], c(out[k, ], xreg_future[k + 1L, ]))
  }
  out
}

test_that("without residuals every path is the mean path, and that is predict() step by step", {
  set.seed(11)
  nets <- list(
    gru = sequential(layer_gru(8), layer_dense(1), input_dim = 1),
    last_step = sequential(layer_lstm(6), layer_last_step(), layer_dense(1), input_dim = 1),
    conv_valid = sequential(layer_conv1d(4, 3, padding = "valid"), layer_dense(1, activation = "tanh"),
                            input_dim = 1),
    attention = sequential(layer_dense(8), layer_attention(causal = TRUE), layer_dense(1),
                           input_dim = 1)
  )
  window <- matrix(sin(seq_len(12) / 2), 12, 1)
  for (nm in names(nets)) {
    r <- sim(nets[[nm]], window, h = 7, npaths = 5, seed = 1)
    expect_equal(dim(r$paths), c(5L, 7L, 1L), info = nm)
    expect_equal(dim(r$mean), c(7L, 1L), info = nm)
    for (p in 1:5) expect_identical(r$paths[p, , ], r$mean[, 1], info = nm)
    expect_equal(r$mean, by_hand(nets[[nm]], window, 7), tolerance = 1e-6, info = nm)
    # the mean moves (a constant forecast would not test the recursion)
    expect_gt(diff(range(r$mean)), 1e-4, label = nm)
  }
})

test_that("several series with regressors follow predict() step by step", {
  set.seed(12)
  net <- sequential(layer_gru(8), layer_dense(2), input_dim = 3) # 2 series + 1 regressor
  window <- matrix(rnorm(30), 10, 3)
  xf <- matrix(rnorm(6), 6, 1)
  r <- sim(net, window, h = 6, npaths = 3, xreg_future = xf, seed = 2)
  expect_equal(dim(r$paths), c(3L, 6L, 2L))
  expect_equal(r$mean, by_hand(net, window, 6, xf), tolerance = 1e-6)
  for (p in 1:3) expect_identical(r$paths[p, , ], r$mean)
  # with residuals too, the mean path is the noise-free recursion
  r2 <- sim(net, window, h = 6, npaths = 300, xreg_future = xf, resid = matrix(rnorm(20), 10, 2),
            seed = 2)
  expect_equal(r2$mean, r$mean, tolerance = 1e-6)
})

test_that("the one-step spread is the residual distribution, whole rows at once", {
  set.seed(13)
  net <- sequential(layer_gru(8), layer_dense(2), input_dim = 2)
  window <- matrix(rnorm(16), 8, 2)
  # distinct rows whose columns differ, so a mixed-up row would be seen
  resid <- cbind(c(-0.3, -0.1, 0, 0.2, 0.5), c(1, -2, 3, -4, 5))
  r <- sim(net, window, h = 4, npaths = 1000, resid = resid, seed = 3)
  d <- sweep(r$paths[, 1L, ], 2L, r$mean[1L, ])
  # each path's first step is the mean plus one residual row (float32 rounding only)
  match_row <- apply(d, 1L, function(e) {
    hit <- which(abs(resid[, 1L] - e[1L]) < 1e-6 & abs(resid[, 2L] - e[2L]) < 1e-6)
    if (length(hit) == 1L) hit else NA_integer_
  })
  expect_false(anyNA(match_row))
  # rows drawn uniformly: every row, each about 1000 / 5 = 200 times (sd ~ 12.6)
  counts <- tabulate(match_row, nbins = nrow(resid))
  expect_true(all(counts > 140 & counts < 260), label = paste(counts, collapse = " "))
  # the noise feeds back: later steps spread around the mean path too
  expect_gt(sd(r$paths[, 4L, 1L]), 0.05)
})

test_that("a single residual row shifts every path by that row at the first step", {
  set.seed(14)
  net <- sequential(layer_dense(1), input_dim = 1)
  window <- matrix(rnorm(5), 5, 1)
  r <- sim(net, window, h = 3, npaths = 4, resid = matrix(0.25), seed = 1)
  expect_equal(r$paths[, 1L, 1L], rep(r$mean[1L, 1L] + 0.25, 4), tolerance = 1e-6)
  # all paths drew the same row every step, so they agree with each other
  for (p in 2:4) expect_identical(r$paths[p, , ], r$paths[1L, , ])
})

test_that("regressor rows are appended: a network of the regressor alone reproduces it", {
  net <- sequential(layer_dense(1), input_dim = 2) # y and one regressor
  # output = the regressor of the last row only
  net <- set_weights(net, list(`0.weight` = matrix(c(0, 1), 1, 2), `0.bias` = 0))
  window <- cbind(c(5, 6, 7, 8), c(0.1, 0.2, 0.3, 0.4))
  xf <- matrix(c(3, -1, 4, -1, 5, -9, 2), ncol = 1)
  # the last window row already holds xreg_future[1, ]: the forecast of step k is xreg_future[k]
  window[4, 2] <- xf[1]
  r <- sim(net, window, h = 7, npaths = 10, xreg_future = xf, seed = 1)
  expect_equal(r$mean[, 1], xf[, 1], tolerance = 1e-6)
  # output = last y + its regressor: the forecasts feed back, so the path is a running sum
  net <- set_weights(net, list(`0.weight` = matrix(c(1, 1), 1, 2), `0.bias` = 0))
  r <- sim(net, window, h = 7, npaths = 2, xreg_future = xf, seed = 1)
  expect_equal(r$mean[, 1], 8 + cumsum(xf[, 1]), tolerance = 1e-5)
  # a regressor lagged one row (conv1d "valid", kernel 2, picking the earlier row's regressor)
  net2 <- sequential(layer_conv1d(1, 2, padding = "valid"), input_dim = 2)
  w <- get_weights(net2)
  w[["0.weight"]][] <- 0
  w[["0.weight"]][1, 2, 1] <- 1 # [out, in, kernel]: regressor, earlier row
  w[["0.bias"]][] <- 0
  net2 <- set_weights(net2, w)
  r <- sim(net2, window, h = 7, npaths = 2, xreg_future = xf, seed = 1)
  expect_equal(r$mean[, 1], c(window[3, 2], xf[1:6, 1]), tolerance = 1e-6)
})

test_that("the same seed gives the same paths, another seed other paths", {
  set.seed(15)
  net <- sequential(layer_gru(4), layer_dense(1), input_dim = 1)
  window <- matrix(rnorm(6), 6, 1)
  resid <- matrix(rnorm(40, sd = 0.2), ncol = 1)
  a <- sim(net, window, h = 5, npaths = 300, resid = resid, seed = 42)
  b <- sim(net, window, h = 5, npaths = 300, resid = resid, seed = 42)
  d <- sim(net, window, h = 5, npaths = 300, resid = resid, seed = 43)
  expect_identical(a, b)
  expect_false(identical(a$paths, d$paths))
  expect_identical(a$mean, d$mean)
  # seed = NULL follows set.seed()
  set.seed(7); e <- sim(net, window, h = 5, npaths = 300, resid = resid)
  set.seed(7); f <- sim(net, window, h = 5, npaths = 300, resid = resid)
  expect_identical(e, f)
  # paths do not depend on how many there are (the draws go path by path, and the
  # windows are forwarded in chunks): the first 300 of 700 are the 300
  g <- sim(net, window, h = 5, npaths = 700, resid = resid, seed = 42)
  expect_identical(g$paths[1:300, , , drop = FALSE], a$paths)
})

test_that("paths are the same whatever the number of threads (blocks of paths run in parallel)", {
  set.seed(16)
  net <- sequential(layer_dense(8), layer_positional_encoding(),
                    layer_transformer_encoder(heads = 2, d_ff = 16, causal = TRUE),
                    layer_last_step(), layer_dense(1), input_dim = 1)
  gru <- sequential(layer_gru(16), layer_dense(1), input_dim = 1)
  window <- matrix(sin(seq_len(24) / 3), 24, 1)
  resid <- matrix(rnorm(100, sd = 0.1), ncol = 1)
  old <- options(tsattn.threads = 1)
  on.exit(options(old))
  one <- list(sim(net, window, h = 24, npaths = 1000, resid = resid, seed = 1),
              sim(gru, window, h = 24, npaths = 1000, resid = resid, seed = 1))
  options(tsattn.threads = 2)
  two <- list(sim(net, window, h = 24, npaths = 1000, resid = resid, seed = 1),
              sim(gru, window, h = 24, npaths = 1000, resid = resid, seed = 1))
  options(tsattn.threads = 3)
  three <- sim(net, window, h = 24, npaths = 200, resid = resid, seed = 1)
  expect_identical(two, one)
  expect_identical(three$paths, one[[1L]]$paths[1:200, , , drop = FALSE])
  expect_equal(dim(one[[1L]]$paths), c(1000L, 24L, 1L))
  expect_true(all(is.finite(one[[1L]]$paths)) && all(is.finite(one[[2L]]$paths)))
})

test_that("bad input is an error naming the argument", {
  set.seed(17)
  net <- sequential(layer_gru(4), layer_dense(1), input_dim = 2) # 1 series + 1 regressor
  window <- matrix(rnorm(12), 6, 2)
  xf <- matrix(1, 3, 1)
  ok <- sim(net, window, h = 3, npaths = 2, xreg_future = xf, seed = 1)
  expect_equal(dim(ok$paths), c(2L, 3L, 1L))
  err <- function(expr, re) expect_error(expr, re, class = "tsattn_error_argument")
  err(sim(sequential(layer_dense(1)), window, h = 3), "`net` must be a built network")
  err(sim(list(), window, h = 3), "`net` must be a network")
  err(sim(net, window[, 1, drop = FALSE], h = 3, xreg_future = xf), "`window` must have 2 columns")
  err(sim(net, "a", h = 3), "`window` must be a numeric matrix")
  bad <- window; bad[2, 1] <- NA
  err(sim(net, bad, h = 3, xreg_future = xf), "`window` must be finite.*row 2, column 1")
  err(sim(net, window, h = 0, xreg_future = xf), "`h` must be a whole number >= 1")
  err(sim(net, window, h = 2.5, xreg_future = xf), "`h` must be a whole number")
  err(sim(net, window, h = 3, npaths = 0, xreg_future = xf), "`npaths` must be a whole number >= 1")
  err(sim(net, window, h = 3), "`xreg_future` must be a matrix .*h = 3")
  err(sim(net, window, h = 3, xreg_future = matrix(1, 2, 1)), "`xreg_future` must be a 3 x 1 matrix")
  err(sim(net, window, h = 3, xreg_future = matrix(c(1, NaN, 1), 3, 1)), "`xreg_future` must be finite")
  err(sim(net, window, h = 3, xreg_future = xf, resid = matrix(0, 4, 2)), "`resid` must have 1 column")
  err(sim(net, window, h = 3, xreg_future = xf, resid = c(0.1, Inf)), "`resid` must be finite")
  err(sim(net, window, h = 3, xreg_future = xf, seed = "a"), "`seed` must be NULL or a whole number")
  net1 <- sequential(layer_gru(4), layer_dense(1), input_dim = 1)
  err(sim(net1, window[, 1, drop = FALSE], h = 3, xreg_future = xf),
      "`xreg_future` must be NULL")
  # more outputs than inputs cannot be fed back
  err(sim(sequential(layer_dense(3), input_dim = 2), window, h = 3), "`net` must be a network with at most")
  # a window too short for a layer
  conv <- sequential(layer_conv1d(2, 5, padding = "valid"), layer_dense(1), input_dim = 1)
  err(sim(conv, matrix(1, 3, 1), h = 2), "`window` must have a length that layer 1")
  # a tampered network
  broken <- net
  broken$weights[[1]] <- broken$weights[[1]][-1, , drop = FALSE]
  expect_error(sim(broken, window, h = 3, xreg_future = xf), "net\\$weights")
})

test_that("the C entry point checks what it is given", {
  set.seed(18)
  net <- sequential(layer_dense(1), input_dim = 2)
  s <- tsattn:::network_spec(net)
  w <- tsattn:::flatten_weights(net$weights, tsattn:::network_layout(net))
  call_c <- function(window = rep(0, 8), dims = c(4L, 2L), xf = c(1, 2, 3), h = 3L,
                     npaths = 2L, resid = double(), n_series = 1L, seed = 1, params = w) {
    .Call(tsattn:::C_net_simulate, s, 2L, params, window, dims, xf, h, npaths,
          resid, n_series, seed, -1L)
  }
  r <- call_c()
  expect_named(r, c("paths", "mean"))
  expect_length(r$paths, 6L)
  expect_error(call_c(h = 0L), "'h' must be >= 1")
  expect_error(call_c(npaths = -1L), "'npaths' must be >= 1")
  expect_error(call_c(h = NA_integer_), "'h' must be a whole number")
  expect_error(call_c(dims = c(4L, 3L)), "3 features per step but the network was built for 2")
  expect_error(call_c(dims = 4L), "dims")
  expect_error(call_c(window = rep(0, 7)), "'window' has 7 values but 8 were expected")
  expect_error(call_c(window = c(rep(0, 7), NA)), "'window' has a missing or infinite value at position 8")
  expect_error(call_c(xf = double()), "'xreg_future' is missing")
  expect_error(call_c(xf = c(1, 2)), "'xreg_future' has 2 values but 3 were expected")
  expect_error(call_c(resid = 1L), "'resid' must be a double vector")
  expect_error(call_c(n_series = 2L), "gives 1 outputs per step but 'n_series' is 2")
  expect_error(call_c(n_series = 3L), "must not exceed")
  expect_error(call_c(params = w[-1]), "'weights' has")
  expect_error(call_c(seed = "x"), "'seed' must be a number")
  expect_error(call_c(npaths = .Machine$integer.max, h = .Machine$integer.max), "too many values")
})
