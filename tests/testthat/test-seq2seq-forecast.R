# seq2seq forecasts (seq2seq_paths(), built in C by C_net_seq2seq_paths through the
# forecast loop of src/ta_forecast.c): the same numbers, bit for bit, as a plain R loop
# of predict() with residual rows drawn by sample.int() step by step.

# The reference: the mean path block by block with predict(), each block's forecasts
# appended to the window with the regressors of the step after (the last step's past the
# end), then at every step a residual row of that step ahead added to every path.
s2s_by_hand <- function(object, h, npaths, xf) {
  net <- object$network
  H <- object$horizon
  k <- length(object$center)
  w <- tsattn:::last_window(object, xf)
  mean_path <- matrix(0, h, k)
  done <- 0L
  while (done < h) {
    p <- predict(net, array(w, c(1L, dim(w))))
    p <- matrix(p[1L, , ], H, k)
    take <- min(H, h - done)
    mean_path[done + seq_len(take), ] <- p[seq_len(take), ]
    for (s in seq_len(take)) {
      row <- p[s, ]
      if (!is.null(xf)) row <- c(row, xf[min(done + s + 1L, h), ])
      w <- rbind(w[-1L, , drop = FALSE], row)
    }
    done <- done + take
  }
  paths <- array(rep(mean_path, each = npaths), c(npaths, h, k))
  for (s in seq_len(h)) {
    r <- object$val_resid[[(s - 1L) %% H + 1L]]
    pick <- sample.int(nrow(r), npaths, replace = TRUE)
    paths[, s, ] <- paths[, s, ] + r[pick, , drop = FALSE]
  }
  list(paths = paths, mean = mean_path)
}

# both from the same RNG state; the C version leaves R's stream where the reference does
expect_s2s_identical <- function(object, h, npaths, xreg = NULL, info = "") {
  xf <- tsattn:::future_xreg(object, xreg, h)
  set.seed(5)
  want <- s2s_by_hand(object, h, npaths, xf)
  after_want <- runif(1)
  set.seed(5)
  got <- tsattn:::seq2seq_paths(object, tsattn:::last_window(object, xf), h, npaths, xf)
  expect_identical(runif(1), after_want, info = info)
  expect_identical(dim(got$paths), c(as.integer(npaths), as.integer(h), length(object$center)),
                   info = info)
  expect_identical(got$mean, want$mean, info = info)
  expect_identical(got$paths, want$paths, info = info)
  # the forecast moves (a constant would not test the windows) and the paths spread
  if (h > 1L) expect_gt(diff(range(got$mean)), 1e-3, label = info)
  if (npaths > 1L) expect_gt(sd(got$paths[, 1L, 1L]), 0, label = info)
}

xreg_of <- function(n, from = 0L) cbind(a = sin((from + seq_len(n)) / 3), b = (from + seq_len(n)) %% 12)

test_that("seq2seq paths with regressors, h past the horizon and lookback < horizon match the R loop", {
  fit <- tsattn(ldeaths, model = "seq2seq", horizon = 4, lookback = 3, epochs = 3, seed = 1,
                xreg = xreg_of(length(ldeaths)), verbose = FALSE)
  expect_identical(c(fit$horizon, fit$lookback), c(4L, 3L))
  n <- length(ldeaths)
  for (h in c(10L, 8L, 3L, 1L)) # not a multiple, a multiple, within one pass, one step
    expect_s2s_identical(fit, h, 40L, xreg_of(h, n), info = sprintf("h = %d", h))
  expect_s2s_identical(fit, 9L, 1L, xreg_of(9L, n), info = "one path")
})

test_that("seq2seq paths of several series without regressors match the R loop", {
  y <- cbind(m = mdeaths, f = fdeaths)
  fit <- tsattn(y, model = "seq2seq", horizon = 3, epochs = 3, seed = 2, verbose = FALSE)
  expect_gt(fit$lookback, fit$horizon)
  expect_s2s_identical(fit, 7L, 30L, info = "2 series, h = 7")
  # forecast() uses them: its mean is the paths' mean on the original scale
  fc <- forecast::forecast(fit, h = 7, npaths = 30, seed = 3)
  p <- tsattn:::sample_paths(fit, 7, NULL, 30, tsattn:::check_seed(3))
  expect_equal(as.numeric(fc$forecast$m$mean), colMeans(p[, , 1L]))
})

test_that("the seq2seq .Call checks its picks and residuals", {
  fit <- tsattn(mdeaths, model = "seq2seq", horizon = 3, epochs = 2, seed = 4, verbose = FALSE)
  net <- fit$network
  layout <- tsattn:::check_network(net)
  w <- tsattn:::last_window(fit, NULL)
  call <- function(pick, resid, h = 4L, npaths = 2L)
    .Call(tsattn:::C_net_seq2seq_paths, tsattn:::network_spec(net), net$input_dim,
          tsattn:::flatten_weights(net$weights, layout), as.double(t(w)), dim(w), double(),
          h, npaths, pick, resid, 1L, -1L)
  r <- fit$val_resid
  n <- nrow(r[[1L]])
  # row 1 of the step's residuals at every step (the cycle of 3 steps ahead), paths
  # row-major [npaths, h]
  ok <- call(matrix(1L, 2L, 4L), r)
  expect_identical(ok$paths, rep(ok$mean + c(r[[1L]][1L], r[[2L]][1L], r[[3L]][1L], r[[1L]][1L]),
                                 times = 2L))
  expect_error(call(matrix(c(1L, n + 1L), 2L, 4L), r), "'pick' must be rows of the residuals \\(1 to")
  expect_error(call(matrix(0L, 2L, 4L), r), "'pick' must be rows")
  expect_error(call(matrix(1L, 2L, 3L), r), "'pick' must be 8 integers")
  expect_error(call(matrix(1L, 2L, 4L), r[1:2]), "'resid' must be a list of 3 residual matrices")
  expect_error(call(matrix(1L, 2L, 4L), list(r[[1]], r[[2]], cbind(r[[3]], r[[3]]))),
               "'resid\\[\\[3\\]\\]' must be a double matrix of 1 column")
})
