# Multi-head self-attention (layer_multihead_attention()): PyTorch's
# nn.MultiheadAttention(8, 2, batch_first = TRUE) fixtures (written by
# tools/make_fixtures_attention.py), finite-difference gradients (heads, masks,
# padding, separate projections, attention dropout), masks, initialisation, errors.

# --- helpers (local to this file) --------------------------------------------------

# the shared check (helper-gradcheck.R), with valid lengths passed through
expect_gradients_match_len <- function(net, x, y, lengths = NULL, ...) {
  expect_gradients_match(net, x, y, lengths = lengths, ...)
}

# visible[b, i, j, h]: key j visible to query i of sequence b (every head alike)
mha_visible <- function(B, T, H, lengths = NULL, causal = FALSE) {
  if (is.null(lengths)) lengths <- rep(T, B)
  v <- array(FALSE, c(B, T, T, H))
  for (b in seq_len(B)) for (i in seq_len(T)) for (j in seq_len(T))
    v[b, i, j, ] <- j <= lengths[b] && !(causal && j > i)
  v
}

expect_mha_masked <- function(w, vis) {
  expect_identical(dim(w), dim(vis))
  expect_true(all(is.finite(w)))
  if (any(!vis)) expect_identical(unique(w[!vis]), 0)
  expect_true(all(w[vis] > 0))
  s <- apply(w, c(1, 2, 4), sum)
  expect_lte(max(abs(s - 1)), 1e-6)
}

# names, shapes, output, per-head weights, loss, gradients and one Adam step against a
# fixture. in_proj_bias rows E+1..2E (the key bias) have a zero gradient in exact
# arithmetic, so their first Adam step is the sign of rounding noise: only its size
# (at most lr) is checked there.
expect_mha_fixture <- function(fx, net, lengths = NULL) {
  wn <- expect_fixture_weights(fx, net)
  w <- get_weights(net)
  net <- set_weights(net, fx[names(w)])
  expect_close(predict(net, fx$x, lengths = lengths), fx$output, label = "output")
  a <- attention(net, fx$x, lengths = lengths)
  expect_named(a, "layer_1")
  # torch [B, H, Tq, Tk] -> ours [B, Tq, Tk, H]
  expect_close(a[[1]], aperm(fx$attn, c(1, 3, 4, 2)), label = "per-head attention weights")

  g <- tsattn:::net_gradient(net, fx$x, fx$y, lengths = lengths)
  expect_close(g$loss, fx$loss, label = "loss")
  expect_close_list(g$weights, fixture_group(fx, "grad")[wn], what = "grad.")
  expect_close(g$x, fx$grad.x, label = "grad.x")

  net1 <- fit(net, fx$x, fx$y, epochs = 1, batch_size = dim(fx$x)[1],
              optimizer = optimizer_adam(lr = 0.01), shuffle = FALSE, verbose = FALSE,
              lengths = lengths)
  w1 <- get_weights(net1)
  a1 <- fixture_group(fx, "adam1")
  E <- dim(fx$x)[3]
  kb <- (E + 1):(2 * E)
  for (nm in wn) {
    if (nm == "0.in_proj_bias") {
      expect_close(w1[[nm]][-kb], a1[[nm]][-kb], label = "adam1.0.in_proj_bias (q, v)")
      expect_lte(max(abs(w1[[nm]][kb] - fx[[nm]][kb])), 0.01 + 1e-6,
                 label = "adam1 step of the key bias")
    } else {
      expect_close(w1[[nm]], a1[[nm]], label = paste0("adam1.", nm))
    }
  }
  invisible(net)
}

# --- PyTorch fixtures ---------------------------------------------------------------

test_that("multi-head attention matches nn.MultiheadAttention (E = 8, 2 heads)", {
  fx <- read_fixture("mha")
  net <- sequential(layer_multihead_attention(heads = 2), input_dim = 8)
  expect_identical(names(get_weights(net)),
                   c("0.in_proj_weight", "0.in_proj_bias", "0.out_proj.weight", "0.out_proj.bias"))
  expect_mha_fixture(fx, net)
})

test_that("causal multi-head attention matches PyTorch's attn_mask", {
  fx <- read_fixture("mha_causal")
  net <- sequential(layer_multihead_attention(heads = 2, causal = TRUE), input_dim = 8)
  net <- expect_mha_fixture(fx, net)
  expect_mha_masked(attention(net, fx$x)[[1]], mha_visible(3, 5, 2, causal = TRUE))
})

test_that("valid lengths match PyTorch's key_padding_mask (loss over the valid steps)", {
  fx <- read_fixture("mha_padding")
  lens <- as.integer(fx$lengths)
  net <- sequential(layer_multihead_attention(heads = 2), input_dim = 8)
  net <- expect_mha_fixture(fx, net, lengths = lens)
  expect_mha_masked(attention(net, fx$x, lengths = lens)[[1]], mha_visible(3, 5, 2, lens))
})

test_that("causal masks and padding together match PyTorch", {
  fx <- read_fixture("mha_causal_padding")
  lens <- as.integer(fx$lengths)
  net <- sequential(layer_multihead_attention(heads = 2, causal = TRUE), input_dim = 8)
  net <- expect_mha_fixture(fx, net, lengths = lens)
  expect_mha_masked(attention(net, fx$x, lengths = lens)[[1]],
                    mha_visible(3, 5, 2, lens, causal = TRUE))
})

# --- finite differences -------------------------------------------------------------

test_that("multi-head gradients match finite differences (heads, causal, padding)", {
  set.seed(21)
  x <- rand_array(2, 5, 8)
  y <- rand_array(2, 5, 8)
  for (h in c(1, 2, 4)) {
    for (causal in c(FALSE, TRUE)) {
      for (lens in list(NULL, c(5, 3))) {
        net <- sequential(layer_multihead_attention(heads = h, causal = causal), input_dim = 8)
        # non-zero biases, so their gradients are exercised too
        w <- get_weights(net)
        w[["0.in_proj_bias"]][] <- stats::rnorm(24, sd = 0.3)
        w[["0.out_proj.bias"]][] <- stats::rnorm(8, sd = 0.3)
        expect_gradients_match_len(set_weights(net, w), x, y, lengths = lens)
      }
    }
  }
})

test_that("key_dim other than width / heads: separate q/k/v projections, gradients", {
  set.seed(22)
  net <- sequential(layer_multihead_attention(heads = 2, key_dim = 3, causal = TRUE), input_dim = 8)
  w <- get_weights(net)
  expect_identical(names(w), c("0.q_proj_weight", "0.k_proj_weight", "0.v_proj_weight",
                               "0.in_proj_bias", "0.out_proj.weight", "0.out_proj.bias"))
  expect_identical(dim(w[["0.q_proj_weight"]]), c(6L, 8L))
  expect_identical(dim(w[["0.k_proj_weight"]]), c(6L, 8L))
  expect_identical(dim(w[["0.v_proj_weight"]]), c(8L, 8L))
  expect_length(w[["0.in_proj_bias"]], 20L)
  expect_identical(dim(w[["0.out_proj.weight"]]), c(8L, 8L))
  w[["0.in_proj_bias"]][] <- stats::rnorm(20, sd = 0.3)
  net <- set_weights(net, w)
  x <- rand_array(2, 5, 8)
  expect_gradients_match_len(net, x, rand_array(2, 5, 8), lengths = c(4, 5))
  expect_mha_masked(attention(net, x, lengths = c(4, 5))[[1]],
                    mha_visible(2, 5, 2, c(4, 5), causal = TRUE))
  # key_dim equal to width / heads keeps PyTorch's packed in_proj_weight
  w2 <- get_weights(sequential(layer_multihead_attention(heads = 2, key_dim = 4), input_dim = 8))
  expect_identical(names(w2)[1], "0.in_proj_weight")
})

test_that("attention dropout: gradients match finite differences with a fixed seed", {
  set.seed(23)
  x <- rand_array(2, 5, 8)
  y <- rand_array(2, 5, 8)
  for (causal in c(FALSE, TRUE)) {
    net <- sequential(layer_multihead_attention(heads = 2, dropout = 0.3, causal = causal),
                      input_dim = 8)
    expect_gradients_match_len(net, x, y, training = TRUE, seed = 5)
    expect_gradients_match_len(net, x, y, training = TRUE, seed = 6, lengths = c(3, 5))
    expect_gradients_match_len(net, x, y, training = FALSE)
  }
})

test_that("attention dropout acts in training only and repeats with the seed", {
  set.seed(24)
  x <- rand_array(3, 6, 8)
  y <- rand_array(3, 6, 8)
  net <- sequential(layer_multihead_attention(heads = 2, dropout = 0.5), input_dim = 8)
  ng <- function(...) tsattn:::net_gradient(net, x, y, ...)
  eval <- ng(training = FALSE)
  expect_close(eval$output, predict(net, x), rtol = 0, atol = 0)
  t1 <- ng(training = TRUE, seed = 1)
  expect_identical(ng(training = TRUE, seed = 1), t1)
  t2 <- ng(training = TRUE, seed = 2)
  expect_false(isTRUE(all.equal(t1$output, eval$output)))
  expect_false(isTRUE(all.equal(t1$output, t2$output)))
  # attention() reports the weights before dropout: rows still sum to 1
  expect_mha_masked(attention(net, x)[[1]], mha_visible(3, 6, 2))
  # rate 0: training is the identity
  net0 <- sequential(layer_multihead_attention(heads = 2), input_dim = 8)
  expect_identical(tsattn:::net_gradient(net0, x, y, training = TRUE, seed = 3)$output,
                   tsattn:::net_gradient(net0, x, y, training = FALSE)$output)
  # inverted dropout keeps the mean: averaged over many masks the output is the eval one
  outs <- lapply(1:300, function(s) ng(training = TRUE, seed = s)$output)
  avg <- Reduce(`+`, outs) / length(outs)
  expect_lt(max(abs(avg - eval$output)), 0.1 * max(abs(eval$output)))
})

# --- weights, masks, shapes ---------------------------------------------------------

test_that("attention() gives [batch, query, key, head]; masked keys exactly 0", {
  set.seed(25)
  net <- sequential(layer_dense(16), layer_multihead_attention(heads = 4, causal = TRUE),
                    layer_dense(1), input_dim = 1)
  x <- rand_array(3, 7, 1)
  a <- attention(net, x, lengths = c(7, 2, 5))
  expect_named(a, "layer_2")
  expect_identical(dim(a$layer_2), c(3L, 7L, 7L, 4L))
  expect_mha_masked(a$layer_2, mha_visible(3, 7, 4, c(7, 2, 5), causal = TRUE))
  # heads differ from each other
  expect_false(isTRUE(all.equal(a$layer_2[, , , 1], a$layer_2[, , , 2])))
  # one head: [batch, query, key]
  net1 <- sequential(layer_multihead_attention(heads = 1), input_dim = 3)
  expect_identical(dim(attention(net1, rand_array(2, 4, 3))[[1]]), c(2L, 4L, 4L))
})

test_that("initialisation follows nn.MultiheadAttention", {
  set.seed(26)
  E <- 16
  w <- get_weights(sequential(layer_multihead_attention(heads = 4), input_dim = E))
  # xavier_uniform_ on [3E, E]: bound sqrt(6 / (E + 3E)); biases 0; out_proj uniform(+-1/sqrt(E))
  b_in <- sqrt(6 / (4 * E))
  expect_lte(max(abs(w[["0.in_proj_weight"]])), b_in)
  expect_gt(max(abs(w[["0.in_proj_weight"]])), 0.9 * b_in)
  expect_identical(unique(as.vector(w[["0.in_proj_bias"]])), 0)
  expect_identical(unique(as.vector(w[["0.out_proj.bias"]])), 0)
  expect_lte(max(abs(w[["0.out_proj.weight"]])), 1 / sqrt(E))
  expect_gt(max(abs(w[["0.out_proj.weight"]])), 0.9 / sqrt(E))
  # uniform: the variance is bound^2 / 3
  expect_equal(var(as.vector(w[["0.in_proj_weight"]])), b_in^2 / 3, tolerance = 0.15)
  set.seed(1); a <- get_weights(sequential(layer_multihead_attention(heads = 2), input_dim = 4))
  set.seed(1); b <- get_weights(sequential(layer_multihead_attention(heads = 2), input_dim = 4))
  expect_identical(a, b)
})

test_that("multi-head attention trains on a 1-dimensional series after a dense projection", {
  set.seed(27)
  t <- seq(0, 4 * pi, length.out = 41)
  s <- sin(t)
  n <- 24; T <- 16
  starts <- sample(length(s) - T, n, replace = TRUE)
  x <- array(t(sapply(starts, function(i) s[i:(i + T - 1)])), c(n, T, 1))
  y <- array(t(sapply(starts, function(i) s[(i + 1):(i + T)])), c(n, T, 1))
  net <- sequential(layer_dense(16), layer_multihead_attention(heads = 4, causal = TRUE),
                    layer_dense(1), input_dim = 1)
  fitted <- fit(net, x, y, epochs = 80, batch_size = 8, optimizer = optimizer_adam(lr = 0.01),
                seed = 1, verbose = FALSE)
  h <- fitted$history$loss
  expect_true(all(is.finite(h)))
  expect_lt(h[length(h)], 0.25 * h[1])
  # the same seed repeats the run exactly
  again <- fit(net, x, y, epochs = 80, batch_size = 8, optimizer = optimizer_adam(lr = 0.01),
               seed = 1, verbose = FALSE)
  expect_identical(get_weights(again), get_weights(fitted))
})

# --- bad input ----------------------------------------------------------------------

test_that("a width not divisible by heads is an error that says how to fix it", {
  err <- expect_error(sequential(layer_multihead_attention(heads = 4), input_dim = 1),
                      "divisible")
  expect_match(conditionMessage(err), "layer_dense", fixed = TRUE)
  expect_match(conditionMessage(err), "heads = 4", fixed = TRUE)
  expect_error(sequential(layer_dense(6), layer_multihead_attention(heads = 4), input_dim = 1),
               "input width 6 is not divisible by heads = 4.*layer_dense\\(16\\)")
  # a network built at fit() gets the same error
  net <- sequential(layer_multihead_attention(heads = 3))
  expect_error(fit(net, rand_array(2, 4, 8), rand_array(2, 4, 8), epochs = 1, verbose = FALSE),
               "divisible.*layer_dense")
  # the suggested fix works
  expect_s3_class(sequential(layer_dense(16), layer_multihead_attention(heads = 4), input_dim = 1),
                  "tsattn_network")
})

test_that("layer_multihead_attention() rejects bad arguments", {
  expect_error(layer_multihead_attention(heads = 0), "heads")
  expect_error(layer_multihead_attention(heads = 2.5), "heads")
  expect_error(layer_multihead_attention(), "heads")
  expect_error(layer_multihead_attention(heads = 2, key_dim = 0), "key_dim")
  expect_error(layer_multihead_attention(heads = 2, key_dim = -1), "key_dim")
  expect_error(layer_multihead_attention(heads = 2, dropout = 1), "dropout")
  expect_error(layer_multihead_attention(heads = 2, dropout = -0.1), "dropout")
  expect_error(layer_multihead_attention(heads = 2, causal = "no"), "causal")
})

test_that("valid lengths out of range are errors for multi-head networks", {
  set.seed(28)
  net <- sequential(layer_multihead_attention(heads = 2), input_dim = 4)
  x <- rand_array(2, 3, 4)
  expect_error(predict(net, x, lengths = c(0, 3)), "lengths")
  expect_error(predict(net, x, lengths = c(3, 4)), "lengths")
  expect_error(attention(net, x, lengths = c(-1, 3)), "lengths")
  expect_error(fit(net, x, x, epochs = 1, verbose = FALSE, lengths = c(3, 7)), "lengths")
  expect_error(fit(net, x, x, epochs = 1, verbose = FALSE, lengths = c(3, 3, 3)), "lengths")
  expect_identical(dim(predict(net, x, lengths = c(1, 3))), c(2L, 3L, 4L))
})
