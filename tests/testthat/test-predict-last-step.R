# predict() and forecasts run the attention layer just before a last_step for the last
# query only (ta_pass.last_only); the output must be the full forward pass's last step.
# net_gradient() runs the full pass (every query), so the two are compared.

last_step_nets <- function(in_dim) {
  list(
    tf_post_causal = sequential(layer_dense(8), layer_positional_encoding(),
                                layer_transformer_encoder(heads = 2, d_ff = 16, dropout = 0.1,
                                                          causal = TRUE),
                                layer_last_step(), layer_dense(2), input_dim = in_dim),
    tf_pre_gelu = sequential(layer_dense(8),
                             layer_transformer_encoder(heads = 4, d_ff = 12, norm_first = TRUE,
                                                       activation = "gelu"),
                             layer_last_step(), layer_dense(2), input_dim = in_dim),
    tf_stack = sequential(layer_dense(8),
                          layer_transformer_encoder(heads = 2, d_ff = 16, causal = TRUE),
                          layer_transformer_encoder(heads = 2, d_ff = 16, causal = TRUE),
                          layer_last_step(), layer_dense(2), input_dim = in_dim),
    mha_keydim = sequential(layer_dense(6), layer_multihead_attention(heads = 3, key_dim = 5),
                            layer_last_step(), layer_dense(2), input_dim = in_dim),
    mha_causal = sequential(layer_multihead_attention(heads = 1, causal = TRUE, dropout = 0.2),
                            layer_last_step(), layer_dense(2), input_dim = in_dim),
    att_scaled_causal = sequential(layer_attention(causal = TRUE, bias = TRUE), layer_last_step(),
                                   layer_dense(2), input_dim = in_dim),
    att_dot_window = sequential(layer_attention(units = 5, key_dim = 3, score = "dot", window = 2),
                                layer_last_step(), layer_dense(2), input_dim = in_dim),
    att_additive = sequential(layer_attention(key_dim = 4, score = "additive"), layer_last_step(),
                              layer_dense(2), input_dim = in_dim),
    att_cosine = sequential(layer_attention(score = "cosine", causal = TRUE), layer_last_step(),
                            layer_dense(2), input_dim = in_dim)
  )
}

test_that("predict() of a last-step attention network equals the full forward pass", {
  set.seed(11)
  x <- array(rnorm(5 * 9 * 3), c(5, 9, 3))
  y <- array(rnorm(5 * 1 * 2), c(5, 1, 2))
  for (nm in names(last_step_nets(3))) {
    net <- last_step_nets(3)[[nm]]
    full <- net_gradient(net, x, y)$output
    fast <- predict(net, x)
    expect_identical(dim(fast), c(5L, 1L, 2L), label = nm)
    expect_equal(fast, full, tolerance = 1e-6, label = nm)
  }
})

test_that("predict() with padding lengths equals the full forward pass", {
  set.seed(12)
  x <- array(rnorm(4 * 7 * 3), c(4, 7, 3))
  y <- array(0, c(4, 1, 2))
  lens <- c(7L, 5L, 2L, 1L)
  for (nm in c("tf_post_causal", "mha_keydim", "att_scaled_causal", "att_additive")) {
    net <- last_step_nets(3)[[nm]]
    full <- net_gradient(net, x, y, lengths = lens)$output
    fast <- predict(net, x, lengths = lens)
    expect_equal(fast, full, tolerance = 1e-6, label = nm)
  }
})

test_that("predict() in small batches equals one batch (row order of the last-step path)", {
  set.seed(13)
  x <- array(rnorm(7 * 6 * 3), c(7, 6, 3))
  net <- last_step_nets(3)$tf_post_causal
  expect_identical(predict(net, x, batch_size = 3), predict(net, x, batch_size = 7))
})

test_that("attention() still returns every query's weights after a predict()", {
  set.seed(14)
  x <- array(rnorm(2 * 6 * 3), c(2, 6, 3))
  net <- last_step_nets(3)$att_scaled_causal
  invisible(predict(net, x))
  w <- attention(net, x)
  w <- if (is.list(w)) w[[1L]] else w
  d <- dim(w)
  # every query row of the causal weights sums to 1 (not only the last one)
  sums <- apply(w, setdiff(seq_along(d), length(d)), sum)
  expect_true(all(abs(sums - 1) < 1e-5))
})
