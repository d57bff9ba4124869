# Layer norm: PyTorch fixture (nn.LayerNorm between two linear layers), finite
# differences, and its defining property.

test_that("layer norm matches nn.LayerNorm: output, loss, gradients, one Adam step", {
  fx <- read_fixture("layer_norm")
  net <- sequential(layer_dense(6), layer_layer_norm(), layer_dense(2), input_dim = 3)
  w <- get_weights(net)
  expect_identical(names(w), c("0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"))
  net <- set_weights(net, fx[names(w)])
  expect_close(predict(net, fx$x), fx$output, label = "output")
  g <- tsattn:::net_gradient(net, fx$x, fx$y)
  expect_close(g$loss, fx$loss, label = "loss")
  for (nm in names(w)) expect_close(g$weights[[nm]], fx[[paste0("grad.", nm)]], label = paste("grad", nm))
  expect_close(g$x, fx$grad.x, label = "grad.x")
  stepped <- fit(net, fx$x, fx$y, epochs = 1, batch_size = 2, shuffle = FALSE,
                 optimizer = optimizer_adam(lr = 0.01), verbose = FALSE)
  for (nm in names(w))
    expect_close(get_weights(stepped)[[nm]], fx[[paste0("adam1.", nm)]], label = paste("adam1", nm))
})

test_that("layer norm gradients pass finite differences; output rows are normalised", {
  set.seed(21)
  net <- sequential(layer_dense(7), layer_layer_norm(eps = 1e-3), layer_dense(2), input_dim = 3)
  w <- get_weights(net)
  w[["1.weight"]] <- stats::rnorm(7)
  w[["1.bias"]] <- stats::rnorm(7)
  net <- set_weights(net, w)
  expect_gradients_match(net, rand_array(3, 4, 3), rand_array(3, 4, 2))
  # with the initial (ones, zeros) affine weights each step has mean 0 and variance 1
  ln <- sequential(layer_layer_norm(), input_dim = 5)
  x <- rand_array(2, 3, 5) * 4 + 2
  out <- predict(ln, x)
  expect_lt(max(abs(apply(out, c(1, 2), mean))), 1e-6)
  expect_lt(max(abs(apply(out, c(1, 2), function(v) mean(v^2)) - 1)), 1e-3)
  expect_identical(get_weights(ln)[["0.weight"]], rep(1, 5))
  expect_identical(get_weights(ln)[["0.bias"]], rep(0, 5))
  expect_error(layer_layer_norm(eps = 0), "`eps` must be a single number > 0")
})
