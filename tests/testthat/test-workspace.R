# The CPU workspace (src/ta_net.c) is malloc'd, taken from huge pages, or reused from the
# network freed before: its contents are whatever was there. No layer may read workspace
# it has not written in the same pass. tsattn:::poison_workspaces(TRUE) fills every
# workspace with NaN bytes before use: a read of stale workspace then changes the results
# (or makes them NaN), and these tests compare every kind with and without the poison.

with_poison <- function(expr) {
  old <- tsattn:::poison_workspaces(TRUE)
  on.exit(tsattn:::poison_workspaces(old))
  expr
}

test_that("poison_workspaces() switches and reports the setting", {
  old <- tsattn:::poison_workspaces(TRUE)
  expect_false(old)
  expect_true(tsattn:::poison_workspaces(old))
  expect_error(tsattn:::poison_workspaces(NA), "'on' must be TRUE or FALSE")
})

test_that("no layer kind reads workspace it has not written (fit, predict, attention)", {
  set.seed(2)
  x <- array(stats::rnorm(3 * 6 * 4), c(3, 6, 4))
  for (layer in every_kind) {
    # after a dense layer, so that the kind's input gradient is written into the
    # workspace too (a first layer's goes to the caller's buffer, or nowhere)
    net <- sequential(layer_dense(4), layer, input_dim = 4)
    p <- predict(net, x)
    y <- array(stats::rnorm(length(p)), dim(p))
    run <- function() {
      f <- fit(net, x, y, epochs = 2, batch_size = 2, seed = 3, verbose = FALSE)
      out <- list(f$weights, f$history$loss, predict(f, x), predict(f, x[1, , , drop = FALSE]),
                  tsattn:::net_gradient(f, x, y)$x)
      if (layer$type %in% c("attention", "multihead_attention", "transformer_encoder"))
        out <- c(out, list(attention(f, x)))
      out
    }
    clean <- run()
    expect_true(all(is.finite(unlist(clean))), label = layer$type)
    expect_identical(with_poison(run()), clean, label = layer$type)
  }
})

test_that("a forecast does not read stale workspace", {
  y <- datasets::AirPassengers
  run <- function() {
    fit <- tsattn(y, model = "gru", epochs = 3, seed = 1, verbose = FALSE)
    fc <- forecast::forecast(fit, h = 6, npaths = 50, seed = 2)
    list(fit$network$weights, fc$mean, fc$lower, fc$upper)
  }
  clean <- run()
  expect_identical(with_poison(run()), clean)
})
