# Training and prediction on the GPU (src/ta_net_cuda.cu, ta_rnn_cuda.cu, layer_*_cuda.cu,
# ta_train_cuda.cu) against the CPU core, for the networks that have a GPU path: dense,
# activation, last_step, GRU and LSTM (stacked, with or without return_sequences).
# The GPU comparisons need a device and are skipped without one; the errors that do not
# (unsupported layers, no usable device, a build without CUDA) run everywhere.
#
# Tolerances: helper-cuda.R, whose parity checks these are. Here sums have at most
# B*T*4H = 480 terms and the recurrences (tanh and sigmoid are contractions) do not
# amplify the products' rounding over 12 steps.

gpu_test_nets <- function() {
  set.seed(11)
  list(
    dense = sequential(layer_dense(4, activation = "tanh"), layer_dense(2), input_dim = 3),
    gru = sequential(layer_gru(5, num_layers = 2), layer_dense(1), input_dim = 3),
    gru_last = sequential(layer_gru(4, return_sequences = FALSE),
                          layer_dense(2, activation = "relu"), input_dim = 3),
    lstm = sequential(layer_lstm(5, num_layers = 2), layer_activation("tanh"), layer_dense(1),
                      input_dim = 3),
    lstm_last = sequential(layer_lstm(4), layer_last_step(),
                           layer_dense(2, activation = "sigmoid"), input_dim = 3)
  )
}

# inputs [8, 12, 3] and targets shaped as the network's output
gpu_test_data <- function(net) gpu_case_data(net, B = 8L, T = 12L, seed = 12)

# ---- on any machine ----------------------------------------------------------------

test_that("every layer has a GPU path, stacked cells with inter-layer dropout included", {
  skip_if_not(tsattn:::cuda_built(), "a CPU-only build has no GPU path to report on")
  unsupported <- tsattn:::cuda_unsupported
  for (net in gpu_test_nets()) expect_null(unsupported(net))
  expect_null(unsupported(sequential(layer_gru(3, num_layers = 2, dropout = 0.1))))
  expect_null(unsupported(sequential(layer_lstm(3, num_layers = 3, dropout = 0.5))))
  expect_null(unsupported(sequential(
    layer_conv1d(8, 3), layer_positional_encoding(max_len = 20, dropout = 0.1),
    layer_layer_norm(), layer_dropout(0.1), layer_attention(score = "additive"),
    layer_multihead_attention(2), layer_transformer_encoder(2, d_ff = 16),
    layer_activation("tanh"), layer_gru(4, num_layers = 2, dropout = 0.2), layer_last_step(),
    layer_dense(1), input_dim = 3)))
})

test_that("device = \"cuda\" on a supported network still needs a usable device", {
  skip_if(cuda_available(), "a CUDA device is usable here")
  net <- gpu_test_nets()$lstm
  d <- gpu_test_data(net)
  expected <- if (tsattn:::cuda_built()) {
    "no CUDA device can be used: cuda[A-Za-z]+: .*; use device = \"cpu\""
  } else {
    "no CUDA device can be used: this build of tsattn has no CUDA backend"
  }
  expect_error(fit(net, d$x, d$y, epochs = 1, device = "cuda", verbose = FALSE), expected)
  expect_error(predict(net, d$x, device = "cuda"), expected)
  expect_error(tsattn:::cuda_net_gradient(net, d$x, d$y), expected)
  # the entry points themselves fail cleanly (an R error, nothing leaked) without one
  s <- tsattn:::network_spec(net)
  w <- tsattn:::flatten_weights(net$weights, tsattn:::check_network(net))
  expect_error(.Call(tsattn:::C_net_predict, s, 3L, w,
                     tsattn:::to_core(d$x), dim(d$x), NULL, 4L, 0L),
               if (tsattn:::cuda_built()) "cuda[A-Za-z]+: " else "has no CUDA backend")
  # "auto" is the CPU here
  a <- fit(net, d$x, d$y, epochs = 2, batch_size = 4, seed = 1, device = "auto", verbose = FALSE)
  b <- fit(net, d$x, d$y, epochs = 2, batch_size = 4, seed = 1, device = "cpu", verbose = FALSE)
  expect_identical(get_weights(a), get_weights(b))
})

# ---- on a GPU ----------------------------------------------------------------------

test_that("GPU forward outputs match the CPU's", {
  skip_if_not(cuda_available(), "no CUDA device")
  for (nm in names(nets <- gpu_test_nets())) {
    d <- gpu_test_data(nets[[nm]])
    expect_gpu_forward(nets[[nm]], d$x, nm, chunk = 3)
  }
})

test_that("GPU gradients (weights and inputs) match the CPU's", {
  skip_if_not(cuda_available(), "no CUDA device")
  for (nm in names(nets <- gpu_test_nets())) {
    d <- gpu_test_data(nets[[nm]])
    for (loss in c("mse", "mae")) expect_gpu_gradients(nets[[nm]], d$x, d$y, paste(nm, loss), loss = loss)
  }
})

test_that("one Adam step and a 20-step GPU run match the CPU's; the run repeats exactly", {
  skip_if_not(cuda_available(), "no CUDA device")
  for (nm in names(nets <- gpu_test_nets())) {
    d <- gpu_test_data(nets[[nm]])
    expect_gpu_adam_step(nets[[nm]], d$x, d$y, nm)
    # 10 epochs of 2 shuffled batches
    expect_gpu_run(nets[[nm]], d$x, d$y, nm, batch_size = 4)
  }
})

test_that("SGD with momentum, clipping, validation and early stopping on the GPU match the CPU", {
  skip_if_not(cuda_available(), "no CUDA device")
  nets <- gpu_test_nets()
  for (nm in c("gru", "lstm_last")) {
    d <- gpu_test_data(nets[[nm]])
    run <- function(device) fit(nets[[nm]], d$x, d$y, epochs = 8, batch_size = 3,
                                optimizer = optimizer_sgd(lr = 0.05, momentum = 0.9),
                                clipnorm = 0.5, validation_split = 0.25, patience = 2,
                                seed = 7, device = device, verbose = FALSE)
    cpu <- run("cpu")
    gpu <- run("cuda")
    expect_identical(nrow(gpu$history), nrow(cpu$history))
    expect_gpu_near(gpu$history$loss, cpu$history$loss, 0, 1e-4, paste(nm, "loss history"))
    expect_gpu_near(gpu$history$val_loss, cpu$history$val_loss, 0, 1e-4, paste(nm, "val_loss"))
    expect_gpu_near(get_weights(gpu), get_weights(cpu), 5e-4, 1e-3, paste(nm, "weights"))
    expect_identical(get_weights(run("cuda")), get_weights(gpu))
  }
})

test_that("tsattn()'s windows cut from rows train on the GPU as the written windows, and as on the CPU", {
  skip_if_not(cuda_available(), "no CUDA device")
  # two series and a regressor over 40 rows: windows of 6 rows and 2 targets, the last 5
  # validating (in batches of 4: neither set is whole batches)
  set.seed(11)
  S <- matrix(round(rnorm(80), 3), 40, 2)
  feat <- cbind(S, round(rnorm(40), 3))
  L <- 6L
  n_win <- 40L - L - 2L + 1L
  x <- array(0, c(n_win, L, 3L))
  y <- array(0, c(n_win, 2L, 2L))
  for (i in seq_len(n_win)) {
    x[i, , ] <- feat[i:(i + L - 1L), ]
    y[i, , ] <- S[(i + L):(i + L + 1L), ]
  }
  tr <- seq_len(n_win - 5L)
  va <- (n_win - 4L):n_win
  net <- seq2seq(layer_gru(5), layer_gru(5), attention = "dot", horizon = 2, output_dim = 2)
  rows <- function(device) tsattn:::fit_rows(net, feat, S, L, 2L, 5L, epochs = 6, batch_size = 4,
                                             optimizer = optimizer_adam(lr = 0.01), patience = 3,
                                             seed = 5, device = device, verbose = FALSE)
  g <- rows("cuda")
  written <- fit(net, x[tr, , , drop = FALSE], y[tr, , , drop = FALSE], epochs = 6, batch_size = 4,
                 optimizer = optimizer_adam(lr = 0.01), patience = 3, seed = 5, device = "cuda",
                 validation_data = list(x[va, , , drop = FALSE], y[va, , , drop = FALSE]),
                 verbose = FALSE)
  expect_identical(get_weights(g), get_weights(written))
  expect_identical(g$history, written$history)
  c <- rows("cpu")
  expect_identical(nrow(g$history), nrow(c$history))
  expect_gpu_near(g$history$val_loss, c$history$val_loss, 0, 1e-4, "val_loss")
  expect_gpu_near(get_weights(g), get_weights(c), 5e-4, 1e-3, "weights")
  # the in-sample predictions, chunk by chunk on the GPU, as predict() on the windows
  expect_gpu_near(tsattn:::predict_rows(g, feat, L, n_win, batch_size = 7L, device = "cuda"),
                  predict(g, x), 1e-5, 1e-4, "predictions")
})

test_that("padded sequences (lengths) train on the GPU as on the CPU", {
  skip_if_not(cuda_available(), "no CUDA device")
  # the GRU's outputs keep the input's steps, so the loss skips the padded ones
  net <- gpu_test_nets()$gru
  d <- gpu_test_data(net)
  len <- c(12L, 3L, 7L, 12L, 1L, 9L, 5L, 12L)
  cpu <- tsattn:::net_gradient(net, d$x, d$y, lengths = len)
  gpu <- tsattn:::cuda_net_gradient(net, d$x, d$y, lengths = len)
  expect_gpu_near(gpu$loss, cpu$loss, 1e-6, 1e-5, "masked loss")
  expect_gpu_near(gpu$weights, cpu$weights, 2e-5, 1e-4, "masked weight gradients")
  # a padded step's output gets no gradient, so its input gets none through the dense
  # layer either: the last step of sequence 5 (length 1) is exactly zero on both
  expect_identical(gpu$x[5, 12, ], cpu$x[5, 12, ])
  run <- function(device) fit(net, d$x, d$y, lengths = len, epochs = 4, batch_size = 3,
                              validation_data = list(d$x[1:3, , , drop = FALSE],
                                                     d$y[1:3, , , drop = FALSE], c(4L, 12L, 2L)),
                              seed = 2, device = device, verbose = FALSE)
  g <- run("cuda")
  c <- run("cpu")
  expect_gpu_near(g$history$loss, c$history$loss, 0, 1e-4, "masked loss history")
  expect_gpu_near(g$history$val_loss, c$history$val_loss, 0, 1e-4, "masked val_loss history")
  expect_gpu_near(get_weights(g), get_weights(c), 5e-4, 1e-3, "masked weights")
  # in chunks of 3: within the outputs' tolerance (cuBLAS's kernels depend on the shape:
  # helper-cuda.R's expect_gpu_forward)
  expect_gpu_near(predict(net, d$x, lengths = len, device = "cuda", batch_size = 3),
                  predict(net, d$x, lengths = len, device = "cuda"), 1e-5, 1e-4,
                  "masked predict in chunks of 3")
})

test_that("inter-layer dropout of stacked cells on the GPU: off in evaluation, repeatable in training", {
  skip_if_not(cuda_available(), "no CUDA device")
  set.seed(13)
  nets <- list(gru = sequential(layer_gru(5, num_layers = 3, dropout = 0.4), layer_dense(1),
                                input_dim = 3),
               lstm = sequential(layer_lstm(5, num_layers = 2, dropout = 0.4),
                                 layer_dense(1), input_dim = 3))
  for (nm in names(nets)) {
    net <- nets[[nm]]
    d <- gpu_test_data(net)
    # evaluation: no dropout on either device, so the CPU's values
    expect_gpu_forward(net, d$x, nm, chunk = 3)
    expect_gpu_gradients(net, d$x, d$y, nm)
    # training: the GPU's own masks (other draws than the CPU's), the same for a seed
    g1 <- tsattn:::cuda_net_gradient(net, d$x, d$y, training = TRUE, seed = 4)
    g2 <- tsattn:::cuda_net_gradient(net, d$x, d$y, training = TRUE, seed = 4)
    g3 <- tsattn:::cuda_net_gradient(net, d$x, d$y, training = TRUE, seed = 5)
    ge <- tsattn:::cuda_net_gradient(net, d$x, d$y, training = FALSE)
    expect_identical(g1, g2)
    expect_false(identical(g1$weights, g3$weights), label = paste(nm, "another seed, other masks"))
    expect_false(identical(g1$output, ge$output), label = paste(nm, "training drops units"))
    expect_true(all(is.finite(unlist(g1))))
    # the top cell has no dropout after it: with one cell, training is evaluation
    one <- sequential(layer_gru(5, dropout = 0.4), layer_dense(1), input_dim = 3)
    expect_identical(tsattn:::cuda_net_gradient(one, d$x, d$y, training = TRUE, seed = 4)$weights,
                     tsattn:::cuda_net_gradient(one, d$x, d$y, training = FALSE)$weights)
    run <- function() fit(net, d$x, d$y, epochs = 3, batch_size = 4, seed = 6, device = "cuda",
                          verbose = FALSE)
    expect_identical(get_weights(run()), get_weights(run()))
  }
})

test_that("GPU gradients in training mode, through the GPU's dropout masks, pass finite-difference checks", {
  skip_if_not(cuda_available(), "no CUDA device")
  # the masks depend on the seed only, so the loss of a seed is a smooth function of the
  # weights and its finite differences check the backward through the masks
  set.seed(14)
  nets <- list(
    gru_stack = sequential(layer_gru(4, num_layers = 2, dropout = 0.4), layer_dense(1), input_dim = 2),
    lstm_stack = sequential(layer_lstm(3, num_layers = 3, dropout = 0.3), layer_dense(1), input_dim = 2),
    dropout_posenc = sequential(layer_dense(4), layer_positional_encoding(max_len = 8, dropout = 0.3),
                                layer_dropout(0.3), layer_dense(1), input_dim = 2),
    # gelu: finite differences across relu's kink fail on the CPU as well
    transformer = sequential(layer_dense(4), layer_transformer_encoder(2, d_ff = 8, dropout = 0.3,
                                                                       activation = "gelu"),
                             layer_dense(1), input_dim = 2),
    mha = sequential(layer_multihead_attention(2, dropout = 0.3), layer_dense(1), input_dim = 2))
  for (nm in names(nets)) {
    set.seed(15)
    x <- rand_array(3, 6, 2)
    y <- array(rnorm(prod(dim(predict(nets[[nm]], x)))), dim(predict(nets[[nm]], x)))
    expect_gradients_match(nets[[nm]], x, y, training = TRUE, seed = 9, device = "cuda")
  }
})

test_that("device = \"auto\" trains a supported network on the GPU when one is usable", {
  skip_if_not(cuda_available(), "no CUDA device")
  net <- gpu_test_nets()$gru
  d <- gpu_test_data(net)
  a <- fit(net, d$x, d$y, epochs = 2, batch_size = 4, seed = 1, device = "auto", verbose = FALSE)
  g <- fit(net, d$x, d$y, epochs = 2, batch_size = 4, seed = 1, device = "cuda", verbose = FALSE)
  expect_identical(get_weights(a), get_weights(g))
})
