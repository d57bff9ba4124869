# Analytic gradients of every layer, loss and a stacked network against central
# finite differences (see helper-gradcheck.R for the tolerances and why).

test_that("dense layer gradients are right for every activation, with and without bias", {
  set.seed(1)
  x <- rand_array(2, 3, 4)
  for (act in c("linear", "relu", "tanh", "sigmoid", "gelu")) {
    net <- sequential(layer_dense(3, activation = act), input_dim = 4)
    expect_gradients_match(net, x, rand_array(2, 3, 3))
  }
  net <- sequential(layer_dense(2, bias = FALSE), input_dim = 4)
  expect_identical(names(get_weights(net)), "0.weight")
  expect_gradients_match(net, x, rand_array(2, 3, 2))
})

test_that("activation layer gradients are right for every function", {
  set.seed(2)
  x <- rand_array(2, 4, 3)
  for (fn in c("linear", "relu", "tanh", "sigmoid", "gelu")) {
    net <- sequential(layer_dense(3), layer_activation(fn), input_dim = 3)
    expect_gradients_match(net, x, rand_array(2, 4, 3))
  }
})

test_that("dropout gradients follow the training mask", {
  set.seed(3)
  net <- sequential(layer_dense(6), layer_dropout(0.4), layer_dense(2), input_dim = 3)
  x <- rand_array(3, 4, 3)
  y <- rand_array(3, 4, 2)
  g <- expect_gradients_match(net, x, y, training = TRUE, seed = 11)
  # the mask is real: training output differs from evaluation output
  ev <- tsattn:::net_gradient(net, x, y, training = FALSE)
  expect_false(isTRUE(all.equal(g$output, ev$output)))
  # and evaluation mode is the identity
  expect_equal(ev$output, predict(sequential(layer_dense(6), layer_dense(2), input_dim = 3) |>
                                    set_weights(get_weights(net) |> stats::setNames(c("0.weight", "0.bias", "1.weight", "1.bias"))),
                                  x), tolerance = 1e-6)
})

test_that("GRU gradients are right: 1 and 2 layers, inter-layer dropout, last step", {
  set.seed(4)
  x <- rand_array(2, 5, 3)
  expect_gradients_match(sequential(layer_gru(4), input_dim = 3), x, rand_array(2, 5, 4))
  expect_gradients_match(sequential(layer_gru(4, num_layers = 2), layer_dense(2), input_dim = 3),
                         x, rand_array(2, 5, 2))
  expect_gradients_match(sequential(layer_gru(4, num_layers = 3, dropout = 0.3), layer_dense(2),
                                    input_dim = 3),
                         x, rand_array(2, 5, 2), training = TRUE, seed = 5)
  expect_gradients_match(sequential(layer_gru(5, num_layers = 2, return_sequences = FALSE),
                                    layer_dense(1), input_dim = 3),
                         x, rand_array(2, 1, 1))
})

test_that("LSTM gradients are right: 1 and 2 layers, inter-layer dropout, last step", {
  set.seed(5)
  x <- rand_array(2, 5, 3)
  expect_gradients_match(sequential(layer_lstm(4), input_dim = 3), x, rand_array(2, 5, 4))
  expect_gradients_match(sequential(layer_lstm(4, num_layers = 2), layer_dense(2), input_dim = 3),
                         x, rand_array(2, 5, 2))
  expect_gradients_match(sequential(layer_lstm(4, num_layers = 2, dropout = 0.5), layer_dense(2),
                                    input_dim = 3),
                         x, rand_array(2, 5, 2), training = TRUE, seed = 9)
  expect_gradients_match(sequential(layer_lstm(5, num_layers = 2, return_sequences = FALSE),
                                    layer_dense(1), input_dim = 3),
                         x, rand_array(2, 1, 1))
})

test_that("last-step layer gradients reach only the last step", {
  set.seed(6)
  net <- sequential(layer_dense(3, activation = "tanh"), layer_last_step(), layer_dense(2),
                    input_dim = 2)
  x <- rand_array(3, 4, 2)
  g <- expect_gradients_match(net, x, rand_array(3, 1, 2))
  expect_true(all(g$x[, 1:3, ] == 0))
  expect_true(any(g$x[, 4, ] != 0))
})

test_that("MAE loss gradients are right (away from its kink)", {
  set.seed(7)
  net <- sequential(layer_gru(3), layer_dense(2), input_dim = 2)
  x <- rand_array(2, 4, 2)
  y <- rand_array(2, 4, 2) * 3 # residuals far from zero, where |.| is smooth
  g <- expect_gradients_match(net, x, y, loss = "mae")
  out <- predict(net, x)
  expect_equal(g$loss, mean(abs(out - y)), tolerance = 1e-6)
})

test_that("MSE loss value is the mean squared error of the prediction", {
  set.seed(8)
  net <- sequential(layer_lstm(3), layer_dense(2), input_dim = 2)
  x <- rand_array(3, 4, 2)
  y <- rand_array(3, 4, 2)
  g <- tsattn:::net_gradient(net, x, y, loss = "mse")
  expect_equal(g$loss, mean((predict(net, x) - y)^2), tolerance = 1e-6)
  expect_equal(g$output, predict(net, x), tolerance = 1e-7)
})

test_that("a deep stacked network has right gradients end to end", {
  set.seed(9)
  net <- sequential(layer_dense(6, activation = "gelu"), layer_lstm(5, num_layers = 2),
                    layer_dropout(0.2), layer_gru(4), layer_dense(3, activation = "relu"),
                    layer_last_step(), layer_dense(1), input_dim = 3)
  expect_gradients_match(net, rand_array(3, 6, 3), rand_array(3, 1, 1), training = TRUE, seed = 3)
})

test_that("the gradient check itself catches a wrong gradient", {
  # guard against a check that cannot fail: perturb one analytic gradient
  set.seed(10)
  net <- sequential(layer_gru(3), layer_dense(1), input_dim = 2)
  x <- rand_array(2, 4, 2)
  y <- rand_array(2, 4, 1)
  g <- tsattn:::net_gradient(net, x, y)
  w <- get_weights(net)
  eps <- 1e-2
  k <- which.max(abs(g$weights[["0.weight_hh_l0"]]))
  wp <- w; wp[["0.weight_hh_l0"]][k] <- w[["0.weight_hh_l0"]][k] + eps
  wm <- w; wm[["0.weight_hh_l0"]][k] <- w[["0.weight_hh_l0"]][k] - eps
  num <- (fd_loss(set_weights(net, wp), x, y, "mse", FALSE, 1) -
            fd_loss(set_weights(net, wm), x, y, "mse", FALSE, 1)) / (2 * eps)
  ana <- g$weights[["0.weight_hh_l0"]][k]
  expect_lte(abs(num - ana), 2e-4 + 2e-2 * abs(num))
  expect_gt(abs(num - 1.1 * ana), 2e-4 + 2e-2 * abs(num))
})

test_that("a stack of recurrent cells equals the same cells chained as layers", {
  # the stack's cells find their weights and caches by closed-form offsets (a loop over
  # the cells below made a stack of 10,000 cells quadratic): the same weights in a chain
  # of one-cell layers give the same outputs and gradients, bit for bit, with the
  # inter-cell dropout's buffers in the layout (evaluation mode: dropout inactive)
  set.seed(41)
  x <- array(stats::rnorm(3 * 6 * 2), c(3, 6, 2))
  y <- array(stats::rnorm(3 * 6 * 1), c(3, 6, 1))
  for (cell in c("gru", "lstm")) for (drop in c(0, 0.25)) {
    ctor <- if (cell == "gru") layer_gru else layer_lstm
    stack <- sequential(ctor(4, num_layers = 4, dropout = drop), layer_dense(1), input_dim = 2)
    chain <- sequential(ctor(4), ctor(4), ctor(4), ctor(4), layer_dense(1), input_dim = 2)
    # the stack's tensors in order (cell by cell) are the chain's
    w <- unlist(get_weights(stack), use.names = FALSE)
    wc <- get_weights(chain)
    k <- 0L
    for (n in names(wc)) {
      m <- length(wc[[n]])
      wc[[n]][] <- w[k + seq_len(m)]
      k <- k + m
    }
    expect_identical(k, length(w))
    chain <- set_weights(chain, wc)
    info <- paste(cell, drop)
    expect_identical(predict(stack, x), predict(chain, x), info = info)
    gs <- tsattn:::net_gradient(stack, x, y)
    gc <- tsattn:::net_gradient(chain, x, y)
    expect_identical(gs$loss, gc$loss, info = info)
    expect_identical(unlist(gs$weights, use.names = FALSE), unlist(gc$weights, use.names = FALSE),
                     info = info)
    expect_identical(gs$x, gc$x, info = info)
  }
})
