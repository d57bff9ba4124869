# toy_shapes(): the fourth seed's data, checked against the seed's own PyTorch code on
# fixed shapes (tools/make_fixtures_toy.py), and its invariants on random draws.

test_that("the rendering matches the seed's positions_to_sequences() on fixed shapes", {
  fx <- read_fixture("toy_shapes")
  as_shapes <- function(a) list(pos = a[, , 1], height = a[, , 2], width = a[, , 3])
  r <- tsattn:::toy_shapes_render(as_shapes(fx$tr), as_shapes(fx$bx), 100L, noise = 0)
  expect_lt(max(abs(r$y - fx$y)), 1e-4) # float32 in PyTorch, double here
  expect_identical(as.numeric(r$collision), fx$collisions)
})

test_that("toy_shapes() gives valid pairs: mean heights in the target, shapes apart", {
  set.seed(3)
  d <- toy_shapes(50, noise = 0)
  expect_identical(dim(d$x), c(50L, 100L, 1L))
  expect_identical(dim(d$y), c(50L, 100L, 1L))
  expect_gte(min(d$x), 0)
  expect_lte(max(d$x), 25)
  # without noise the target keeps the input's support (same shapes, other heights)
  expect_identical(d$x > 0, d$y > 0)
  # the two triangles' mean and the two boxes' mean: the target has at most 2 distinct
  # plateau heights for boxes and 2 peaks; the input's total "mass" changes, not support
  expect_true(all(rowSums(d$y[, , 1] != d$x[, , 1]) > 0))
  set.seed(3)
  a <- toy_shapes(20)
  set.seed(3)
  b <- toy_shapes(20)
  expect_identical(a, b)
  noisy <- toy_shapes(10, noise = 0.3)
  expect_gte(min(noisy$x), -0.15)
  expect_error(toy_shapes(0), "`n` must be a whole number >= 1")
  expect_error(toy_shapes(5, noise = -1), "`noise` must be")
})
