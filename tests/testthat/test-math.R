# The core computes e^x, tanh and the sigmoid with its own branch-free float formulas
# (src/ta_math.h: ta_expf, ta_tanhf, ta_sigmoidf), shared by every layer and by the GPU
# code. Activation layers apply them element by element, so predict() shows their values;
# they are compared with R's double-precision functions at inputs that are exact floats.

float_grid <- function() {
  # multiples of 2^-8 over [-30, 30], tiny and huge magnitudes (powers of two are exact floats)
  g <- seq(-30, 30, by = 2^-8)
  tiny <- 2^-(1:40)
  c(g, tiny, -tiny, 2^(5:7), -2^(5:7), 0)
}

act_values <- function(fn, x) {
  net <- sequential(layer_activation(fn), input_dim = 1)
  as.numeric(predict(net, array(x, c(length(x), 1, 1))))
}

# relative error, measured against a floor so that values rounding to the float
# minimum are not divided by ~0
rel_err <- function(got, want, floor = 1e-30) abs(got - want) / pmax(abs(want), floor)

test_that("tanh is within a few float ulps of tanh() everywhere", {
  x <- float_grid()
  got <- act_values("tanh", x)
  want <- tanh(x)
  expect_true(all(is.finite(got)))
  expect_lt(max(rel_err(got, want)), 4 * 2^-24)
  # odd, saturating, and exact at 0
  expect_identical(act_values("tanh", c(-3.5, 3.5))[1], -act_values("tanh", c(-3.5, 3.5))[2])
  expect_identical(act_values("tanh", c(0, 200, -200)), c(0, 1, -1))
})

test_that("the sigmoid is within a few float ulps of plogis() (so e^x is too)", {
  x <- float_grid()
  x <- x[x > -80] # below, plogis() is under the float range the core saturates at
  got <- act_values("sigmoid", x)
  want <- stats::plogis(x)
  expect_true(all(is.finite(got)))
  expect_lt(max(rel_err(got, want)), 6 * 2^-24)
  # far tails saturate to 1 and to a tiny non-negative value, never NaN
  tails <- act_values("sigmoid", c(200, -200, 1e30, -1e30))
  expect_identical(tails[c(1, 3)], c(1, 1))
  expect_true(all(tails[c(2, 4)] >= 0 & tails[c(2, 4)] < 1e-37))
})

test_that("the largest floats saturate instead of overflowing to NaN", {
  big <- c(3e38, -3e38)
  expect_identical(act_values("tanh", big), c(1, -1))
  s <- act_values("sigmoid", big)
  expect_identical(s[1], 1)
  expect_true(s[2] >= 0 && s[2] < 1e-37)
})
