# Bad input is an R error that names the argument; nothing crashes or returns NaN.

sine_net <- function() sequential(layer_gru(3), layer_dense(1), input_dim = 1)
xy <- function(b = 2, t = 5, f = 1) list(x = array(stats::rnorm(b * t * f), c(b, t, f)),
                                         y = array(stats::rnorm(b * t), c(b, t, 1)))

test_that("NA, NaN and Inf in x or y are errors naming the argument and the place", {
  d <- xy()
  for (bad in c(NA, NaN, Inf, -Inf)) {
    x <- d$x; x[2, 3, 1] <- bad
    expect_error(fit(sine_net(), x, d$y, epochs = 1, verbose = FALSE), "`x` must be free of NA, NaN and Inf.*\\[2, 3, 1\\]")
    y <- d$y; y[1, 1, 1] <- bad
    expect_error(fit(sine_net(), d$x, y, epochs = 1, verbose = FALSE), "`y` must be free of NA")
  }
  x <- d$x; x[1, 1, 1] <- NA
  expect_error(predict(sine_net(), x), "`x` must be free of NA")
})

test_that("non-numeric or non-array x is an error", {
  d <- xy()
  expect_error(fit(sine_net(), "a", d$y, verbose = FALSE), "`x` must be a numeric array")
  expect_error(fit(sine_net(), list(1, 2), d$y, verbose = FALSE), "`x` must be a numeric array")
  expect_error(predict(sine_net(), factor(1:3)), "`x` must be a numeric array")
  expect_error(predict(sine_net(), array(1, c(1, 2, 1, 1))), "`x` must be an array with 3 dimensions")
  expect_error(predict(sine_net(), array(1, c(0, 2, 1))), "`x` must be non-empty")
})

test_that("x and y disagreeing in batch, time or features are errors", {
  d <- xy(b = 3, t = 5)
  expect_error(fit(sine_net(), d$x, d$y[1:2, , , drop = FALSE], verbose = FALSE),
               "`y` must have 3 sequences, as many as `x`, not 2")
  expect_error(fit(sine_net(), d$x, d$y[, 1:4, , drop = FALSE], verbose = FALSE),
               "`y` must have 5 time steps per sequence")
  expect_error(fit(sine_net(), d$x, array(0, c(3, 5, 2)), verbose = FALSE),
               "`y` must have 1 feature")
  last <- sequential(layer_gru(3, return_sequences = FALSE), layer_dense(1), input_dim = 1)
  expect_error(fit(last, d$x, d$y, verbose = FALSE), "`y` must have 1 time step per sequence")
})

test_that("predict() with the wrong number of features is an error", {
  net <- sequential(layer_lstm(2), layer_dense(1), input_dim = 3)
  expect_error(predict(net, array(0, c(1, 4, 2))), "`x` must have 3 features per step.*not 2")
  d <- xy(f = 2)
  expect_error(fit(sine_net(), d$x, d$y, verbose = FALSE), "`x` must have 1 feature per step")
})

test_that("bad layer arguments are errors naming the argument", {
  expect_error(layer_dense(0), "`units` must be a whole number >= 1, not 0")
  expect_error(layer_dense(-3), "`units` must be a whole number >= 1")
  expect_error(layer_dense(2.5), "`units` must be a whole number")
  expect_error(layer_dense("a"), "`units` must be")
  expect_error(layer_gru(0), "`units` must be a whole number >= 1")
  expect_error(layer_lstm(NA), "`units` must be")
  expect_error(layer_gru(3, num_layers = 0), "`num_layers` must be a whole number >= 1")
  expect_error(layer_gru(3, dropout = 1), "`dropout` must be a single number in \\[0, 1\\)")
  expect_error(layer_dropout(-0.1), "`rate` must be a single number in \\[0, 1\\)")
  expect_error(layer_dense(2, activation = "swish"), "`activation` must be one of .*\"relu\".*not \"swish\"")
  expect_error(layer_activation("softmax"), "`fn` must be one of")
  expect_error(layer_gru(3, return_sequences = NA), "`return_sequences` must be TRUE or FALSE")
  expect_error(sequential(), "at least one layer")
  expect_error(sequential(layer_dense(1), "dense"), "`..2` must be a layer")
  expect_error(sequential(layer_dense(1), input_dim = 0), "`input_dim` must be a whole number >= 1")
})

test_that("bad training arguments are errors naming the argument", {
  d <- xy()
  net <- sine_net()
  expect_error(fit(net, d$x, d$y, epochs = 0, verbose = FALSE), "`epochs` must be a whole number >= 1, not 0")
  expect_error(fit(net, d$x, d$y, epochs = 1, batch_size = 0, verbose = FALSE), "`batch_size` must be")
  expect_error(fit(net, d$x, d$y, epochs = 1, loss = "huber", verbose = FALSE), "`loss` must be one of")
  expect_error(fit(net, d$x, d$y, epochs = 1, optimizer = "adam", verbose = FALSE), "`optimizer` must be an optimizer")
  expect_error(fit(net, d$x, d$y, epochs = 1, validation_split = 1, verbose = FALSE), "`validation_split` must be")
  expect_error(fit(net, d$x, d$y, epochs = 1, validation_split = 0.1, verbose = FALSE),
               "`validation_split` must be a fraction leaving at least one sequence")
  expect_error(fit(net, d$x, d$y, epochs = 1, seed = 1.5, verbose = FALSE), "`seed` must be NULL or a whole number")
  expect_error(fit(net, d$x, d$y, epochs = 1, clipnorm = 0, verbose = FALSE), "`clipnorm` must be")
  expect_error(fit(net, d$x, d$y, epochs = 1, patience = 0, verbose = FALSE), "`patience` must be")
  expect_error(fit(net, d$x, d$y, epochs = 1, device = "tpu", verbose = FALSE), "`device` must be one of")
  expect_error(fit(net, d$x, d$y, epochs = 1, device = "cuda", verbose = FALSE), "no CUDA")
  expect_error(optimizer_adam(lr = 0), "`lr` must be a single number > 0, not 0")
  expect_error(optimizer_adam(lr = -1), "`lr` must be a single number > 0")
  expect_error(optimizer_sgd(lr = NA), "`lr` must be")
  expect_error(optimizer_adam(beta1 = 1), "`beta1` must be")
  expect_error(optimizer_sgd(momentum = -0.5), "`momentum` must be")
  expect_error(optimizer_adam(weight_decay = -1), "`weight_decay` must be")
})

test_that("set_weights() rejects a missing name, an unknown name, a wrong shape, NA", {
  net <- sine_net()
  w <- get_weights(net)
  expect_error(set_weights(net, w[-1]), "`weights` must be a list with every weight.*\"0.weight_ih_l0\"")
  expect_error(set_weights(net, c(w, list(extra = 1))), "unknown name \"extra\"")
  bad <- w; bad[["0.weight_hh_l0"]] <- matrix(0, 3, 9)
  expect_error(set_weights(net, bad), "`weights\\[\\[\"0.weight_hh_l0\"\\]\\]` must be of shape 9 x 3, not shape 3 x 9")
  bad <- w; bad[["1.bias"]] <- c(1, 2)
  expect_error(set_weights(net, bad), "must be of shape 1, not shape 2")
  bad <- w; bad[["1.bias"]] <- NA_real_
  expect_error(set_weights(net, bad), "`weights\\[\\[\"1.bias\"\\]\\]` must be numeric|free of NA")
  bad <- w; bad[["1.weight"]][1] <- Inf
  expect_error(set_weights(net, bad), "free of NA, NaN and Inf")
  expect_error(set_weights(net, 1:3), "`weights` must be a named list")
  expect_error(set_weights("net", w), "`object` must be a network")
})

test_that("a model object whose weights were truncated by hand is an error, not a bad read", {
  d <- xy()
  net <- sine_net()
  cut <- net
  cut$weights[["0.weight_hh_l0"]] <- cut$weights[["0.weight_hh_l0"]][1:4, ]
  expect_error(predict(cut, d$x), "`object\\$weights\\[\\[\"0.weight_hh_l0\"\\]\\]` must be of shape 9 x 3")
  expect_error(fit(cut, d$x, d$y, epochs = 1, verbose = FALSE), "must be of shape 9 x 3")
  gone <- net
  gone$weights[["1.bias"]] <- NULL
  expect_error(predict(gone, d$x), "missing \"1.bias\"")
  flat <- net
  flat$weights <- unlist(net$weights)
  expect_error(predict(flat, d$x), "`object\\$weights` must be a named list")
  bad_layer <- net
  bad_layer$layers[[1]]$units <- -1L
  expect_error(predict(bad_layer, d$x), "units must be >= 1")
  # (predict() on a plain list dispatches elsewhere, e.g. to forecast's default method)
  expect_error(tsattn:::predict.tsattn_network(list(a = 1), d$x), "`object` must be a network")
  unbuilt <- sequential(layer_dense(1))
  expect_error(predict(unbuilt, d$x), "`object` must be a built network")
  expect_error(get_weights(unbuilt), "`object` must be a built network")
})

test_that("a diverging run stops with a warning and keeps finite weights", {
  d <- xy(b = 4, t = 6)
  d$y <- d$y * 1e30
  net <- sequential(layer_dense(8, activation = "relu"), layer_dense(1), input_dim = 1)
  expect_warning(
    out <- fit(net, d$x, d$y, epochs = 50, batch_size = 4, optimizer = optimizer_sgd(lr = 10),
               verbose = FALSE, seed = 1),
    "training loss became (NaN|infinite)"
  )
  expect_true(all(is.finite(unlist(get_weights(out)))))
  expect_true(all(is.finite(predict(out, d$x))))
  expect_lt(nrow(out$history), 50)
})
