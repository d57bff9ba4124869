# Single-head self-attention (layer_attention()): PyTorch fixtures (written by
# tools/make_fixtures_attention.py), finite-difference gradients for every score with
# causal, window and padding masks, the masks themselves, and argument errors.

# --- helpers (local to this file) --------------------------------------------------

# the shared check (helper-gradcheck.R), with valid lengths passed through
expect_gradients_match_len <- function(net, x, y, lengths = NULL, ...) {
  expect_gradients_match(net, x, y, lengths = lengths, ...)
}

# visible[b, i, j]: key j visible to query i of sequence b (src/ta_attn.h)
visible_keys <- function(B, T, lengths = NULL, causal = FALSE, window = NULL) {
  if (is.null(lengths)) lengths <- rep(T, B)
  v <- array(FALSE, c(B, T, T))
  for (b in seq_len(B)) for (i in seq_len(T)) for (j in seq_len(T))
    v[b, i, j] <- j <= lengths[b] && !(causal && j > i) && (is.null(window) || abs(i - j) <= window)
  v
}

# rows with a visible key sum to 1 (1e-6), the others are all zero; masked keys are 0
expect_attention_masked <- function(w, vis) {
  expect_identical(dim(w), dim(vis))
  expect_true(all(is.finite(w)))
  if (any(!vis)) expect_identical(unique(w[!vis]), 0)
  expect_true(all(w[vis] >= 0))
  s <- apply(w, c(1, 2), sum)
  seen <- apply(vis, c(1, 2), any)
  expect_lte(max(abs(s[seen] - 1)), 1e-6)
  if (any(!seen)) expect_identical(unique(s[!seen]), 0)
}

# Everything a fixture case checks: names and shapes, output, attention weights, loss,
# gradients (weights and x) and one Adam step. The key bias has a zero gradient in exact
# arithmetic, so its first Adam step is the sign of rounding noise (in PyTorch as here):
# only its size (at most lr) is checked.
expect_attention_fixture <- function(fx, net, lengths = NULL) {
  wn <- expect_fixture_weights(fx, net)
  w <- get_weights(net)
  net <- set_weights(net, fx[names(w)])
  expect_close(predict(net, fx$x, lengths = lengths), fx$output, label = "output")
  a <- attention(net, fx$x, lengths = lengths)
  expect_named(a, "layer_1")
  expect_close(a[[1]], fx$attn, label = "attention weights")

  g <- tsattn:::net_gradient(net, fx$x, fx$y, lengths = lengths)
  expect_close(g$loss, fx$loss, label = "loss")
  expect_close_list(g$weights, fixture_group(fx, "grad")[wn], what = "grad.")
  expect_close(g$x, fx$grad.x, label = "grad.x")

  net1 <- fit(net, fx$x, fx$y, epochs = 1, batch_size = dim(fx$x)[1],
              optimizer = optimizer_adam(lr = 0.01), shuffle = FALSE, verbose = FALSE,
              lengths = lengths)
  w1 <- get_weights(net1)
  a1 <- fixture_group(fx, "adam1")
  for (nm in wn) {
    if (grepl("key\\.bias$", nm)) {
      expect_lte(max(abs(w1[[nm]] - fx[[nm]])), 0.01 + 1e-6, label = paste("adam1 step of", nm))
    } else {
      expect_close(w1[[nm]], a1[[nm]], label = paste0("adam1.", nm))
    }
  }
  invisible(net)
}

# --- PyTorch fixtures ---------------------------------------------------------------

test_that("the fourth seed's AttentionLayer (conv1d k=1 Q/K/V, dot scores) matches PyTorch", {
  fx <- read_fixture("attn_seed")
  net <- sequential(layer_attention(units = 6, key_dim = 5, score = "dot"), input_dim = 4)
  expect_identical(names(get_weights(net)), c("0.query.weight", "0.key.weight", "0.value.weight"))
  expect_attention_fixture(fx, net)
})

test_that("scaled dot-product attention with biases and a causal mask matches PyTorch", {
  fx <- read_fixture("attn_scaled_causal")
  net <- sequential(layer_attention(units = 6, key_dim = 5, causal = TRUE, bias = TRUE),
                    input_dim = 4)
  expect_attention_fixture(fx, net)
  expect_attention_masked(attention(set_weights(net, fx[names(get_weights(net))]), fx$x)[[1]],
                          visible_keys(2, 6, causal = TRUE))
})

test_that("additive attention in a window matches PyTorch", {
  fx <- read_fixture("attn_additive_window")
  net <- sequential(layer_attention(units = 4, key_dim = 5, score = "additive", window = 2,
                                    bias = TRUE), input_dim = 3)
  expect_identical(dim(get_weights(net)[["0.score.weight"]]), c(1L, 5L))
  expect_attention_fixture(fx, net)
})

test_that("cosine attention with its learned scale and padding matches PyTorch", {
  fx <- read_fixture("attn_cosine_padding")
  net <- sequential(layer_attention(units = 3, key_dim = 6, score = "cosine", bias = TRUE),
                    input_dim = 4)
  expect_equal(get_weights(net)[["0.log_scale"]], log(10), tolerance = 1e-7)
  expect_attention_fixture(fx, net, lengths = as.integer(fx$lengths))
})

# --- finite differences -------------------------------------------------------------

test_that("gradients match finite differences for every score, with and without masks", {
  set.seed(11)
  B <- 2; T <- 6; I <- 3
  x <- rand_array(B, T, I)
  masks <- list(
    none = list(),
    causal = list(causal = TRUE),
    window = list(window = 1L),
    lengths = list(lengths = c(6, 4)),
    all = list(causal = TRUE, window = 2L, lengths = c(5, 3))
  )
  for (sc in c("dot", "scaled_dot", "additive", "cosine")) {
    for (mk in names(masks)) {
      m <- masks[[mk]]
      set.seed(100 + match(sc, c("dot", "scaled_dot", "additive", "cosine")))
      net <- sequential(layer_attention(units = 4, key_dim = 3, score = sc, window = m$window,
                                        causal = isTRUE(m$causal), bias = TRUE),
                        input_dim = I)
      y <- rand_array(B, T, 4)
      expect_gradients_match_len(net, x, y, lengths = m$lengths)
    }
  }
})

test_that("gradients pass a dense layer below and above attention (default widths)", {
  set.seed(12)
  x <- rand_array(2, 5, 2)
  net <- sequential(layer_dense(4, activation = "tanh"), layer_attention(score = "scaled_dot"),
                    layer_dense(1), input_dim = 2)
  w <- get_weights(net)
  expect_identical(dim(w[["1.query.weight"]]), c(4L, 4L))
  expect_identical(dim(w[["1.value.weight"]]), c(4L, 4L))
  expect_gradients_match_len(net, x, rand_array(2, 5, 1))
})

test_that("cosine attention learns its scale and stays finite at zero vectors", {
  set.seed(13)
  net <- sequential(layer_attention(units = 2, key_dim = 3, score = "cosine"), input_dim = 3)
  x <- rand_array(2, 5, 3)
  y <- rand_array(2, 5, 2)
  g <- tsattn:::net_gradient(net, x, y)
  expect_gt(abs(g$weights[["0.log_scale"]]), 1e-6)
  w <- get_weights(net)
  w[["0.log_scale"]] <- array(log(3), 1)
  expect_gradients_match_len(set_weights(net, w), x, y)

  # without biases a zero input step gives |q| = |k| = 0: guarded, nothing is NaN
  x[1, 2, ] <- 0
  x[2, , ] <- 0
  g <- tsattn:::net_gradient(net, x, y)
  expect_true(all(is.finite(g$output)))
  expect_true(all(is.finite(unlist(g$weights))))
  expect_true(all(is.finite(g$x)))
  expect_attention_masked(attention(net, x)[[1]], visible_keys(2, 5))
})

# --- masks and weights --------------------------------------------------------------

test_that("attention weights: rows sum to 1, masked keys are exactly 0, fully masked rows are 0", {
  set.seed(14)
  B <- 3; T <- 7
  x <- rand_array(B, T, 2)
  cases <- list(
    list(causal = TRUE, window = NULL, lengths = NULL),
    list(causal = FALSE, window = 1L, lengths = NULL),
    list(causal = FALSE, window = NULL, lengths = c(7, 3, 1)),
    list(causal = TRUE, window = 2L, lengths = c(2, 5, 7)),
    # queries more than `window` steps after the last valid key see nothing at all
    list(causal = FALSE, window = 1L, lengths = c(1, 3, 7))
  )
  for (cs in cases) {
    for (sc in c("dot", "scaled_dot", "additive", "cosine")) {
      net <- sequential(layer_attention(units = 3, key_dim = 2, score = sc, window = cs$window,
                                        causal = cs$causal), input_dim = 2)
      a <- attention(net, x, lengths = cs$lengths)
      expect_named(a, "layer_1")
      vis <- visible_keys(B, T, cs$lengths, cs$causal, cs$window)
      expect_attention_masked(a[[1]], vis)
      out <- predict(net, x, lengths = cs$lengths)
      seen <- apply(vis, c(1, 2), any)
      expect_true(all(is.finite(out)))
      # a query that sees no key has a zero output (no biases here)
      if (any(!seen)) {
        blind <- out[cbind(which(!seen, arr.ind = TRUE)[rep(seq_len(sum(!seen)), 3), ],
                           rep(1:3, each = sum(!seen)))]
        expect_identical(unique(blind), 0)
      }
    }
  }
})

test_that("fully masked rows give zero gradients and finite-difference-exact gradients", {
  set.seed(15)
  x <- rand_array(2, 6, 2)
  y <- rand_array(2, 6, 3)
  net <- sequential(layer_attention(units = 3, key_dim = 2, window = 1L, bias = TRUE),
                    input_dim = 2)
  # sequence 1: length 1, window 1: queries 3..6 see no key
  g <- expect_gradients_match_len(net, x, y, lengths = c(1, 6))
  expect_true(all(is.finite(g$x)))
  # padded steps carry no loss and reach nothing: their input gradient is zero
  expect_identical(unique(as.vector(g$x[1, 2:6, ])), 0)
})

test_that("attention() gives [batch, query, key] for one head, one entry per attention layer", {
  set.seed(16)
  net <- sequential(layer_attention(units = 4, score = "dot"), layer_dense(4),
                    layer_attention(score = "additive", causal = TRUE), input_dim = 2)
  x <- rand_array(3, 5, 2)
  a <- attention(net, x)
  expect_named(a, c("layer_1", "layer_3"))
  expect_identical(dim(a$layer_1), c(3L, 5L, 5L))
  expect_identical(dim(a$layer_3), c(3L, 5L, 5L))
  expect_attention_masked(a$layer_3, visible_keys(3, 5, causal = TRUE))
  # attention changes with the input and is deterministic
  expect_identical(attention(net, x), a)
  expect_false(identical(attention(net, x + 1)$layer_1, a$layer_1))
})

test_that("layer_attention() shapes, names, defaults and parameter counts", {
  net <- sequential(layer_attention(units = 6, key_dim = 5, bias = TRUE), input_dim = 4)
  w <- get_weights(net)
  expect_identical(names(w), paste0("0.", c("query.weight", "query.bias", "key.weight", "key.bias",
                                            "value.weight", "value.bias")))
  expect_identical(dim(w[["0.query.weight"]]), c(5L, 4L))
  expect_identical(dim(w[["0.value.weight"]]), c(6L, 4L))
  expect_length(w[["0.value.bias"]], 6L)
  # nn.Linear initialisation: uniform(+-1/sqrt(in))
  expect_true(all(abs(unlist(w)) <= 1 / sqrt(4)))
  expect_identical(dim(predict(net, rand_array(2, 3, 4))), c(2L, 3L, 6L))
  # units NULL: the input width; key_dim NULL: units
  net2 <- sequential(layer_attention(units = 3), input_dim = 4)
  expect_identical(dim(get_weights(net2)[["0.key.weight"]]), c(3L, 4L))
  net3 <- sequential(layer_attention(), input_dim = 4)
  expect_identical(dim(get_weights(net3)[["0.value.weight"]]), c(4L, 4L))
  expect_identical(sum(lengths(get_weights(net3))), 48L)
  # additive scores add score.weight [1, key_dim], initialised uniform(+-1/sqrt(key_dim))
  w4 <- get_weights(sequential(layer_attention(key_dim = 9, score = "additive"), input_dim = 2))
  expect_identical(dim(w4[["0.score.weight"]]), c(1L, 9L))
  expect_true(all(abs(w4[["0.score.weight"]]) <= 1 / 3))
  # set.seed() repeats the initialisation
  set.seed(3); a <- get_weights(sequential(layer_attention(), input_dim = 3))
  set.seed(3); b <- get_weights(sequential(layer_attention(), input_dim = 3))
  expect_identical(a, b)
})

test_that("attention layers train: the loss falls on a small task", {
  set.seed(17)
  x <- rand_array(16, 8, 1)
  y <- aperm(apply(x, c(1, 3), function(s) cumsum(s) / seq_along(s)), c(2, 1, 3)) # running mean
  net <- sequential(layer_dense(8), layer_attention(score = "scaled_dot", causal = TRUE),
                    layer_dense(1), input_dim = 1)
  fitted <- fit(net, x, y, epochs = 60, batch_size = 16, optimizer = optimizer_adam(lr = 0.01),
                seed = 1, verbose = FALSE)
  h <- fitted$history$loss
  expect_true(all(is.finite(h)))
  expect_lt(h[length(h)], 0.5 * h[1])
})

# --- bad input ----------------------------------------------------------------------

test_that("layer_attention() rejects bad arguments with clear errors", {
  expect_error(layer_attention(window = -1), "window")
  expect_error(layer_attention(window = 1.5), "window")
  expect_error(layer_attention(key_dim = 0), "key_dim")
  expect_error(layer_attention(key_dim = -2), "key_dim")
  expect_error(layer_attention(units = 0), "units")
  expect_error(layer_attention(score = "bogus"), "score")
  expect_error(layer_attention(causal = NA), "causal")
  expect_error(layer_attention(bias = "yes"), "bias")
})

test_that("valid lengths out of range are errors in predict(), attention() and fit()", {
  set.seed(18)
  net <- sequential(layer_attention(units = 2), input_dim = 2)
  x <- rand_array(2, 4, 2)
  y <- rand_array(2, 4, 2)
  expect_error(predict(net, x, lengths = c(0, 4)), "lengths")
  expect_error(predict(net, x, lengths = c(1, 5)), "lengths")
  expect_error(predict(net, x, lengths = c(2, NA)), "lengths")
  expect_error(predict(net, x, lengths = 3), "lengths")
  expect_error(predict(net, x, lengths = c(1.5, 2)), "lengths")
  expect_error(attention(net, x, lengths = c(4, 9)), "lengths")
  expect_error(fit(net, x, y, epochs = 1, verbose = FALSE, lengths = c(4, 0)), "lengths")
  expect_error(fit(net, x, y, epochs = 1, verbose = FALSE, lengths = c(4, 4, 4)), "lengths")
  # in range they work
  expect_identical(dim(predict(net, x, lengths = c(1, 4))), c(2L, 4L, 2L))
})
