# The training loop: the first seed's task, reproducibility, persistence, validation,
# early stopping, clipping, history, printing.

sine_data <- function() {
  s <- sin(seq(0, 2 * pi * 5, length.out = 201))
  list(x = array(s[1:200], c(1, 200, 1)), y = array(s[2:201], c(1, 200, 1)))
}
seed_net <- function() sequential(layer_gru(4, num_layers = 2), layer_dense(1, activation = "tanh"))

test_that("the seed task: 2-layer GRU(4) learns the 5 Hz sine to MSE <= 0.002 (median of seeds 1-3)", {
  d <- sine_data()
  mse <- vapply(1:3, function(seed) {
    net <- fit(seed_net(), d$x, d$y, epochs = 300, batch_size = 1,
               optimizer = optimizer_adam(lr = 0.01), seed = seed, verbose = FALSE)
    expect_identical(nrow(net$history), 300L)
    expect_lt(net$history$loss[300], net$history$loss[1] / 50)
    mean((predict(net, d$x) - d$y)^2)
  }, 0)
  expect_lte(stats::median(mse), 0.002)
})

test_that("from PyTorch's initial weights, 300 Adam steps reach PyTorch's final MSE", {
  fx <- read_fixture("seed_gru")
  net <- seed_net() |> set_weights(fx[grep("^[0-9]+\\.", names(fx), value = TRUE)])
  net <- fit(net, fx$x, fx$y, epochs = 300, batch_size = 1,
             optimizer = optimizer_adam(lr = 0.01), shuffle = FALSE, verbose = FALSE)
  mse <- mean((predict(net, fx$x) - fx$y)^2)
  # 300 steps amplify float32 summation-order differences: 1e-3 relative
  expect_lt(abs(mse - fx[["train300.mse"]]), 1e-3 * fx[["train300.mse"]])
})

test_that("the same seed gives bitwise-identical training, twice", {
  set.seed(1)
  x <- array(stats::rnorm(8 * 6 * 2), c(8, 6, 2))
  y <- array(stats::rnorm(8 * 6), c(8, 6, 1))
  net <- sequential(layer_lstm(5, num_layers = 2, dropout = 0.2), layer_dropout(0.1),
                    layer_dense(1))
  run <- function() fit(net, x, y, epochs = 5, batch_size = 3, validation_split = 0.25,
                        seed = 42, verbose = FALSE)
  a <- run()
  b <- run()
  expect_identical(a$weights, b$weights)
  expect_identical(a$history, b$history)
  c <- fit(net, x, y, epochs = 5, batch_size = 3, validation_split = 0.25, seed = 43,
           verbose = FALSE)
  expect_false(identical(a$weights, c$weights))
})

test_that("seed = s is the run set.seed(s) gives, and leaves the session's stream alone", {
  d <- sine_data()
  a <- fit(seed_net(), d$x, d$y, epochs = 3, batch_size = 1, seed = 5, verbose = FALSE)
  set.seed(5)
  b <- fit(seed_net(), d$x, d$y, epochs = 3, batch_size = 1, verbose = FALSE)
  expect_identical(a$weights, b$weights)
  set.seed(99)
  r1 <- stats::runif(1)
  set.seed(99)
  fit(seed_net(), d$x, d$y, epochs = 1, batch_size = 1, seed = 5, verbose = FALSE)
  expect_identical(stats::runif(1), r1)
  # and sequential() with input_dim draws from set.seed() too
  set.seed(3)
  w1 <- get_weights(seed_net() |> (\(n) sequential(n$layers[[1]], n$layers[[2]], input_dim = 1))())
  set.seed(3)
  w2 <- get_weights(sequential(layer_gru(4, num_layers = 2), layer_dense(1, activation = "tanh"), input_dim = 1))
  expect_identical(w1, w2)
})

test_that("initial weights follow PyTorch's uniform(-1/sqrt(H), 1/sqrt(H))", {
  set.seed(1)
  net <- sequential(layer_gru(16, num_layers = 2), layer_lstm(9), layer_dense(3), input_dim = 4)
  w <- get_weights(net)
  gru <- unlist(w[grep("^0\\.", names(w))])
  lstm <- unlist(w[grep("^1\\.", names(w))])
  dense <- unlist(w[grep("^2\\.", names(w))])
  expect_lte(max(abs(gru)), 1 / sqrt(16))
  expect_gt(max(abs(gru)), 0.95 / sqrt(16))
  expect_lte(max(abs(lstm)), 1 / 3)
  expect_gt(max(abs(lstm)), 0.9 / 3)
  expect_lte(max(abs(dense)), 1 / 3)
  expect_lt(abs(mean(gru)), 0.01)
  # uniform: variance bound^2 / 3
  expect_equal(stats::var(gru), (1 / 16) / 3, tolerance = 0.1)
})

test_that("saveRDS in one R process and readRDS in another give identical predictions", {
  d <- sine_data()
  net <- fit(seed_net(), d$x, d$y, epochs = 20, batch_size = 1, seed = 1, verbose = FALSE)
  p <- predict(net, d$x)
  f <- tempfile(fileext = ".rds")
  out <- tempfile(fileext = ".rds")
  on.exit(unlink(c(f, out)))
  saveRDS(net, f)
  script <- sprintf("library(tsattn); net <- readRDS('%s'); s <- sin(seq(0, 2*pi*5, length.out = 201)); saveRDS(predict(net, array(s[1:200], c(1, 200, 1))), '%s')", f, out)
  status <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(script)), stdout = FALSE, stderr = FALSE)
  expect_identical(status, 0L)
  expect_identical(readRDS(out), p)
})

test_that("predictions do not depend on the batch size and are repeatable", {
  set.seed(2)
  net <- sequential(layer_gru(6), layer_dropout(0.5), layer_dense(2), input_dim = 3)
  x <- array(stats::rnorm(7 * 5 * 3), c(7, 5, 3))
  p <- predict(net, x)
  expect_identical(dim(p), c(7L, 5L, 2L))
  expect_identical(predict(net, x, batch_size = 1), p)
  expect_identical(predict(net, x, batch_size = 3), p)
  expect_identical(predict(net, x), p) # dropout is off at prediction time
  # a vector is one sequence of one feature, a matrix [batch, time]
  net1 <- sequential(layer_lstm(3), layer_dense(1), input_dim = 1)
  v <- stats::rnorm(9)
  expect_identical(predict(net1, v), predict(net1, array(v, c(1, 9, 1))))
  m <- matrix(stats::rnorm(18), 2, 9)
  expect_identical(predict(net1, m), predict(net1, array(m, c(2, 9, 1))))
})

test_that("validation_split holds out the last sequences and reports their loss", {
  set.seed(4)
  x <- array(stats::rnorm(10 * 4 * 1), c(10, 4, 1))
  y <- x * 0.5
  net <- sequential(layer_dense(4, activation = "tanh"), layer_dense(1))
  out <- fit(net, x, y, epochs = 5, batch_size = 4, validation_split = 0.3, seed = 1,
             verbose = FALSE)
  expect_true(all(!is.na(out$history$val_loss)))
  val <- mean((predict(out, x[8:10, , , drop = FALSE]) - y[8:10, , , drop = FALSE])^2)
  expect_equal(out$history$val_loss[5], val, tolerance = 1e-5)
  # validation_data gives the same as the equivalent split
  out2 <- fit(net, x[1:7, , , drop = FALSE], y[1:7, , , drop = FALSE], epochs = 5, batch_size = 4,
              validation_data = list(x[8:10, , , drop = FALSE], y[8:10, , , drop = FALSE]),
              seed = 1, verbose = FALSE)
  expect_identical(out2$history, out$history)
})

test_that("early stopping stops after `patience` epochs and restores the best weights", {
  set.seed(5)
  x <- array(stats::rnorm(20 * 5), c(20, 5, 1))
  y <- array(stats::rnorm(20 * 5), c(20, 5, 1)) # noise: validation loss soon rises
  net <- sequential(layer_gru(16), layer_dense(1))
  out <- fit(net, x, y, epochs = 200, batch_size = 4, validation_split = 0.25, patience = 3,
             optimizer = optimizer_adam(lr = 0.02), seed = 2, verbose = FALSE)
  h <- out$history
  expect_lt(nrow(h), 200)
  best <- which.min(h$val_loss)
  expect_identical(nrow(h), best + 3L)
  val <- mean((predict(out, x[16:20, , , drop = FALSE]) - y[16:20, , , drop = FALSE])^2)
  expect_equal(val, h$val_loss[best], tolerance = 1e-5)
})

test_that("clipnorm scales a step's gradient to the given global norm", {
  set.seed(6)
  x <- array(stats::rnorm(3 * 4 * 2), c(3, 4, 2))
  y <- array(stats::rnorm(3 * 4) * 10, c(3, 4, 1))
  net <- sequential(layer_gru(3), layer_dense(1), input_dim = 2)
  g <- tsattn:::net_gradient(net, x, y)
  norm <- sqrt(sum(unlist(g$weights)^2))
  expect_gt(norm, 0.5)
  out <- fit(net, x, y, epochs = 1, batch_size = 3, shuffle = FALSE, clipnorm = 0.5,
             optimizer = optimizer_sgd(lr = 0.1), verbose = FALSE)
  step <- unlist(get_weights(net)) - unlist(get_weights(out))
  expect_equal(sqrt(sum(step^2)), 0.1 * 0.5, tolerance = 1e-4)
  expect_equal(step / sqrt(sum(step^2)), unlist(g$weights) / norm, tolerance = 1e-4)
})

test_that("mini-batch training with shuffling learns and the history grows across fits", {
  set.seed(7)
  t <- seq(0, 4 * pi, length.out = 21)
  phase <- stats::runif(32, 0, 2 * pi)
  s <- t(sapply(phase, function(p) sin(t + p)))
  x <- array(s[, 1:20], c(32, 20, 1))
  y <- array(s[, 2:21], c(32, 20, 1))
  net <- sequential(layer_lstm(8), layer_dense(1))
  a <- fit(net, x, y, epochs = 15, batch_size = 8, optimizer = optimizer_adam(lr = 0.02),
           seed = 1, verbose = FALSE)
  expect_lt(a$history$loss[15], a$history$loss[1] / 5)
  b <- fit(a, x, y, epochs = 5, batch_size = 8, seed = 2, verbose = FALSE)
  expect_identical(b$history$epoch, 1:20)
  expect_identical(b$history[1:15, ], a$history)
  mae <- fit(net, x, y, epochs = 15, batch_size = 8, loss = "mae",
             optimizer = optimizer_adam(lr = 0.02), seed = 1, verbose = FALSE)
  expect_lt(mae$history$loss[15], mae$history$loss[1] / 3)
  expect_null(net$weights) # fit() returned new objects; `net` is unchanged
})

test_that("verbose = TRUE prints the loss per epoch; print() and summary() describe the network", {
  d <- sine_data()
  expect_output(net <- fit(seed_net(), d$x, d$y, epochs = 3, batch_size = 1, seed = 1, verbose = TRUE),
                "epoch 1/3  loss [0-9.e-]+\nepoch 2/3  loss [0-9.e-]+\nepoch 3/3  loss")
  expect_silent(fit(seed_net(), d$x, d$y, epochs = 2, batch_size = 1, seed = 1, verbose = FALSE))
  expect_output(print(net), "2 layers, 209 parameters, input 1 feature")
  expect_output(print(net), "gru\\(4, num_layers = 2\\)")
  expect_output(print(net), "dense\\(1, tanh\\)")
  expect_output(print(net), "trained: 3 epochs")
  expect_output(print(seed_net()), "not built")
  expect_output(print(summary(net)), "loss: first")
  expect_output(print(layer_lstm(3)), "lstm\\(3\\)")
  expect_output(print(optimizer_adam(lr = 0.01)), "adam\\(lr = 0.01")
  expect_identical(cuda_available(), any(cuda_devices()$usable))
})

test_that("recurrent layers train to the same bits on one thread and on two", {
  # the step loop of a GRU or LSTM runs blocks of sequences on the threads when the work
  # is large enough (ta_parallel_rows): each sequence's recurrence and each row's products are
  # independent of the others, so the weights and predictions must not change
  old <- options(tsattn.threads = 1)
  on.exit({ options(old); tsattn:::sync_threads() })
  set.seed(7)
  x <- array(stats::rnorm(64 * 40 * 8), c(64, 40, 8))
  y <- array(stats::rnorm(64 * 40), c(64, 40, 1))
  for (ty in c("gru", "lstm")) {
    layer <- if (ty == "gru") layer_gru(48, num_layers = 2, dropout = 0.1) else
      layer_lstm(48, num_layers = 2, dropout = 0.1)
    net <- sequential(layer, layer_dense(1), input_dim = 8)
    run <- function(threads) {
      options(tsattn.threads = threads)
      tsattn:::sync_threads()
      f <- fit(net, x, y, epochs = 2, batch_size = 64, seed = 1, verbose = FALSE)
      list(f$weights, f$history$loss, predict(f, x))
    }
    expect_identical(run(1), run(2), info = ty)
  }
})

test_that("a fit repeats bit for bit when it reuses a freed workspace full of old values", {
  # ta_net.c keeps one freed workspace of 8 MB or more for the next network of about its
  # size: a fit must not depend on what the previous one left there
  set.seed(3)
  x <- array(stats::rnorm(48 * 200 * 8), c(48, 200, 8))
  y <- array(stats::rnorm(48 * 200), c(48, 200, 1))
  net <- sequential(layer_conv1d(64, 5, activation = "relu"), layer_conv1d(64, 3, activation = "gelu"),
                    layer_dense(1), input_dim = 8)
  run <- function() {
    f <- fit(net, x, y, epochs = 2, batch_size = 48, seed = 5, verbose = FALSE)
    list(f$weights, f$history$loss, predict(f, x))
  }
  first <- run()
  # another network of the same workspace size, other values, leaves its workspace behind
  other <- sequential(layer_conv1d(64, 5, activation = "tanh"), layer_conv1d(64, 3, activation = "relu"),
                      layer_dense(1), input_dim = 8)
  invisible(fit(other, x * 3 + 1, y - 2, epochs = 1, batch_size = 48, seed = 9, verbose = FALSE))
  expect_identical(run(), first)
  expect_identical(run(), first)
})
