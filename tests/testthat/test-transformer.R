# The transformer encoder block (PyTorch's nn.TransformerEncoderLayer, batch_first):
# PyTorch fixtures (tools/make_fixtures_transformer.py), finite-difference gradients,
# attention weights, masks and errors.

tf_weight_names <- c("self_attn.in_proj_weight", "self_attn.in_proj_bias",
                     "self_attn.out_proj.weight", "self_attn.out_proj.bias",
                     "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                     "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias")

# the shared check (helper-gradcheck.R), with valid lengths passed through
expect_gradients_match_len <- function(net, x, y, lengths = NULL, ...) {
  expect_gradients_match(net, x, y, lengths = lengths, ...)
}

# One fixture case against our network: weights, output, loss, every gradient, one Adam
# step. The key rows (9:16) of in_proj_bias have an analytically zero gradient (softmax
# ignores a constant added to all scores of a row), so a first Adam step moves them by
# lr * noise / (|noise| + eps), a number set by rounding alone (PyTorch's float32 and
# float64 runs disagree on it by ~1000 tolerances). For them we check the gradient is
# ~0 and the step is at most lr; all other entries are compared to the fixture.
expect_transformer_fixture <- function(case, net) {
  fx <- read_fixture(case)
  lengths <- fx$lengths
  wn <- paste0("0.", tf_weight_names)
  w <- get_weights(net)
  expect_identical(names(w), wn) # PyTorch's state_dict order
  expect_fixture_weights(fx, net)
  net <- set_weights(net, fx[wn])
  expect_close_list(get_weights(net), fx[wn], rtol = 1e-7, atol = 0, what = paste(case, "weights "))

  expect_close(predict(net, fx$x, lengths = lengths), fx$output, label = paste(case, "output"))

  g <- tsattn:::net_gradient(net, fx$x, fx$y, loss = "mse", lengths = lengths)
  expect_close(g$loss, fx$loss, label = paste(case, "loss"))
  expect_close(g$output, fx$output, label = paste(case, "output (net_gradient)"))
  expect_close_list(g$weights, fixture_group(fx, "grad")[wn], what = paste(case, "grad."))
  expect_close(g$x, fx$grad.x, label = paste(case, "grad.x"))

  net1 <- fit(net, fx$x, fx$y, epochs = 1, batch_size = dim(fx$x)[1], shuffle = FALSE,
              optimizer = optimizer_adam(lr = 0.01), lengths = lengths, verbose = FALSE)
  w1 <- get_weights(net1)
  a1 <- fixture_group(fx, "adam1")
  bias <- "0.self_attn.in_proj_bias"
  key <- 9:16
  for (nm in setdiff(wn, bias))
    expect_close(w1[[nm]], a1[[nm]], label = paste0(case, " adam1.", nm))
  expect_close(w1[[bias]][-key], a1[[bias]][-key], label = paste0(case, " adam1.", bias, " (q, v)"))
  expect_lte(max(abs(g$weights[[bias]][key])), 1e-6, label = paste(case, "key-bias gradient"))
  expect_lte(max(abs(w1[[bias]][key] - fx[[bias]][key])), 0.01 * (1 + 1e-5),
             label = paste(case, "key-bias Adam step"))
  invisible(fx)
}

tf_net <- function(norm_first = FALSE, activation = "relu", causal = FALSE, dropout = 0) {
  sequential(layer_transformer_encoder(heads = 2, d_ff = 16, dropout = dropout, causal = causal,
                                       norm_first = norm_first, activation = activation),
             input_dim = 8)
}

test_that("post-norm blocks match PyTorch (relu, gelu, causal, padding)", {
  expect_transformer_fixture("transformer_post_relu", tf_net())
  expect_transformer_fixture("transformer_post_gelu", tf_net(activation = "gelu"))
  expect_transformer_fixture("transformer_post_relu_causal", tf_net(causal = TRUE))
  fx <- expect_transformer_fixture("transformer_post_relu_pad", tf_net())
  expect_identical(fx$lengths, c(5, 3))
  # padded steps get no gradient: they are masked keys, and their own outputs are not in the loss
  expect_true(all(fx$grad.x[2, 4:5, ] == 0))
})

test_that("pre-norm blocks match PyTorch (relu, gelu, causal, causal with padding)", {
  expect_transformer_fixture("transformer_pre_relu", tf_net(norm_first = TRUE))
  expect_transformer_fixture("transformer_pre_gelu", tf_net(norm_first = TRUE, activation = "gelu"))
  expect_transformer_fixture("transformer_pre_gelu_causal",
                            tf_net(norm_first = TRUE, activation = "gelu", causal = TRUE))
  expect_transformer_fixture("transformer_pre_gelu_causal_pad",
                            tf_net(norm_first = TRUE, activation = "gelu", causal = TRUE))
})

test_that("weights are named, shaped and initialised as in PyTorch", {
  set.seed(1)
  net <- sequential(layer_transformer_encoder(heads = 4, d_ff = 24), input_dim = 12)
  w <- get_weights(net)
  expect_identical(names(w), paste0("0.", tf_weight_names))
  dims <- lapply(w, function(a) if (is.null(dim(a))) length(a) else dim(a))
  expect_identical(unname(lapply(dims, as.integer)),
                   list(c(36L, 12L), 36L, c(12L, 12L), 12L, c(24L, 12L), 24L, c(12L, 24L), 12L,
                        12L, 12L, 12L, 12L))
  # nn.Linear: uniform(+-1/sqrt(fan_in)) for weight and bias
  for (nm in c("0.linear1.weight", "0.linear1.bias")) {
    expect_lte(max(abs(w[[nm]])), 1 / sqrt(12))
    expect_gt(max(abs(w[[nm]])), 0.8 / sqrt(12))
  }
  for (nm in c("0.linear2.weight", "0.linear2.bias")) {
    expect_lte(max(abs(w[[nm]])), 1 / sqrt(24))
    expect_gt(max(abs(w[[nm]])), 0.8 / sqrt(24))
  }
  expect_true(all(w[["0.norm1.weight"]] == 1) && all(w[["0.norm2.weight"]] == 1))
  expect_true(all(w[["0.norm1.bias"]] == 0) && all(w[["0.norm2.bias"]] == 0))
  # nn.MultiheadAttention: zero projection biases, xavier-uniform in_proj_weight
  expect_true(all(w[["0.self_attn.in_proj_bias"]] == 0))
  expect_true(all(w[["0.self_attn.out_proj.bias"]] == 0))
  expect_lte(max(abs(w[["0.self_attn.in_proj_weight"]])), sqrt(6 / (12 + 36)))
  # seed = s repeats the initialisation exactly
  set.seed(1)
  expect_identical(get_weights(sequential(layer_transformer_encoder(heads = 4, d_ff = 24),
                                          input_dim = 12)), w)
})

test_that("gradients are right for post/pre-norm and relu/gelu", {
  set.seed(11)
  x <- rand_array(2, 4, 4)
  y <- rand_array(2, 4, 4)
  for (nf in c(FALSE, TRUE)) for (act in c("gelu", "relu")) {
    net <- sequential(layer_transformer_encoder(heads = 2, d_ff = 6, norm_first = nf,
                                                activation = act), input_dim = 4)
    if (act == "relu") {
      # central differences across relu's kink are wrong by O(1) for that unit, so keep
      # every pre-activation >= 0.3 from 0: linear1 reads a layer-norm output (|u| <=
      # sqrt(3) for width 4, unit gains), so |W1 u| <= 4 * 0.1 * sqrt(3) < 0.7 while
      # |b1| >= 1; no perturbation of the check moves a pre-activation by 0.3
      w <- get_weights(net)
      w[["0.linear1.weight"]][] <- stats::runif(24, -0.1, 0.1)
      w[["0.linear1.bias"]] <- c(1, -1, 1, -1, 1, 1) * stats::runif(6, 1, 1.2)
      net <- set_weights(net, w)
    }
    expect_gradients_match(net, x, y)
  }
})

test_that("gradients are right with a causal mask and with padding", {
  set.seed(12)
  x <- rand_array(2, 5, 4)
  y <- rand_array(2, 5, 4)
  for (nf in c(FALSE, TRUE)) {
    net <- sequential(layer_transformer_encoder(heads = 2, d_ff = 6, causal = TRUE,
                                                norm_first = nf, activation = "gelu"),
                      input_dim = 4)
    expect_gradients_match(net, x, y)
    net <- sequential(layer_transformer_encoder(heads = 2, d_ff = 6, norm_first = nf,
                                                activation = "gelu"), input_dim = 4)
    g <- expect_gradients_match_len(net, x, y, lengths = c(3, 5))
    expect_true(all(g$x[1, 4:5, ] == 0))
  }
})

test_that("gradients follow the dropout masks in training", {
  set.seed(13)
  x <- rand_array(2, 5, 4)
  y <- rand_array(2, 5, 4)
  for (nf in c(FALSE, TRUE)) {
    net <- sequential(layer_transformer_encoder(heads = 2, d_ff = 8, dropout = 0.3,
                                                norm_first = nf, activation = "gelu"),
                      input_dim = 4)
    g <- expect_gradients_match(net, x, y, training = TRUE, seed = 21)
    # the masks are real: training differs from evaluation, which is deterministic
    ev <- tsattn:::net_gradient(net, x, y, training = FALSE)
    expect_false(isTRUE(all.equal(g$output, ev$output)))
    expect_equal(ev$output, predict(net, x), tolerance = 1e-6)
    # in evaluation the block is dropout-free: gradients of the evaluation loss
    expect_gradients_match(net, x, y, training = FALSE)
    # the same seed repeats the masks
    g2 <- tsattn:::net_gradient(net, x, y, training = TRUE, seed = 21)
    expect_identical(g2$output, g$output)
  }
})

test_that("a stack of two blocks between dense layers has right gradients", {
  set.seed(14)
  net <- sequential(layer_dense(4), layer_transformer_encoder(heads = 2, d_ff = 6, activation = "gelu"),
                    layer_transformer_encoder(heads = 1, d_ff = 5, norm_first = TRUE,
                                              causal = TRUE, activation = "gelu"),
                    layer_dense(2), input_dim = 3)
  expect_length(get_weights(net), 2 + 12 + 12 + 2)
  expect_gradients_match(net, rand_array(2, 4, 3), rand_array(2, 4, 2))
  g <- expect_gradients_match_len(net, rand_array(2, 4, 3), rand_array(2, 4, 2), lengths = c(4, 2))
  expect_true(all(g$x[2, 3:4, ] == 0))
})

test_that("attention() gives [batch, query, key, head] rows summing to 1, zero on masked keys", {
  set.seed(15)
  x <- rand_array(3, 6, 8)
  net <- tf_net(causal = TRUE)
  a <- attention(net, x)
  expect_named(a, "layer_1")
  a <- a[[1]]
  expect_identical(dim(a), c(3L, 6L, 6L, 2L))
  expect_true(all(a >= 0))
  expect_equal(apply(a, c(1, 2, 4), sum), array(1, c(3, 6, 2)), tolerance = 1e-6)
  for (i in 1:6) for (j in 1:6) if (j > i) expect_true(all(a[, i, j, ] == 0))
  expect_true(all(a[, 2, 1:2, ] > 0))

  lengths <- c(6, 2, 4)
  net <- tf_net(norm_first = TRUE)
  a <- attention(net, x, lengths = lengths)[[1]]
  expect_equal(apply(a, c(1, 2, 4), sum), array(1, c(3, 6, 2)), tolerance = 1e-6)
  for (b in 1:3) {
    if (lengths[b] < 6) expect_true(all(a[b, , (lengths[b] + 1):6, ] == 0))
    expect_true(all(a[b, , 1:lengths[b], ] > 0))
  }

  # two blocks: one array each; causal and padding together
  net <- sequential(layer_transformer_encoder(heads = 2, d_ff = 8),
                    layer_transformer_encoder(heads = 4, d_ff = 8, causal = TRUE), input_dim = 8)
  a <- attention(net, x, lengths = lengths)
  expect_named(a, c("layer_1", "layer_2"))
  expect_identical(dim(a[[2]]), c(3L, 6L, 6L, 4L))
  for (b in 1:3) for (i in 1:6) {
    seen <- seq_len(min(i, lengths[b]))
    expect_equal(apply(a[[2]][b, i, , , drop = FALSE], 4, sum), rep(1, 4), tolerance = 1e-6)
    expect_true(all(a[[2]][b, i, -seen, ] == 0))
  }
})

test_that("padding and causal masks make outputs independent of what they hide", {
  set.seed(16)
  x <- rand_array(2, 5, 8)
  net <- tf_net(activation = "gelu")
  full <- predict(net, x, lengths = c(5, 3))
  alone <- predict(net, x[2, 1:3, , drop = FALSE])
  expect_equal(full[2, 1:3, , drop = FALSE], alone, tolerance = 1e-5)
  x2 <- x
  x2[2, 4:5, ] <- rnorm(16)
  expect_equal(predict(net, x2, lengths = c(5, 3))[2, 1:3, ], full[2, 1:3, ], tolerance = 1e-6)

  net <- tf_net(norm_first = TRUE, causal = TRUE)
  out <- predict(net, x)
  x3 <- x
  x3[, 4:5, ] <- rnorm(32)
  out3 <- predict(net, x3)
  expect_equal(out3[, 1:3, ], out[, 1:3, ], tolerance = 1e-6)
  expect_false(isTRUE(all.equal(out3[, 4:5, ], out[, 4:5, ])))
})

test_that("a transformer network trains: the loss falls", {
  set.seed(17)
  x <- rand_array(8, 6, 2)
  y <- x[, , 1, drop = FALSE] * 0.5 + 0.2
  net <- sequential(layer_dense(8), layer_transformer_encoder(heads = 2, d_ff = 16, dropout = 0.1),
                    layer_dense(1), input_dim = 2)
  fitted <- fit(net, x, y, epochs = 30, batch_size = 4, optimizer = optimizer_adam(lr = 0.01),
                seed = 3, verbose = FALSE)
  h <- fitted$history$loss
  expect_true(all(is.finite(h)))
  expect_lt(tail(h, 1), 0.5 * h[1])
})

test_that("bad configurations are clear errors", {
  expect_error(sequential(layer_transformer_encoder(heads = 3, d_ff = 8), input_dim = 8),
               "divisible")
  expect_error(layer_transformer_encoder(heads = 2, d_ff = 0), "d_ff")
  expect_error(layer_transformer_encoder(heads = 2, d_ff = 8, dropout = 1), "dropout")
  expect_error(layer_transformer_encoder(heads = 2, d_ff = 8, activation = "tanh"), "activation")
  expect_error(layer_transformer_encoder(heads = 2, d_ff = 8, eps = 0), "eps")
})
