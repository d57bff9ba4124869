# Positional encoding: the sinusoidal table against its formula, the layer's output
# (input + P, then dropout in training), learned tables, gradients, and errors.

# The sinusoidal encoding written out in R (double precision):
# P[i, 2j] = sin(i / 10000^(2j/d)), P[i, 2j+1] = cos(i / 10000^(2j/d)), i from 0
posenc_reference <- function(len, d) {
  P <- matrix(0, len, d)
  for (c in seq_len(d) - 1L) {
    two_j <- c - c %% 2L
    angle <- (seq_len(len) - 1) / 10000^(two_j / d)
    P[, c + 1L] <- if (c %% 2L == 0L) sin(angle) else cos(angle)
  }
  P
}

# Round doubles to the nearest float32 (ties to even), as the C core stores them.
f32 <- function(v) {
  out <- v
  nz <- v != 0
  e <- floor(log2(abs(v[nz])))
  out[nz] <- round(v[nz] * 2^(23 - e)) * 2^(e - 23)
  out
}

# P [T, d] repeated for every sequence of a batch: [B, T, d]
batch_of <- function(P, B) aperm(array(P, c(dim(P), B)), c(3, 1, 2))

# bitwise equality of two arrays, reported as dims and the largest difference
expect_exact <- function(actual, expected, label = deparse(substitute(actual))) {
  expect_identical(dim(actual), dim(expected), label = paste("dims of", label))
  expect_identical(max(abs(actual - expected)), 0, label = paste("max |difference| of", label))
}

test_that("positional_encoding(60, 32) equals the formula", {
  P <- positional_encoding(60, 32)
  expect_true(is.matrix(P))
  expect_identical(dim(P), c(60L, 32L))
  expect_lte(max(abs(P - posenc_reference(60, 32))), 1e-6)
  # position 0 is (0, 1, 0, 1, ...)
  expect_identical(P[1, ], rep(c(0, 1), 16))
})

test_that("positional_encoding(5, 7): odd widths end with a sine column", {
  P <- positional_encoding(5, 7)
  expect_identical(dim(P), c(5L, 7L))
  ref <- posenc_reference(5, 7)
  expect_lte(max(abs(P - ref)), 1e-6)
  expect_lte(max(abs(P[, 7] - sin((0:4) / 10000^(6 / 7)))), 1e-6)
  expect_identical(P[1, ], c(0, 1, 0, 1, 0, 1, 0))
  expect_identical(dim(positional_encoding(1, 1)), c(1L, 1L))
  expect_identical(positional_encoding(3, 1)[, 1], f32(sin(0:2)))
})

test_that("positional_encoding() refuses absurd sizes before allocating", {
  # 1e9 x 2 doubles (16 GB) ran for minutes before; now an error naming both arguments
  expect_error(positional_encoding(1e9, 2),
               "`length` x `d_model` = 1000000000 x 2 = 2000000000 values, more than options\\(tsattn.max_weights\\)")
  old <- options(tsattn.max_weights = 10)
  on.exit(options(old))
  expect_error(positional_encoding(4, 3), "4 x 3 = 12 values")
  expect_identical(dim(positional_encoding(5, 2)), c(5L, 2L))
  expect_error(positional_encoding(2^31, 1), "`length`")
})

test_that("the sinusoidal layer outputs input + P exactly in evaluation mode", {
  set.seed(31)
  for (d in c(4L, 5L)) {
    net <- sequential(layer_positional_encoding(max_len = 50, dropout = 0.3), input_dim = d)
    expect_length(get_weights(net), 0L)
    x <- array(f32(stats::rnorm(3 * 11 * d)), c(3, 11, d))
    P <- positional_encoding(11, d)
    expect_exact(predict(net, x), f32(x + batch_of(P, 3)))
    expect_exact(predict(net, array(0, c(2, 11, d))), batch_of(P, 2))
    # a sequence of exactly max_len steps is fine
    expect_exact(predict(net, array(0, c(1, 50, d)))[1, , ], positional_encoding(50, d))
    # net_gradient without training is the same (dropout off)
    g <- tsattn:::net_gradient(net, x, x, training = FALSE)
    expect_exact(g$output, predict(net, x))
  }
})

test_that("positional encoding applies inverted dropout in training only", {
  set.seed(32)
  rate <- 0.4
  net <- sequential(layer_positional_encoding(max_len = 30, dropout = rate), input_dim = 6)
  x <- rand_array(4, 20, 6)
  y <- rand_array(4, 20, 6)
  full <- predict(net, x)
  g <- tsattn:::net_gradient(net, x, y, training = TRUE, seed = 3)
  out <- g$output
  dropped <- out == 0
  expect_gt(mean(dropped), 0.3)
  expect_lt(mean(dropped), 0.5)
  expect_lte(max(abs(out[!dropped] - full[!dropped] / (1 - rate))), 1e-6 * max(abs(full)))
  # the input gradient follows the same mask
  expect_true(all(g$x[dropped] == 0))
  expect_true(all(g$x[!dropped] != 0))
  # the same seed gives the same mask, another seed another one
  g2 <- tsattn:::net_gradient(net, x, y, training = TRUE, seed = 3)
  expect_exact(g2$output, out)
  g3 <- tsattn:::net_gradient(net, x, y, training = TRUE, seed = 4)
  expect_false(identical(g3$output == 0, dropped))
})

test_that("sinusoidal positional encoding gradients are right (odd and even widths, dropout)", {
  set.seed(33)
  for (d in c(4L, 5L)) {
    x <- rand_array(2, 6, 3)
    net <- sequential(layer_dense(d, activation = "tanh"), layer_positional_encoding(max_len = 8),
                      layer_dense(2), input_dim = 3)
    g <- expect_gradients_match(net, x, rand_array(2, 6, 2))
    expect_true(all(g$x != 0))
    net_d <- sequential(layer_dense(d, activation = "tanh"),
                        layer_positional_encoding(max_len = 8, dropout = 0.3),
                        layer_dense(2), input_dim = 3)
    expect_gradients_match(net_d, x, rand_array(2, 6, 2), training = TRUE, seed = 13)
  }
  # the layer alone: its input gradient is the output gradient
  net <- sequential(layer_positional_encoding(max_len = 10), input_dim = 3)
  x <- rand_array(2, 7, 3)
  y <- rand_array(2, 7, 3)
  g <- expect_gradients_match(net, x, y)
  expect_equal(g$x, 2 * (g$output - y) / length(y), tolerance = 1e-6)
})

test_that("learned positional encoding: weight [max_len, d] from N(0, 0.02^2)", {
  set.seed(34)
  net <- sequential(layer_positional_encoding("learned", max_len = 500), input_dim = 40)
  w <- get_weights(net)
  expect_identical(names(w), "0.weight")
  expect_identical(dim(w[["0.weight"]]), c(500L, 40L))
  v <- as.vector(w[["0.weight"]])
  expect_lt(abs(mean(v)), 0.001)
  expect_lt(abs(stats::sd(v) - 0.02), 0.0005)
  expect_gt(stats::shapiro.test(v[1:5000])$p.value, 1e-4)
  # different seeds, different tables
  w2 <- get_weights(sequential(layer_positional_encoding("learned", max_len = 500),
                               input_dim = 40))
  expect_false(identical(w, w2))
})

test_that("learned positional encoding adds its first T rows exactly", {
  set.seed(35)
  for (d in c(3L, 4L)) {
    net <- sequential(layer_positional_encoding("learned", max_len = 12), input_dim = d)
    W <- matrix(f32(stats::rnorm(12 * d)), 12, d)
    net <- set_weights(net, list(`0.weight` = W))
    x <- array(f32(stats::rnorm(2 * 9 * d)), c(2, 9, d))
    expect_exact(predict(net, x), f32(x + batch_of(W[1:9, , drop = FALSE], 2)))
  }
})

test_that("learned positional encoding gradients are right (odd and even widths, dropout)", {
  set.seed(36)
  for (d in c(4L, 5L)) {
    x <- rand_array(3, 6, 2)
    net <- sequential(layer_dense(d, activation = "tanh"),
                      layer_positional_encoding("learned", max_len = 9),
                      layer_dense(2, activation = "tanh"), input_dim = 2)
    # a larger table than the default init, so the encoding matters to the loss
    w <- get_weights(net)
    w[["1.weight"]] <- w[["1.weight"]] * 20
    net <- set_weights(net, w)
    g <- expect_gradients_match(net, x, rand_array(3, 6, 2))
    # rows past the sequence length get no gradient; the others do
    expect_true(all(g$weights[["1.weight"]][7:9, ] == 0))
    expect_true(all(g$weights[["1.weight"]][1:6, ] != 0))
    net_d <- sequential(layer_dense(d, activation = "tanh"),
                        layer_positional_encoding("learned", max_len = 9, dropout = 0.25),
                        layer_dense(2, activation = "tanh"), input_dim = 2)
    net_d <- set_weights(net_d, w)
    expect_gradients_match(net_d, x, rand_array(3, 6, 2), training = TRUE, seed = 17)
  }
  # the layer alone: dP[t, ] is the sum over the batch of the output gradient
  net <- sequential(layer_positional_encoding("learned", max_len = 8), input_dim = 3)
  x <- rand_array(2, 5, 3)
  y <- rand_array(2, 5, 3)
  g <- expect_gradients_match(net, x, y)
  dout <- 2 * (g$output - y) / length(y)
  expect_equal(g$weights[["0.weight"]][1:5, ], apply(dout, c(2, 3), sum), tolerance = 1e-6)
  expect_equal(g$x, dout, tolerance = 1e-6)
})

test_that("learned positional encoding trains", {
  set.seed(37)
  # target: a fixed pattern over time that only the position can explain
  x <- array(0, c(8, 10, 2))
  pat <- matrix(stats::rnorm(20, sd = 0.5), 10, 2)
  y <- batch_of(pat, 8)
  net <- sequential(layer_positional_encoding("learned", max_len = 10), input_dim = 2)
  before <- mean((predict(net, x) - y)^2)
  net <- fit(net, x, y, epochs = 200, batch_size = 8, optimizer = optimizer_adam(lr = 0.05),
             verbose = FALSE)
  after <- mean((predict(net, x) - y)^2)
  expect_lt(after, before / 100)
})

test_that("sequences longer than max_len are a clear error, not an out-of-bounds read", {
  for (type in c("sinusoidal", "learned")) {
    net <- sequential(layer_dense(4), layer_positional_encoding(type, max_len = 6),
                      input_dim = 2)
    expect_identical(dim(predict(net, array(0, c(1, 6, 2)))), c(1L, 6L, 4L))
    expect_error(predict(net, array(0, c(1, 7, 2))),
                 "`x` must have a length that layer 2 \\(positional_encoding.*accepts: at most max_len = 6 time steps, not 7 time steps",
                 class = "tsattn_error_argument")
    expect_error(fit(net, array(0, c(2, 9, 2)), array(0, c(2, 9, 4)), epochs = 1,
                     verbose = FALSE),
                 "positional_encoding")
    expect_error(tsattn:::net_gradient(net, array(0, c(1, 7, 2)), array(0, c(1, 7, 4))),
                 "positional_encoding")
  }
})

test_that("bad positional encoding arguments are errors naming the argument", {
  expect_error(layer_positional_encoding(type = "rope"), "type")
  expect_error(layer_positional_encoding(max_len = 0), "max_len")
  expect_error(layer_positional_encoding(dropout = 1), "dropout")
  expect_error(layer_positional_encoding(dropout = -0.1), "dropout")
  expect_error(positional_encoding(0, 4), "length")
  expect_error(positional_encoding(4, 0), "d_model")
})
