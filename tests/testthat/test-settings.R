# Settings cross from R to C by name (src/api_spec.c): a layer's spec and fit()'s settings
# are named lists read field by field, and coded settings go as names that the glue maps
# with one table per enum. These tests fail when R and C disagree on a name.

codes <- .Call(tsattn:::C_codes)
read_back <- function(layers) {
  .Call(tsattn:::C_layer_specs, lapply(layers, tsattn:::layer_spec))
}

# every_kind: a layer of every kind (helper-kinds.R)

test_that("C has a code for every name R offers, and one code per name", {
  for (t in names(codes)) {
    expect_false(anyDuplicated(names(codes[[t]])) > 0L, label = t)
    expect_false(anyDuplicated(codes[[t]]) > 0L, label = t)
  }
  kinds <- vapply(every_kind, `[[`, "", "type")
  expect_setequal(kinds, names(codes$layer))
  expect_true(all(tsattn:::activation_choices %in% names(codes$activation)))
  expect_true(all(tsattn:::padding_choices %in% names(codes$padding)))
  expect_true(all(tsattn:::encoding_choices %in% names(codes$encoding)))
  # one numbering of scores for the attention layers and seq2seq
  expect_setequal(union(tsattn:::score_choices, tsattn:::seq2seq_score_choices), names(codes$score))
  expect_setequal(c("gru", "lstm"), names(codes$cell))
  expect_setequal(c("mse", "mae"), names(codes$loss))
  expect_setequal(c("adam", "sgd"), names(codes$optimizer))
})

test_that("every kind of C's one list of layers builds and runs on the CPU", {
  # the list (src/ta_layer_kinds.h) numbers its kinds 1, 2, ... and names each; every
  # kind it names has a CPU table that builds a network and predicts
  expect_identical(unname(codes$layer), seq_along(codes$layer))
  set.seed(1)
  x <- array(rnorm(2 * 6 * 4), c(2, 6, 4))
  built <- character()
  for (layer in every_kind) {
    p <- predict(sequential(layer, input_dim = 4), x)
    expect_true(length(p) > 0L && all(is.finite(p)), label = layer$type)
    built <- c(built, layer$type)
  }
  expect_setequal(built, names(codes$layer))
})

test_that("every layer kind's settings come back from C as R sent them", {
  back <- read_back(every_kind)
  for (i in seq_along(every_kind)) {
    sent <- Filter(Negate(is.null), tsattn:::layer_spec(every_kind[[i]]))
    got <- back[[i]]
    label <- every_kind[[i]]$type
    expect_true(all(names(sent) %in% names(got)), label = label)
    sent <- lapply(sent, function(v) if (is.logical(v)) as.integer(v) else v)
    expect_identical(got[names(sent)], sent, label = label)
    # a field R does not send keeps the core's default: 0, the code numbered 0, window -1
    rest <- got[setdiff(names(got), names(sent))]
    defaults <- lapply(rest, function(v) if (is.integer(v)) 0L else 0)
    for (f in intersect(names(rest), names(codes)))
      defaults[[f]] <- names(codes[[f]])[codes[[f]] == 0L]
    if ("window" %in% names(rest)) defaults$window <- -1L
    expect_identical(rest, defaults, label = label)
  }
})

test_that("every coded name R offers reaches C as the code of that name", {
  round_trip <- function(layers, field) vapply(read_back(layers), `[[`, "", field)
  a <- tsattn:::activation_choices
  expect_identical(round_trip(lapply(a, function(f) layer_dense(1, activation = f)), "activation"), a)
  expect_identical(round_trip(lapply(a, layer_activation), "activation"), a)
  s <- tsattn:::score_choices
  expect_identical(round_trip(lapply(s, function(x) layer_attention(score = x)), "score"), s)
  s2 <- tsattn:::seq2seq_score_choices
  s2s <- lapply(s2, function(x) seq2seq(attention = x)$layers[[1L]])
  expect_identical(round_trip(s2s, "score"), s2)
  cells <- lapply(list(layer_gru(2), layer_lstm(2)), function(l) seq2seq(l, l)$layers[[1L]])
  expect_identical(round_trip(cells, "cell"), c("gru", "lstm"))
  p <- tsattn:::padding_choices
  expect_identical(round_trip(lapply(p, function(x) layer_conv1d(1, 2, padding = x)), "padding"), p)
  e <- tsattn:::encoding_choices
  expect_identical(round_trip(lapply(e, layer_positional_encoding), "encoding"), e)
  # C's scores are one numbering: no two names of either layer share a code
  expect_length(unique(codes$score[c(s, s2)]), length(union(s, s2)))
})

test_that("a setting C does not know, a code it does not know and a missing type are errors", {
  spec <- list(list(type = "dense", units = 2L, unitz = 3L))
  expect_error(.Call(tsattn:::C_layer_specs, spec), "layer 1: there is no setting 'unitz'")
  spec <- list(list(type = "dense", units = 2L), list(type = "dense", activation = "swish"))
  expect_error(.Call(tsattn:::C_layer_specs, spec),
               "layer 2: 'activation' must be one of linear, relu, tanh, sigmoid, gelu, not \"swish\"")
  expect_error(.Call(tsattn:::C_layer_specs, list(list(units = 2L))), "layer 1: its spec has no 'type'")
  expect_error(.Call(tsattn:::C_layer_specs, list(list(type = "dense", units = 2.5))),
               "layer 1: 'units' must be a whole number")
  expect_error(.Call(tsattn:::C_layer_specs, list(list(type = "dense", units = 1L, units = 2L))),
               "layer 1: 'units' is given twice")
  # a layer's settings in another order are the same layer
  spec <- tsattn:::layer_spec(every_kind[[10L]])
  expect_identical(.Call(tsattn:::C_layer_specs, list(rev(spec))), read_back(every_kind[10L]))
  # a score of the one enum that the layer does not take
  net <- sequential(layer_attention(), input_dim = 2)
  net$layers[[1L]]$score <- "general"
  net$built_layers <- NULL
  expect_error(predict(net, array(0, c(1, 3, 2))), "attention: score code 4 is none of")
})

test_that("fit()'s settings cross by name: each is required and known", {
  net <- sequential(layer_dense(1), input_dim = 1)
  s <- tsattn:::network_spec(net)
  w <- tsattn:::flatten_weights(net$weights, tsattn:::network_layout(net))
  cfg <- tsattn:::train_settings(2L, 4L, TRUE, "mae", 0L, optimizer_sgd(0.1, momentum = 0.5),
                                 FALSE, 1)
  call_fit <- function(cfg) {
    .Call(tsattn:::C_net_fit, s, 1L, w, as.double(1:8), c(8L, 1L, 1L), NULL, as.double(8:1),
          double(), 0L, NULL, double(), cfg, 1, -1L)
  }
  res <- call_fit(cfg)
  expect_length(res$loss, 2L)
  # by name, not by position: the same settings in another order train alike, and each
  # coded or numeric setting is read (another value trains otherwise)
  expect_identical(call_fit(rev(cfg)), res)
  for (other in list(list(loss = "mse"), list(optimizer = "adam"), list(lr = 0.05),
                     list(momentum = 0), list(clipnorm = 0)))
    expect_false(identical(call_fit(utils::modifyList(cfg, other))$weights, res$weights),
                 label = names(other))
  for (f in names(cfg))
    expect_error(call_fit(cfg[setdiff(names(cfg), f)]), sprintf("training settings: '%s' is missing", f))
  expect_error(call_fit(c(cfg, list(nesterov = TRUE))), "training settings: there is no setting 'nesterov'")
  bad <- cfg
  bad$loss <- "huber"
  expect_error(call_fit(bad), "training settings: 'loss' must be one of mse, mae, not \"huber\"")
  bad <- cfg
  bad$optimizer <- "rmsprop"
  expect_error(call_fit(bad), "'optimizer' must be one of adam, sgd")
  bad <- cfg
  bad$epochs <- 0L
  expect_error(call_fit(bad), "'epochs' must be >= 1")
})

test_that("a network of every layer kind still builds, fits and predicts", {
  set.seed(4)
  x <- array(rnorm(6 * 8 * 4), c(6, 8, 4))
  net <- sequential(
    layer_conv1d(6, 3, padding = "causal", activation = "relu"), layer_layer_norm(),
    layer_positional_encoding("learned", max_len = 16, dropout = 0.1),
    layer_attention(score = "cosine", window = 2, bias = TRUE), layer_multihead_attention(2),
    layer_transformer_encoder(2, 8, norm_first = TRUE, activation = "gelu"), layer_dropout(0.1),
    layer_activation("tanh"), layer_gru(3, num_layers = 2), layer_lstm(3),
    layer_dense(2, activation = "sigmoid"), layer_last_step(), layer_dense(1),
    input_dim = 4
  )
  y <- array(rnorm(6), c(6, 1, 1))
  fitted <- fit(net, x, y, epochs = 3, batch_size = 3, seed = 1, verbose = FALSE)
  expect_true(all(is.finite(fitted$history$loss)))
  expect_false(identical(get_weights(fitted), get_weights(net)))
  p <- predict(fitted, x)
  expect_identical(dim(p), c(6L, 1L, 1L))
  expect_true(all(is.finite(p)))
  for (cell in c("gru", "lstm")) for (sc in tsattn:::seq2seq_score_choices) {
    l <- if (cell == "gru") layer_gru(3) else layer_lstm(3)
    s <- seq2seq(l, l, attention = sc, horizon = 2, input_dim = 4)
    s <- fit(s, x, array(rnorm(12), c(6, 2, 1)), epochs = 2, seed = 2, verbose = FALSE)
    expect_true(all(is.finite(predict(s, x))), label = paste(cell, sc))
  }
})
