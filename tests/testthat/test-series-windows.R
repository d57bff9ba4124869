# The windows of one series (tsattn() with a named model): cut in C from the rows of
# its features and targets, batch by batch (fit_rows(), predict_rows(); ta_data's
# overlapping rows in src/ta_train.h), never written out in R.

ns <- asNamespace("tsattn")

# the windows written out in R, as tsattn() built them before: window i is rows
# i..i+L-1 of feat [N, F] with rows i+L..i+L+H-1 of S [N, k] as its targets
windows_in_r <- function(feat, S, L, H) {
  n_win <- nrow(S) - L - H + 1L
  x <- array(0, c(n_win, L, ncol(feat)))
  y <- array(0, c(n_win, H, ncol(S)))
  for (i in seq_len(n_win)) {
    x[i, , ] <- feat[i:(i + L - 1L), , drop = FALSE]
    y[i, , ] <- S[(i + L):(i + L + H - 1L), , drop = FALSE]
  }
  list(x = x, y = y)
}

# random series data: k series and m regressors over N rows
series_data <- function(N, k, m, seed) {
  set.seed(seed)
  S <- matrix(rnorm(N * k), N, k)
  feat <- if (m > 0L) cbind(S, matrix(rnorm(N * m), N, m)) else S
  list(S = S, feat = feat)
}

test_that("training on the rows' windows equals fit() on the windows written out, bit for bit", {
  cases <- list(
    list(net = sequential(layer_gru(6), layer_last_step(), layer_dense(2)), k = 2L, m = 3L,
         L = 7L, H = 1L, n_val = 9L, bs = 5L, loss = "mse", patience = NULL),
    list(net = seq2seq(layer_gru(5), layer_gru(5), attention = "additive", horizon = 3,
                       output_dim = 2), k = 2L, m = 1L, L = 6L, H = 3L, n_val = 4L, bs = 8L,
         loss = "mae", patience = 2L),
    list(net = sequential(layer_dense(4), layer_attention(causal = TRUE), layer_last_step(),
                          layer_dense(1)), k = 1L, m = 0L, L = 5L, H = 1L, n_val = 1L,
         bs = 64L, loss = "mse", patience = 1L))
  for (i in seq_along(cases)) {
    cs <- cases[[i]]
    d <- series_data(60L, cs$k, cs$m, i)
    w <- windows_in_r(d$feat, d$S, cs$L, cs$H)
    n_win <- dim(w$x)[1L]
    tr <- seq_len(n_win - cs$n_val)
    va <- (n_win - cs$n_val + 1L):n_win
    opt <- optimizer_adam(lr = 0.01)
    a <- fit(cs$net, w$x[tr, , , drop = FALSE], w$y[tr, , , drop = FALSE], epochs = 4,
             batch_size = cs$bs, optimizer = opt, loss = cs$loss, patience = cs$patience,
             validation_data = list(w$x[va, , , drop = FALSE], w$y[va, , , drop = FALSE]),
             seed = 10 + i, verbose = FALSE)
    b <- ns$fit_rows(cs$net, d$feat, d$S, cs$L, cs$H, cs$n_val, epochs = 4,
                     batch_size = cs$bs, optimizer = opt, loss = cs$loss,
                     patience = cs$patience, seed = 10 + i, verbose = FALSE)
    expect_identical(b$weights, a$weights, info = paste("case", i))
    expect_identical(b$history, a$history, info = paste("case", i))
    expect_true(all(is.finite(b$history$val_loss)), info = paste("case", i))
    # and the in-sample predictions of every window, in chunks that do not divide them
    p <- ns$predict_rows(b, d$feat, cs$L, n_win, batch_size = 7L)
    expect_identical(p, predict(a, w$x), info = paste("case", i))
  }
})

test_that("the validation windows are the last n_val, the training ones those before", {
  d <- series_data(50L, 2L, 2L, 7)
  L <- 4L
  net <- sequential(layer_dense(3), layer_last_step(), layer_dense(2))
  b <- ns$fit_rows(net, d$feat, d$S, L, 1L, 6L, epochs = 1, batch_size = 4,
                   optimizer = optimizer_sgd(lr = 0.05), shuffle = FALSE, seed = 1,
                   verbose = FALSE)
  w <- windows_in_r(d$feat, d$S, L, 1L)
  n_win <- dim(w$x)[1L]
  va <- (n_win - 5L):n_win
  # the validation loss is the trained network's on the last 6 windows (float32 sums)
  e <- predict(b, w$x[va, , , drop = FALSE]) - w$y[va, , , drop = FALSE]
  expect_equal(b$history$val_loss, mean(e^2), tolerance = 1e-6)
  # shifting the split by one window changes the validation set, and so its loss
  b2 <- ns$fit_rows(net, d$feat, d$S, L, 1L, 5L, epochs = 1, batch_size = 4,
                    optimizer = optimizer_sgd(lr = 0.05), shuffle = FALSE, seed = 1,
                    verbose = FALSE)
  expect_false(identical(b2$history$val_loss, b$history$val_loss))
})

test_that("tsattn() trains on the rows' windows: fits as fit() on the written windows gives", {
  set.seed(3)
  n <- 80
  y <- stats::ts(cbind(a = cumsum(rnorm(n)) + 20, b = rnorm(n)), frequency = 4)
  xr <- cbind(u = rnorm(n))
  f <- tsattn(y, model = "gru", xreg = xr, epochs = 3, seed = 1, verbose = FALSE, batch_size = 6)
  # the same network trained by fit() on the windows tsattn() cut
  seeds <- ns$check_seed(1)
  w <- windows_in_r(f$features, f$features[, 1:2], f$lookback, 1L)
  n_win <- dim(w$x)[1L]
  tr <- seq_len(n_win - f$n_val)
  va <- (n_win - f$n_val + 1L):n_win
  net <- ns$default_network("gru", 3L, 2L, 1L)
  a <- fit(net, w$x[tr, , , drop = FALSE], w$y[tr, , , drop = FALSE], epochs = 3, batch_size = 6,
           optimizer = optimizer_adam(lr = 3e-3), patience = 20,
           validation_data = list(w$x[va, , , drop = FALSE], w$y[va, , , drop = FALSE]),
           seed = seeds[[2L]], verbose = FALSE)
  expect_identical(f$network$weights, a$weights)
  # residuals in model space: the targets minus the predictions of every window
  expect_identical(f$resid_scaled, matrix(w$y[, 1L, ], n_win, 2L) - matrix(predict(a, w$x)[, 1L, ], n_win, 2L))
})

test_that("bad windows are errors that name the argument", {
  d <- series_data(30L, 2L, 1L, 5)
  net <- sequential(layer_dense(2), layer_last_step(), layer_dense(2), input_dim = 3)
  layout <- ns$check_network(net)
  s <- ns$network_spec(net)
  wts <- ns$flatten_weights(net$weights, layout)
  cfg <- ns$train_settings(1L, 4L, TRUE, "mse", 0L, optimizer_adam(), FALSE, 0)
  call_fit <- function(feat = d$feat, targets = d$S, L = 4L, H = 1L, nt = 20L, nv = 6L) {
    .Call(ns$C_net_fit_rows, s, 3L, wts, feat, targets, L, H, nt, nv, cfg, 1, -1L)
  }
  expect_named(call_fit(), c("weights", "loss", "val_loss", "status", "message", "best_epoch"))
  # 30 rows give 26 windows of 4 rows and 1 target
  expect_error(call_fit(nt = 21L), "'n_train' \\+ 'n_val' must be at most 26, the windows of 30 rows of 'feat'.*not 27")
  expect_error(call_fit(L = 10L), "'n_train' \\+ 'n_val' must be at most 20")
  expect_error(call_fit(L = 0L), "'lookback' must be >= 1")
  expect_error(call_fit(nt = 0L), "'n_train' must be >= 1")
  expect_error(call_fit(nv = -1L), "'n_val' must be >= 0")
  expect_error(call_fit(H = 2L), "'horizon' must be 1, the steps the network gives")
  expect_error(call_fit(nt = NA_integer_), "'n_train' must be a whole number")
  expect_error(call_fit(feat = d$feat[, 1:2]), "'feat' has 2 columns but the network takes 3")
  expect_error(call_fit(targets = d$S[, 1, drop = FALSE]), "'targets' has 1 columns but the network gives 2")
  expect_error(call_fit(targets = d$S[-1, ]), "'targets' must have 30 rows, as 'feat', not 29")
  bad <- d$feat
  bad[17, 3] <- NA
  expect_error(call_fit(feat = bad), "'feat' has a missing or infinite value at row 17, column 3")
  expect_error(call_fit(feat = as.double(d$feat)), "'feat' must be a double matrix")
  expect_error(call_fit(targets = matrix(1L, 30, 2)), "'targets' must be a double matrix")
  call_predict <- function(feat = d$feat, L = 4L, n = 27L, bs = 8L) {
    .Call(ns$C_net_predict_rows, s, 3L, wts, feat, L, n, bs, -1L)
  }
  expect_identical(dim(call_predict()[[1L]]), c(27L, 1L, 2L))
  expect_error(call_predict(n = 28L), "'n' must be at most 27, the windows of 30 rows of 'feat' for 'lookback' = 4, not 28")
  expect_error(call_predict(n = 0L), "'n' must be >= 1")
  expect_error(call_predict(bs = 0L), "'batch_size' must be >= 1")
  expect_error(call_predict(L = 31L), "'n' must be at most 0")
  expect_error(call_predict(feat = d$S), "'feat' has 2 columns but the network takes 3")
})

test_that("tsattn() says what a custom network must take and give", {
  y <- stats::ts(sin(1:60 / 4) + 5, frequency = 1)
  expect_error(tsattn(y, model = sequential(layer_gru(3), layer_last_step(), layer_dense(1), input_dim = 2),
                      epochs = 1, verbose = FALSE),
               "`model` must be a network whose input has 1 feature \\(the columns of `y` and `xreg`\\), not one of 2")
  expect_error(tsattn(y, model = sequential(layer_gru(3), layer_last_step(), layer_dense(2)),
                      epochs = 1, verbose = FALSE),
               "`model` must be a network that gives 1 step of 1 value .* not one that gives 1 of 2")
  expect_error(tsattn(y, model = sequential(layer_gru(3), layer_dense(1)), epochs = 1, verbose = FALSE),
               "`model` must be a network that gives 1 step .* not one that gives 10 of 1")
  expect_error(tsattn(y, model = "gru", epochs = 1, verbose = FALSE, lengths = 3),
               "`lengths` must be NULL in tsattn\\(\\)")
  expect_error(tsattn(y, model = "gru", epochs = 1, verbose = FALSE, validation_data = list()),
               "`validation_data` must be NULL in tsattn\\(\\)")
  expect_error(tsattn(y, model = "gru", epochs = 1, verbose = FALSE, validation_split = 2),
               "`validation_split` must be a single number in \\[0, 1\\)")
  expect_error(tsattn(y, model = "gru", epochs = 1, verbose = FALSE, batch_size = 0),
               "`batch_size` must be a whole number >= 1, not 0")
})
