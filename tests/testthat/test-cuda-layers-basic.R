# The GPU paths of layer_norm, positional_encoding, dropout and conv1d
# (src/layer_layer_norm_cuda.cu, layer_positional_encoding_cuda.cu, layer_dropout_cuda.cu,
# layer_conv1d_cuda.cu) against the CPU core. The GPU comparisons need a device and are
# skipped without one (they run against tools/cuda-emu's emulation too); the check that
# the C core gives these layers a GPU path runs on any CUDA build.
#
# Tolerances: helper-cuda.R, whose parity checks these are. The per-row and
# per-element formulas are the CPU's own functions (ta_norm_math.h, ta_posenc.h,
# ta_conv.h, ta_math.h), and layer norm's row sums run in the CPU's order, so the two
# differ only where cuBLAS sums (the dense and convolution products, the column sums of
# gamma's, beta's and the biases' gradients) and in the device's double-precision
# sin/cos/pow of the sinusoidal table (within an ulp of the float value). Layer norm
# divides by the row's standard deviation, which can amplify a product's rounding by
# 1/sd; the inputs here keep sd near 1.
# Dropout masks on the GPU are draws of the counter-based hash (ta_dropout_keep), not of
# the CPU's sequential generator, so training-mode runs with dropout are checked for
# what a mask must satisfy and for exact repetition, not against the CPU.

# `rate`: the dropout of the layers that have one (0 for the training runs compared
# with the CPU, whose masks are other draws)
basic_gpu_nets <- function(rate = 0.2) {
  set.seed(21)
  list(
    layer_norm = sequential(layer_dense(6, activation = "tanh"), layer_layer_norm(),
                            layer_dense(2), input_dim = 3),
    layer_norm_first = sequential(layer_layer_norm(eps = 1e-3), layer_gru(4), layer_dense(1),
                                  input_dim = 3),
    posenc = sequential(layer_dense(5), layer_positional_encoding(max_len = 16, dropout = rate),
                        layer_dense(1), input_dim = 3),
    posenc_learned = sequential(layer_positional_encoding("learned", max_len = 12, dropout = rate / 2),
                                layer_dense(2, activation = "tanh"), input_dim = 3),
    posenc_odd = sequential(layer_positional_encoding(max_len = 100), layer_lstm(3),
                            layer_dense(1), input_dim = 3),
    # outside training, dropout is the identity on both
    dropout = sequential(layer_dense(6, activation = "relu"), layer_dropout(rate), layer_dense(1),
                         input_dim = 3),
    conv_same = sequential(layer_conv1d(4, 3, activation = "relu"), layer_dense(1), input_dim = 3),
    conv_same_even = sequential(layer_conv1d(3, 4, bias = FALSE), layer_dense(2), input_dim = 3),
    conv_causal = sequential(layer_conv1d(5, 3, padding = "causal", activation = "gelu"),
                             layer_conv1d(2, 2, padding = "causal", activation = "tanh"),
                             input_dim = 3),
    conv_valid = sequential(layer_conv1d(4, 5, padding = "valid", activation = "sigmoid"),
                            layer_last_step(), layer_dense(1), input_dim = 3),
    conv_k1 = sequential(layer_conv1d(2, 1, padding = "valid"), input_dim = 3),
    mixed = sequential(layer_conv1d(8, 3, padding = "causal", activation = "relu"),
                       layer_positional_encoding(max_len = 12), layer_layer_norm(),
                       layer_dropout(rate / 2), layer_gru(4, return_sequences = FALSE),
                       layer_dense(1), input_dim = 3)
  )
}

# inputs [8, 12, 3] and targets shaped as the network's output
basic_gpu_data <- function(net) gpu_case_data(net, B = 8L, T = 12L, seed = 22)

# predict on the GPU through the .Call entry itself (no device check in R first)
raw_gpu_predict <- function(net, x) {
  s <- tsattn:::network_spec(net)
  w <- tsattn:::flatten_weights(net$weights, tsattn:::check_network(net))
  .Call(tsattn:::C_net_predict, s, net$input_dim, w, tsattn:::to_core(x),
        dim(x), NULL, 4L, 0L)
}

# ---- on any machine ------------------------------------------------------------------

test_that("cuda_unsupported() names none of layer_norm, positional_encoding, dropout, conv1d", {
  for (net in basic_gpu_nets()) expect_null(tsattn:::cuda_unsupported(net))
  # the one-layer networks of the dropout tests below
  expect_null(tsattn:::cuda_unsupported(sequential(layer_dropout(0.5), input_dim = 3)))
  expect_null(tsattn:::cuda_unsupported(
    sequential(layer_positional_encoding("learned", max_len = 12, dropout = 0.25), input_dim = 3)))
})

# ---- on any CUDA build ---------------------------------------------------------------

test_that("the C core has a GPU path for layer_norm, positional_encoding, dropout and conv1d", {
  skip_if_not(tsattn:::cuda_built(), "a build without CUDA")
  for (nm in names(nets <- basic_gpu_nets())) {
    d <- basic_gpu_data(nets[[nm]])
    if (cuda_available()) {
      expect_identical(length(raw_gpu_predict(nets[[nm]], d$x)[[1L]]), length(d$y))
    } else {
      # the network is accepted; what fails is selecting a device
      err <- tryCatch(raw_gpu_predict(nets[[nm]], d$x), error = conditionMessage)
      expect_no_match(err, "has no GPU implementation", label = nm)
      expect_match(err, "cuda[A-Za-z]+: ", label = nm)
    }
  }
})

# ---- on a GPU ------------------------------------------------------------------------

test_that("GPU forward outputs of layer_norm/posenc/dropout/conv1d networks match the CPU's", {
  skip_if_not(cuda_available(), "no CUDA device")
  for (nm in names(nets <- basic_gpu_nets())) {
    d <- basic_gpu_data(nets[[nm]])
    expect_gpu_forward(nets[[nm]], d$x, nm, chunk = 3)
  }
})

test_that("GPU gradients of layer_norm/posenc/dropout/conv1d networks match the CPU's", {
  skip_if_not(cuda_available(), "no CUDA device")
  for (nm in names(nets <- basic_gpu_nets())) {
    d <- basic_gpu_data(nets[[nm]])
    for (loss in c("mse", "mae")) expect_gpu_gradients(nets[[nm]], d$x, d$y, paste(nm, loss), loss = loss)
  }
})

test_that("one Adam step and a 20-step run on the GPU match the CPU's (dropout rates 0)", {
  skip_if_not(cuda_available(), "no CUDA device")
  for (nm in names(nets <- basic_gpu_nets(rate = 0))) {
    d <- basic_gpu_data(nets[[nm]])
    expect_gpu_adam_step(nets[[nm]], d$x, d$y, nm)
    expect_gpu_run(nets[[nm]], d$x, d$y, nm, batch_size = 4)
  }
})

test_that("GPU dropout in training draws a valid mask, repeats per seed and backpropagates through it", {
  skip_if_not(cuda_available(), "no CUDA device")
  rate <- 0.5
  net <- sequential(layer_dropout(rate), input_dim = 3)
  d <- basic_gpu_data(net)
  g <- tsattn:::cuda_net_gradient(net, d$x, d$y, training = TRUE, seed = 1)
  kept <- g$output != 0
  # each value is dropped (0) or kept and scaled by 1 / (1 - rate)
  expect_gpu_near(g$output[kept], d$x[kept] / (1 - rate), 1e-7, 1e-6, "kept values")
  expect_gt(mean(kept), 0.35)
  expect_lt(mean(kept), 0.65)
  # dL/dx = dL/dout * mask: zero exactly where the value was dropped
  expect_true(all(g$x[!kept] == 0))
  dout <- 2 * (g$output - d$y) / length(d$y)
  expect_gpu_near(g$x, dout * kept / (1 - rate), 1e-7, 1e-5, "input gradient")
  # a seed repeats the mask; another seed draws another
  expect_identical(tsattn:::cuda_net_gradient(net, d$x, d$y, training = TRUE, seed = 1), g)
  expect_false(identical(tsattn:::cuda_net_gradient(net, d$x, d$y, training = TRUE, seed = 2)$output,
                         g$output))
})

test_that("GPU positional encoding's dropout scales the encoded values it keeps", {
  skip_if_not(cuda_available(), "no CUDA device")
  for (type in c("sinusoidal", "learned")) {
    rate <- 0.25
    set.seed(23)
    net <- sequential(layer_positional_encoding(type, max_len = 12, dropout = rate), input_dim = 3)
    d <- basic_gpu_data(net)
    encoded <- predict(net, d$x) # x + P, no dropout outside training
    g <- tsattn:::cuda_net_gradient(net, d$x, d$y, training = TRUE, seed = 3)
    kept <- g$output != 0
    expect_gpu_near(g$output[kept], encoded[kept] / (1 - rate), 1e-6, 1e-5, paste(type, "kept values"))
    expect_gt(mean(kept), 0.6)
    expect_lt(mean(kept), 0.9)
    expect_true(all(g$x[!kept] == 0))
    if (type == "learned") {
      # the table's gradient sums the masked output gradients over the batch
      dout <- 2 * (g$output - d$y) / length(d$y) * kept / (1 - rate)
      expect_gpu_near(g$weights[[1]], apply(dout, c(2, 3), sum), 1e-7, 1e-4, "learned table gradient")
    }
    expect_identical(tsattn:::cuda_net_gradient(net, d$x, d$y, training = TRUE, seed = 3), g)
  }
})

test_that("GPU training with dropout layers repeats exactly for a seed", {
  skip_if_not(cuda_available(), "no CUDA device")
  nets <- basic_gpu_nets()
  for (nm in c("posenc", "dropout", "mixed")) {
    d <- basic_gpu_data(nets[[nm]])
    run <- function() fit(nets[[nm]], d$x, d$y, epochs = 4, batch_size = 3,
                          optimizer = optimizer_adam(lr = 0.01), seed = 8, device = "cuda",
                          verbose = FALSE)
    a <- run()
    b <- run()
    expect_identical(get_weights(a), get_weights(b))
    expect_identical(a$history, b$history)
    expect_true(all(is.finite(a$history$loss)))
  }
})
