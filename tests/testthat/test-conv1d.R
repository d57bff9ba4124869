# conv1d: PyTorch fixtures (tools/make_fixtures_conv.py), finite-difference gradients,
# output lengths, causality and argument errors.

# Everything a fixture case checks: weight names and shapes, forward output, loss,
# weight and input gradients, and one Adam step (as expect_matches_torch() in
# test-torch-fixtures.R).
expect_conv_matches_torch <- function(fx, net) {
  wn <- expect_fixture_weights(fx, net)
  w <- get_weights(net)
  net <- set_weights(net, fx[names(w)])
  expect_close_list(get_weights(net), fx[wn], rtol = 1e-7, atol = 0, what = "weights ")
  expect_close(predict(net, fx$x), fx$output, label = "output")
  g <- tsattn:::net_gradient(net, fx$x, fx$y, loss = "mse")
  expect_close(g$loss, fx$loss, label = "loss")
  expect_close_list(g$weights, fixture_group(fx, "grad")[wn], what = "grad.")
  expect_close(g$x, fx$grad.x, label = "grad.x")
  net1 <- fit(net, fx$x, fx$y, epochs = 1, batch_size = dim(fx$x)[1],
              optimizer = optimizer_adam(lr = 0.01), shuffle = FALSE, verbose = FALSE)
  expect_close_list(get_weights(net1), fixture_group(fx, "adam1"), what = "adam1.")
  invisible(net)
}

conv_fixture_cases <- list(
  conv_same5_relu = list(kernel = 5, padding = "same", activation = "relu"),
  conv_same5 = list(kernel = 5, padding = "same", activation = NULL),
  conv_same4_relu = list(kernel = 4, padding = "same", activation = "relu"),
  conv_same4 = list(kernel = 4, padding = "same", activation = NULL),
  conv_causal3_relu = list(kernel = 3, padding = "causal", activation = "relu"),
  conv_causal3 = list(kernel = 3, padding = "causal", activation = NULL),
  conv_valid3_relu = list(kernel = 3, padding = "valid", activation = "relu"),
  conv_valid3 = list(kernel = 3, padding = "valid", activation = NULL),
  conv_same4_nobias = list(kernel = 4, padding = "same", activation = NULL, bias = FALSE)
)

for (case in names(conv_fixture_cases)) {
  local({
    cs <- conv_fixture_cases[[case]]
    test_that(sprintf("conv1d matches PyTorch: %s", case), {
      fx <- read_fixture(case)
      expect_identical(dim(fx$x), c(2L, 9L, 3L))
      t_out <- if (cs$padding == "valid") 9L - as.integer(cs$kernel) + 1L else 9L
      expect_identical(dim(fx$output), c(2L, t_out, 4L))
      net <- sequential(layer_conv1d(4, cs$kernel, padding = cs$padding,
                                     activation = cs$activation,
                                     bias = if (is.null(cs$bias)) TRUE else cs$bias),
                        input_dim = 3)
      expect_conv_matches_torch(fx, net)
      if (identical(cs$activation, "relu")) {
        # the case exercises the activation: some outputs are clipped, some are not
        expect_true(any(fx$output == 0) && any(fx$output > 0))
      }
    })
  })
}

# The convolution written out in R (double precision), PyTorch's definition:
# z[b, t, f] = bias[f] + sum_{i,k} W[f, i, k] x[b, t + k - 1 - pad_left, i]
conv_reference <- function(x, W, b, padding) {
  T <- dim(x)[2]; K <- dim(W)[3]
  pl <- switch(padding, same = (K - 1) %/% 2, causal = K - 1, valid = 0)
  To <- if (padding == "valid") T - K + 1 else T
  z <- array(0, c(dim(x)[1], To, dim(W)[1]))
  for (bb in seq_len(dim(x)[1])) for (t in seq_len(To)) for (f in seq_len(dim(W)[1])) {
    s <- if (is.null(b)) 0 else b[f]
    for (k in seq_len(K)) {
      ti <- t + k - 1 - pl
      if (ti >= 1 && ti <= T) s <- s + sum(W[f, , k] * x[bb, ti, ])
    }
    z[bb, t, f] <- s
  }
  z
}

test_that("conv1d forward equals the convolution written out, for kernels 1 to 6", {
  set.seed(12)
  x <- rand_array(2, 8, 3)
  for (pad in c("same", "causal", "valid")) {
    for (k in 1:6) {
      for (bias in c(TRUE, FALSE)) {
        net <- sequential(layer_conv1d(2, k, padding = pad, bias = bias), input_dim = 3)
        w <- get_weights(net)
        ref <- conv_reference(x, w[["0.weight"]], if (bias) w[["0.bias"]], pad)
        expect_equal(predict(net, x), ref, tolerance = 1e-6,
                     label = sprintf("conv1d(kernel %d, %s, bias %s)", k, pad, bias))
      }
    }
  }
})

test_that("conv1d weights have PyTorch's layout and initialisation bound", {
  set.seed(11)
  net <- sequential(layer_conv1d(32, 5), input_dim = 6)
  w <- get_weights(net)
  expect_identical(names(w), c("0.weight", "0.bias"))
  expect_identical(dim(w[["0.weight"]]), c(32L, 6L, 5L))
  expect_length(w[["0.bias"]], 32L)
  bound <- 1 / sqrt(6 * 5)
  for (v in w) {
    expect_lte(max(abs(v)), bound)
    expect_gt(max(abs(v)), 0.8 * bound)
  }
  expect_lt(abs(mean(w[["0.weight"]])), 0.02)
  net_nb <- sequential(layer_conv1d(3, 2, bias = FALSE), input_dim = 2)
  expect_identical(names(get_weights(net_nb)), "0.weight")
})

test_that("conv1d gradients are right for every padding, with and without bias", {
  set.seed(21)
  x <- rand_array(2, 7, 3)
  for (pad in c("same", "causal", "valid")) {
    for (k in c(2, 3, 4)) {
      for (bias in c(TRUE, FALSE)) {
        net <- sequential(layer_conv1d(4, k, padding = pad, bias = bias), input_dim = 3)
        t_out <- if (pad == "valid") 7 - k + 1 else 7
        expect_gradients_match(net, x, rand_array(2, t_out, 4))
      }
    }
  }
})

# Central differences with step eps (and 2 eps in the extrapolation) are meaningless
# where they straddle relu's kink, so relu checks draw inputs whose pre-activations
# (the same convolution without the activation) all stay `margin` away from zero.
# Inputs are uniform in [-2, 2], so a step of 2 eps = 0.02 along a unit direction of
# one filter's weights moves a pre-activation by at most 0.02 * |window| <= 0.02 * 6
# = 0.12 (3 x 3 window), inside the margin of 0.15.
draw_away_from_kink <- function(net_linear, dims, margin = 0.15, tries = 5000) {
  for (i in seq_len(tries)) {
    x <- array(stats::runif(prod(dims), -2, 2), dims)
    if (min(abs(predict(net_linear, x))) > margin) return(x)
  }
  stop("no input away from the kink in ", tries, " tries")
}

test_that("conv1d gradients are right for every fused activation", {
  set.seed(22)
  for (act in c("linear", "relu", "tanh", "sigmoid", "gelu")) {
    for (pad in c("same", "causal", "valid")) {
      net <- sequential(layer_conv1d(3, 3, padding = pad, activation = act), input_dim = 3)
      lin <- set_weights(sequential(layer_conv1d(3, 3, padding = pad), input_dim = 3),
                         get_weights(net))
      x <- draw_away_from_kink(lin, c(2, 6, 3))
      expect_gt(min(abs(predict(lin, x))), 0.15)
      t_out <- if (pad == "valid") 4 else 6
      expect_gradients_match(net, x, rand_array(2, t_out, 3))
    }
  }
})

test_that("conv1d gradients are right for kernel 1 and a stacked conv network", {
  set.seed(23)
  x <- rand_array(3, 8, 2)
  net1 <- sequential(layer_conv1d(5, 1, activation = "tanh"), input_dim = 2)
  expect_gradients_match(net1, x, rand_array(3, 8, 5))
  # kernel 1 is a dense layer at every step, whatever the padding
  for (pad in c("same", "causal", "valid")) {
    nk <- sequential(layer_conv1d(5, 1, padding = pad, activation = "tanh"), input_dim = 2)
    nk <- set_weights(nk, get_weights(net1))
    expect_equal(predict(nk, x), predict(net1, x), tolerance = 1e-7)
  }
  nd <- sequential(layer_dense(5, activation = "tanh"), input_dim = 2)
  w1 <- get_weights(net1)
  nd <- set_weights(nd, list(`0.weight` = w1[["0.weight"]][, , 1], `0.bias` = w1[["0.bias"]]))
  expect_equal(predict(nd, x), predict(net1, x), tolerance = 1e-6)

  # smooth activations here (relu is checked above, away from its kink)
  stacked <- sequential(layer_conv1d(4, 3, padding = "causal", activation = "tanh"),
                        layer_conv1d(4, 2, padding = "same", activation = "gelu"),
                        layer_conv1d(2, 3, padding = "valid"),
                        layer_dense(1), input_dim = 2)
  expect_identical(names(get_weights(stacked)),
                   c("0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias",
                     "3.weight", "3.bias"))
  expect_gradients_match(stacked, x, rand_array(3, 6, 1))
})

test_that("conv1d on more rows than one im2col block: right gradients, the same on 1 and 2 threads", {
  # the layer makes its im2col rows 256 at a time (layer_conv1d.c, CONV_BLOCK) and runs
  # its forward, weight gradient and input gradient on the threads: 12 x 100 = 1200 rows
  # (not a multiple of 256) and enough work for two threads in every pass
  old <- options(tsattn.threads = 1)
  on.exit({ options(old); tsattn:::sync_threads() })
  tsattn:::sync_threads()
  set.seed(31)
  x <- rand_array(12, 100, 8)
  for (pad in c("same", "causal", "valid")) {
    net <- sequential(layer_conv1d(48, 5, padding = pad, activation = "tanh"),
                      layer_conv1d(3, 3, padding = pad), input_dim = 8)
    t_out <- if (pad == "valid") 100 - 4 - 2 else 100
    y <- rand_array(12, t_out, 3)
    expect_gradients_match(net, x, y, max_elements = 4)
    run <- function(threads) {
      options(tsattn.threads = threads)
      tsattn:::sync_threads()
      g <- tsattn:::net_gradient(net, x, y)
      f <- fit(net, x, y, epochs = 2, batch_size = 6, seed = 1, verbose = FALSE)
      list(g, f$weights, f$history$loss, predict(f, x), predict(f, x[1:5, , , drop = FALSE]))
    }
    one <- run(1)
    expect_identical(run(2), one, info = pad)
    # a sequence's output does not depend on the batch it is predicted in
    expect_identical(one[[5]], one[[4]][1:5, , , drop = FALSE], info = pad)
  }
})

test_that("conv1d output lengths: same and causal keep T, valid gives T - k + 1", {
  set.seed(24)
  x <- rand_array(2, 10, 3)
  for (k in c(1L, 2L, 5L, 10L)) {
    expect_identical(dim(predict(sequential(layer_conv1d(2, k), input_dim = 3), x)),
                     c(2L, 10L, 2L))
    expect_identical(dim(predict(sequential(layer_conv1d(2, k, padding = "causal"),
                                            input_dim = 3), x)), c(2L, 10L, 2L))
    expect_identical(dim(predict(sequential(layer_conv1d(2, k, padding = "valid"),
                                            input_dim = 3), x)), c(2L, 10L - k + 1L, 2L))
  }
  # two valid convolutions shrink twice
  net <- sequential(layer_conv1d(4, 3, padding = "valid"), layer_conv1d(1, 4, padding = "valid"),
                    input_dim = 3)
  expect_identical(dim(predict(net, x)), c(2L, 5L, 1L))
})

test_that("causal conv1d: the output at t depends only on inputs up to t", {
  set.seed(25)
  net <- sequential(layer_conv1d(4, 3, padding = "causal", activation = "tanh"),
                    layer_conv1d(2, 4, padding = "causal"), input_dim = 3)
  x <- rand_array(2, 12, 3)
  y0 <- predict(net, x)
  for (t in c(1, 6, 12)) {
    xp <- x
    xp[, t, ] <- xp[, t, ] + 1
    yp <- predict(net, xp)
    if (t > 1) expect_identical(yp[, seq_len(t - 1), , drop = FALSE], y0[, seq_len(t - 1), , drop = FALSE])
    expect_true(all(abs(yp[, t, ] - y0[, t, ]) > 0))
  }
  # "same" padding looks ahead: perturbing a later step changes an earlier output
  same <- sequential(layer_conv1d(4, 3, padding = "same"), input_dim = 3)
  xp <- x
  xp[, 6, ] <- xp[, 6, ] + 1
  expect_false(isTRUE(all.equal(predict(same, xp)[, 5, ], predict(same, x)[, 5, ])))
})

test_that("causal conv1d input gradients respect time order", {
  set.seed(26)
  net <- sequential(layer_conv1d(3, 4, padding = "causal"), input_dim = 2)
  x <- rand_array(1, 10, 2)
  out <- predict(net, x)
  # loss only at step 5 (target = output elsewhere): gradients reach steps 2..5 only
  y <- out
  y[, 5, ] <- y[, 5, ] + 1
  g <- tsattn:::net_gradient(net, x, y)
  expect_true(all(g$x[, 6:10, ] == 0))
  expect_true(all(g$x[, 2:5, ] != 0))
  expect_true(all(g$x[, 1, ] == 0))
})

test_that("valid conv1d on sequences shorter than the kernel is an R error", {
  net <- sequential(layer_conv1d(2, 5, padding = "valid"), input_dim = 1)
  expect_identical(dim(predict(net, array(0, c(1, 5, 1)))), c(1L, 1L, 2L))
  expect_error(predict(net, array(0, c(1, 4, 1))), "layer 1 \\(conv1d.*4 time steps")
  expect_error(fit(net, array(0, c(2, 3, 1)), array(0, c(2, 1, 2)), epochs = 1,
                   verbose = FALSE), "conv1d")
})

test_that("bad conv1d arguments are errors naming the argument", {
  expect_error(layer_conv1d(0, 3), "filters")
  expect_error(layer_conv1d(4, 0), "kernel_size")
  expect_error(layer_conv1d(4, 3, padding = "full"), "padding")
  expect_error(layer_conv1d(4, 3, activation = "softmax"), "activation")
  expect_error(layer_conv1d(4, 3, bias = NA), "bias")
})
