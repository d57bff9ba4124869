# seq2seq(): recurrent encoder-decoder with attention over the encoder states.

s2s_cell <- function(cell, units) if (cell == "gru") layer_gru(units) else layer_lstm(units)

s2s_net <- function(cell = "gru", score = "additive", units = 4, horizon = 3, output_dim = 2,
                    input_dim = 3, attention_units = NULL, seed = 1) {
  set.seed(seed)
  seq2seq(s2s_cell(cell, units), s2s_cell(cell, units), attention = score, horizon = horizon,
          output_dim = output_dim, attention_units = attention_units, input_dim = input_dim)
}

# Reference forward pass in plain R (double precision), one sequence at a time, written
# from the equations in ?seq2seq. `target` [horizon, O] gives teacher forcing; NULL
# decodes greedily. Returns list(y [horizon, O], attn [horizon, len]).
s2s_reference <- function(net, x, len = nrow(x), target = NULL) {
  l <- net$layers[[1L]]
  w <- get_weights(net)
  names(w) <- sub("^0\\.", "", names(w))
  H <- l$units
  O <- l$output_dim
  sig <- function(z) 1 / (1 + exp(-z))
  cell <- function(pre, inp, st) {
    gx <- w[[paste0(pre, ".weight_ih_l0")]] %*% inp + w[[paste0(pre, ".bias_ih_l0")]]
    gh <- w[[paste0(pre, ".weight_hh_l0")]] %*% st$h + w[[paste0(pre, ".bias_hh_l0")]]
    k <- seq_len(H)
    if (l$cell == "gru") {
      r <- sig(gx[k] + gh[k])
      z <- sig(gx[H + k] + gh[H + k])
      n <- tanh(gx[2 * H + k] + r * gh[2 * H + k])
      list(h = (1 - z) * n + z * st$h, c = NULL)
    } else {
      g <- gx + gh
      i <- sig(g[k]); f <- sig(g[H + k]); gg <- tanh(g[2 * H + k]); o <- sig(g[3 * H + k])
      cc <- f * st$c + i * gg
      list(h = o * tanh(cc), c = cc)
    }
  }
  st <- list(h = numeric(H), c = numeric(H))
  E <- matrix(0, len, H)
  for (j in seq_len(len)) {
    st <- cell("encoder", x[j, ], st)
    E[j, ] <- st$h
  }
  yprev <- x[len, seq_len(O)]
  y <- matrix(0, l$horizon, O)
  attn <- matrix(0, l$horizon, len)
  for (t in seq_len(l$horizon)) {
    s <- st$h
    e <- switch(l$attention,
      additive = apply(E, 1L, function(h) sum(w$attention.v * tanh(w$attention.W_s %*% s + w$attention.W_h %*% h))),
      dot = as.vector(E %*% s),
      general = as.vector(E %*% t(w$attention.W) %*% s))
    a <- exp(e - max(e))
    a <- a / sum(a)
    ctx <- as.vector(t(E) %*% a)
    st <- cell("decoder", c(yprev, ctx), st)
    y[t, ] <- w$output.weight %*% c(st$h, ctx) + w$output.bias
    attn[t, ] <- a
    yprev <- if (is.null(target)) y[t, ] else target[t, ]
  }
  list(y = y, attn = attn)
}

tf_output <- function(net, x, y, lengths = NULL) {
  tsattn:::net_gradient(net, x, y, training = TRUE, lengths = lengths)$output
}

test_that("seq2seq builds one layer with PyTorch-named weights of the documented shapes", {
  net <- s2s_net("lstm", "additive", units = 4, attention_units = 5)
  expect_s3_class(net, "tsattn_network")
  w <- get_weights(net)
  shapes <- lapply(w, function(a) if (is.null(dim(a))) length(a) else dim(a))
  expect_equal(shapes, list(
    "0.encoder.weight_ih_l0" = c(16L, 3L), "0.encoder.weight_hh_l0" = c(16L, 4L),
    "0.encoder.bias_ih_l0" = 16L, "0.encoder.bias_hh_l0" = 16L,
    "0.decoder.weight_ih_l0" = c(16L, 6L), "0.decoder.weight_hh_l0" = c(16L, 4L),
    "0.decoder.bias_ih_l0" = 16L, "0.decoder.bias_hh_l0" = 16L,
    "0.attention.W_s" = c(5L, 4L), "0.attention.W_h" = c(5L, 4L), "0.attention.v" = 5L,
    "0.output.weight" = c(2L, 8L), "0.output.bias" = 2L))
  # initialisation bounds: 1/sqrt(H) for the cells and W_s, W_h; nn.Linear's elsewhere
  expect_lte(max(abs(unlist(w[1:10]))), 1 / sqrt(4))
  expect_lte(max(abs(w[["0.attention.v"]])), 1 / sqrt(5))
  expect_lte(max(abs(w[["0.output.weight"]])), 1 / sqrt(8))
  expect_named(get_weights(s2s_net("gru", "general")), c(
    paste0("0.encoder.", c("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")),
    paste0("0.decoder.", c("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")),
    "0.attention.W", "0.output.weight", "0.output.bias"))
  expect_length(get_weights(s2s_net("gru", "dot")), 10L)
  expect_output(print(net), "lstm encoder-decoder, 4 units, additive attention \\(5 units\\), horizon 3")
  expect_output(print(net), "output \\[batch, 3, 2\\]")
})

test_that("the forward pass matches a plain-R reference (GRU and LSTM, every score)", {
  set.seed(2)
  x <- rand_array(3, 6, 3)
  y <- rand_array(3, 3, 2)
  len <- c(6L, 4L, 2L)
  for (cell in c("gru", "lstm")) for (score in c("additive", "dot", "general")) {
    net <- s2s_net(cell, score, units = 4, horizon = 3)
    p <- predict(net, x, lengths = len)
    a <- attention(net, x, lengths = len)[[1L]]
    tf <- tf_output(net, x, y, lengths = len)
    for (b in 1:3) {
      ref <- s2s_reference(net, x[b, , ], len[b])
      expect_equal(p[b, , ], ref$y, tolerance = 1e-5, label = sprintf("%s/%s greedy, seq %d", cell, score, b))
      expect_equal(a[b, , seq_len(len[b])], ref$attn, tolerance = 1e-5,
                   label = sprintf("%s/%s attention, seq %d", cell, score, b))
      ref_tf <- s2s_reference(net, x[b, , ], len[b], target = y[b, , ])
      expect_equal(tf[b, , ], ref_tf$y, tolerance = 1e-5,
                   label = sprintf("%s/%s teacher forcing, seq %d", cell, score, b))
    }
  }
})

test_that("seq2seq gradients match finite differences (teacher forcing and greedy, with lengths)", {
  for (cell in c("gru", "lstm")) for (score in c("additive", "dot", "general")) {
    net <- s2s_net(cell, score, units = 4, horizon = 3,
                   attention_units = if (score == "additive") 3 else NULL, seed = 3)
    set.seed(4)
    x <- rand_array(3, 5, 3)
    y <- rand_array(3, 3, 2)
    expect_gradients_match(net, x, y, training = TRUE, lengths = c(5L, 3L, 4L))
    expect_gradients_match(net, x, y, training = FALSE, lengths = c(2L, 5L, 4L))
  }
})

test_that("seq2seq gradients match without lengths and with one output of one feature", {
  for (cell in c("gru", "lstm")) {
    set.seed(5)
    net <- seq2seq(s2s_cell(cell, 3), s2s_cell(cell, 3), attention = "additive", horizon = 4,
                   input_dim = 1)
    x <- rand_array(2, 6, 1)
    y <- rand_array(2, 4, 1)
    expect_gradients_match(net, x, y, training = TRUE)
    expect_gradients_match(net, x, y, training = FALSE)
    expect_gradients_match(net, x, y, training = FALSE, loss = "mae")
  }
})

test_that("teacher forcing uses the targets while training; prediction does not", {
  net <- s2s_net("gru", "additive", horizon = 4)
  set.seed(6)
  x <- rand_array(2, 5, 3)
  y1 <- rand_array(2, 4, 2)
  y2 <- y1
  y2[, 2, ] <- y2[, 2, ] + 1
  o1 <- tf_output(net, x, y1)
  o2 <- tf_output(net, x, y2)
  # steps 1 and 2 come before target 2 is fed back; steps 3 and 4 follow it
  expect_equal(o1[, 1:2, ], o2[, 1:2, ])
  expect_gt(min(abs(o1[, 3, ] - o2[, 3, ])), 0)
  g1 <- tsattn:::net_gradient(net, x, y1, training = FALSE)$output
  g2 <- tsattn:::net_gradient(net, x, y2, training = FALSE)$output
  expect_identical(g1, g2)
  expect_equal(g1, predict(net, x), tolerance = 1e-6)
  # the last target is never fed back
  y3 <- y1
  y3[, 4, ] <- 100
  expect_equal(tf_output(net, x, y3), o1)
})

test_that("greedy decoding equals feeding the model's own outputs back step by step", {
  for (cell in c("gru", "lstm")) {
    net <- s2s_net(cell, "general", horizon = 4)
    set.seed(7)
    x <- rand_array(3, 6, 3)
    p <- predict(net, x)
    # teacher forcing with targets built one step at a time from the model's outputs
    y <- array(0, dim(p))
    for (k in 1:4) y[, k, ] <- tf_output(net, x, y)[, k, ]
    expect_equal(y, p, tolerance = 1e-6)
    # a shorter horizon with the same weights gives the first steps of the longer one
    for (h in 1:3) {
      short <- seq2seq(s2s_cell(cell, 4), s2s_cell(cell, 4), attention = "general", horizon = h,
                       output_dim = 2, input_dim = 3)
      short <- set_weights(short, get_weights(net))
      expect_equal(predict(short, x), p[, seq_len(h), , drop = FALSE], tolerance = 1e-6)
    }
  }
})

test_that("attention rows sum to 1 and padded keys get exactly 0 weight", {
  for (score in c("additive", "dot", "general")) {
    net <- s2s_net("lstm", score, horizon = 3)
    set.seed(8)
    x <- rand_array(3, 7, 3)
    len <- c(7L, 2L, 5L)
    a <- attention(net, x, lengths = len)
    expect_named(a, "layer_1")
    a <- a[[1L]]
    expect_equal(dim(a), c(3L, 3L, 7L))
    expect_equal(apply(a, c(1, 2), sum), matrix(1, 3, 3), tolerance = 1e-6)
    expect_true(all(a >= 0))
    for (b in 1:3) if (len[b] < 7) expect_true(all(a[b, , (len[b] + 1):7] == 0))
    # padded steps change nothing at all
    x2 <- x
    for (b in 1:3) if (len[b] < 7) x2[b, (len[b] + 1):7, ] <- 50
    expect_identical(predict(net, x2, lengths = len), predict(net, x, lengths = len))
    # and a padded sequence predicts as its unpadded self
    expect_equal(predict(net, x[2, 1:2, , drop = FALSE])[1, , ],
                 predict(net, x, lengths = len)[2, , ], tolerance = 1e-6)
  }
})

test_that("a seq2seq model learns to forecast a sine", {
  s <- sin(2 * pi * seq_len(260) / 20)
  idx <- seq_len(200)
  x <- t(vapply(idx, function(i) s[i:(i + 23)], numeric(24)))
  y <- t(vapply(idx, function(i) s[(i + 24):(i + 29)], numeric(6)))
  net <- seq2seq(layer_gru(16), layer_gru(16), attention = "additive", horizon = 6)
  net <- fit(net, x, y, epochs = 60, batch_size = 16, optimizer = optimizer_adam(lr = 0.01),
             seed = 1, verbose = FALSE)
  # held-out windows after the training ones
  xt <- t(vapply(201:230, function(i) s[i:(i + 23)], numeric(24)))
  yt <- t(vapply(201:230, function(i) s[(i + 24):(i + 29)], numeric(6)))
  p <- predict(net, xt)
  expect_equal(dim(p), c(30L, 6L, 1L))
  expect_lt(mean((p[, , 1] - yt)^2), 0.01)
  a <- attention(net, xt)[[1L]]
  expect_equal(dim(a), c(30L, 6L, 24L))
})

test_that("seq2seq rejects mismatched or unsupported encoders and decoders", {
  expect_error(seq2seq(layer_gru(8), layer_lstm(8)), "`decoder` must be a layer_gru\\(\\) like `encoder`")
  expect_error(seq2seq(layer_lstm(8), layer_gru(8)), "`decoder` must be a layer_lstm\\(\\)")
  expect_error(seq2seq(layer_gru(8), layer_gru(4)), "`decoder` must be of units = 8")
  expect_error(seq2seq(layer_gru(8, num_layers = 2), layer_gru(8)),
               "`encoder` must be a single recurrent layer \\(num_layers = 1\\), not num_layers = 2")
  expect_error(seq2seq(layer_gru(8), layer_gru(8, num_layers = 3)), "`decoder` must be a single")
  expect_error(seq2seq(layer_dense(8), layer_gru(8)), "`encoder` must be a recurrent layer")
  expect_error(seq2seq(layer_gru(8), "gru"), "`decoder` must be a recurrent layer")
  expect_error(seq2seq(attention = "cosine"), "`attention` must be one of \"additive\", \"dot\", \"general\"")
  expect_error(seq2seq(attention = "dot", attention_units = 4), "`attention_units` must be NULL")
  expect_error(seq2seq(attention_units = 0), "`attention_units` must be a whole number >= 1")
  expect_error(seq2seq(horizon = 0), "`horizon` must be a whole number >= 1")
  expect_error(seq2seq(output_dim = 3, input_dim = 2), "`input_dim` must be at least output_dim = 3")
  # the output size is checked against the data's features when built at fit()
  net <- seq2seq(layer_gru(4), layer_gru(4), output_dim = 2)
  expect_error(fit(net, array(0, c(2, 5, 1)), array(0, c(2, 1, 2)), epochs = 1, verbose = FALSE),
               "output size 2 exceeds the 1 input features")
})

test_that("seq2seq survives saveRDS and trains on several series", {
  set.seed(9)
  x <- rand_array(20, 8, 3)
  y <- rand_array(20, 2, 2)
  net <- seq2seq(layer_lstm(6), layer_lstm(6), attention = "dot", horizon = 2, output_dim = 2)
  net <- fit(net, x, y, epochs = 3, batch_size = 5, seed = 2, verbose = FALSE)
  f <- tempfile(fileext = ".rds")
  saveRDS(net, f)
  net2 <- readRDS(f)
  expect_identical(predict(net2, x), predict(net, x))
  expect_equal(nrow(net$history), 3L)
  expect_true(all(is.finite(net$history$loss)))
})

test_that("seq2seq matches PyTorch (nn.GRU/nn.LSTM encoder, GRUCell/LSTMCell decoder)", {
  cases <- list(
    s2s_gru_additive = list(cell = "gru", score = "additive", A = 4, training = TRUE),
    s2s_lstm_general = list(cell = "lstm", score = "general", A = NULL, training = FALSE),
    s2s_lstm_dot = list(cell = "lstm", score = "dot", A = NULL, training = TRUE))
  for (nm in names(cases)) {
    cs <- cases[[nm]]
    fx <- read_fixture(nm)
    net <- seq2seq(s2s_cell(cs$cell, 5), s2s_cell(cs$cell, 5), attention = cs$score, horizon = 3,
                   output_dim = 2, attention_units = cs$A, input_dim = 3)
    wn <- names(get_weights(net))
    net <- set_weights(net, fx[wn])
    len <- if (is.null(fx$lengths)) NULL else as.integer(fx$lengths)
    g <- tsattn:::net_gradient(net, fx$x, fx$y, training = cs$training, lengths = len)
    expect_close(g$output, fx$output, label = paste(nm, "output"))
    expect_close(g$loss, fx$loss, label = paste(nm, "loss"))
    expect_close_list(g$weights, fixture_group(fx, "grad")[wn], rtol = 1e-4, atol = 1e-6,
                      what = paste0(nm, " grad."))
    expect_close(g$x, fx$grad.x, rtol = 1e-4, atol = 1e-6, label = paste(nm, "grad.x"))
    # attention() decodes greedily: with teacher forcing only the first step agrees
    a <- attention(net, fx$x, lengths = len)[[1L]]
    steps <- if (cs$training) 1L else 1:3
    expect_close(a[, steps, , drop = FALSE], fx$attn[, steps, , drop = FALSE],
                 label = paste(nm, "attention"))
    if (!cs$training) expect_close(predict(net, fx$x), fx$output, label = paste(nm, "predict"))
  }
})
