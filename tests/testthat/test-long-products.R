# Products long enough to take the matrix kernel's other paths: weight gradients sum over
# batch x time rows, which the kernel runs in blocks of 256 (src/ta_gemm.c, KC), and the
# recurrent layers multiply a weight packed once per pass at every step, and collect
# dW_hh in one product over all steps. Gradients are checked against R in double
# precision (dense) and finite differences (GRU, LSTM) with batch x time above 256.

test_that("a dense layer's gradients over 600 rows match R's double-precision products", {
  set.seed(21)
  net <- sequential(layer_dense(7), input_dim = 5)
  x <- array(rnorm(30 * 20 * 5), c(30, 20, 5))
  y <- array(rnorm(30 * 20 * 7), c(30, 20, 7))
  g <- net_gradient(net, x, y)
  w <- get_weights(net)
  X <- matrix(aperm(x, c(3, 2, 1)), ncol = 5, byrow = TRUE) # rows (sequence, step)
  Y <- matrix(aperm(y, c(3, 2, 1)), ncol = 7, byrow = TRUE)
  yhat <- X %*% t(w[["0.weight"]]) + matrix(w[["0.bias"]], nrow(X), 7, byrow = TRUE)
  dY <- 2 * (yhat - Y) / length(Y)
  expect_equal(g$weights[["0.weight"]], t(dY) %*% X, tolerance = 1e-5, ignore_attr = TRUE)
  expect_equal(as.numeric(g$weights[["0.bias"]]), colSums(dY), tolerance = 1e-5)
  expect_equal(g$loss, mean((yhat - Y)^2), tolerance = 1e-6)
})

test_that("GRU and LSTM gradients are right with batch x time above the kernel's block", {
  set.seed(22)
  x <- array(rnorm(6 * 50 * 2), c(6, 50, 2))
  y <- array(rnorm(6 * 50 * 1), c(6, 50, 1))
  expect_gradients_match(sequential(layer_gru(5, num_layers = 2), layer_dense(1), input_dim = 2),
                         x, y, max_elements = 6)
  expect_gradients_match(sequential(layer_lstm(5, num_layers = 2), layer_dense(1), input_dim = 2),
                         x, y, max_elements = 6)
})

test_that("recurrent outputs do not depend on how many sequences are forwarded together", {
  set.seed(23)
  x <- array(rnorm(11 * 40 * 3), c(11, 40, 3))
  for (net in list(sequential(layer_gru(9, num_layers = 2), layer_dense(2), input_dim = 3),
                   sequential(layer_lstm(9), layer_dense(2), input_dim = 3))) {
    expect_identical(predict(net, x, batch_size = 2), predict(net, x, batch_size = 11))
  }
})
