# Direct .Call with sizes whose products overflow (issue 15): dims c(2^21, 2^21, 2^22)
# multiply to 2^64, which wrapped around to 0 in size_t, passed the length check against
# an empty vector and crashed R reading far out of bounds. Each call runs in a forked
# child, so a regression is a failure here, not a dead suite.

in_child <- function(expr) {
  skip_on_os("windows")
  job <- parallel::mcparallel(tryCatch({
    force(expr)
    "no error"
  }, error = function(e) conditionMessage(e)), silent = TRUE)
  res <- parallel::mccollect(job, wait = TRUE, timeout = 120)
  if (is.null(res)) return("the child crashed or hung")
  res[[1L]]
}

test_that("batch dims whose product overflows size_t are an error, not a crash", {
  net <- sequential(layer_dense(1))
  s <- tsattn:::network_spec(net)
  F <- 2^22
  w <- double(F + 1) # dense(1) on 2^22 inputs: W [1, F] and the bias
  dims <- as.integer(c(2^21, 2^21, F))
  msg <- in_child(.Call(tsattn:::C_net_predict, s, as.integer(F), w, double(),
                        dims, NULL, 256L, -1L))
  expect_match(msg, "'x' would have .* values, more than an R vector can hold")
  cfg <- tsattn:::train_settings(1L, 32L, FALSE, "mse", 0L, optimizer_adam(), FALSE, 0)
  msg <- in_child(.Call(tsattn:::C_net_fit, s, as.integer(F), w, double(), dims,
                        NULL, double(), double(), 0L, NULL, double(), cfg, 1, -1L))
  expect_match(msg, "'x' would have .* values, more than an R vector can hold")
  # the validation set's sizes too
  ok_dims <- c(1L, 1L, as.integer(F))
  msg <- in_child(.Call(tsattn:::C_net_fit, s, as.integer(F), w, double(F),
                        ok_dims, NULL, double(1), double(), .Machine$integer.max, NULL, double(),
                        cfg, 1, -1L))
  expect_match(msg, "the validation 'x' would have")
  msg <- in_child(.Call(tsattn:::C_net_gradient, s, as.integer(F), w, double(),
                        dims, NULL, double(), "mse", FALSE, 1, -1L))
  expect_match(msg, "'x' would have")
})

test_that("matrix products whose sizes overflow size_t are an error, not a crash", {
  dims <- as.integer(c(2^21, 2^21, 2^21, 2^22))
  msg <- in_child(.Call(tsattn:::C_cuda_op_gemm, 0L, double(), double(), double(), dims, FALSE,
                        FALSE))
  expect_match(msg, "'A' would have .* values, more than an R vector can hold")
})

test_that("absurd heads give an error with sound advice (no int overflow)", {
  expect_error(sequential(layer_multihead_attention(1e9), input_dim = 6),
               "not divisible by heads = 1000000000; use fewer heads \\(a divisor of 6\\)")
  expect_error(sequential(layer_multihead_attention(.Machine$integer.max), input_dim = 6),
               "use fewer heads")
  # the usual advice is unchanged
  expect_error(sequential(layer_multihead_attention(4), input_dim = 6),
               "layer_dense\\(16\\) before this layer \\(16 = 4 heads x 4\\)")
})
