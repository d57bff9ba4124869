# The attention layers on the GPU (src/ta_attn_cuda.cu, layer_attention_cuda.cu,
# ta_mha_cuda.cu, layer_multihead_attention_cuda.cu) against the CPU core: single-head attention with each score (dot,
# scaled_dot, additive, cosine), a local window, causal and padding masks, multi-head
# attention, and the transformer encoder block (post- and pre-norm, relu and gelu). Skipped without a usable CUDA device (the CPU emulation of
# tools/cuda-emu counts as one: it runs these code paths on the CPU).
#
# Tolerances: helper-cuda.R, whose parity checks these are. The
# row formulas (masks, softmax and its backward, the additive and cosine scores) are
# the CPU's own functions of ta_attn_math.h, so the two differ only in the order of the
# sums inside the products (cuBLAS against ta_gemm: a few float32 roundings of values
# of order 1) and in the cosine norms' sums. The softmax is a contraction with respect
# to its scores (|dP| <= |dS| / 2 per row) except for the cosine score's scale
# exp(log_scale) = 10, which multiplies the score error tenfold: still ~1e-6.

attn_gpu_nets <- function() {
  set.seed(21)
  nets <- list()
  for (sc in c("dot", "scaled_dot", "additive", "cosine"))
    nets[[sc]] <- sequential(layer_dense(6, activation = "tanh"),
                             layer_attention(units = 5, key_dim = 4, score = sc, bias = TRUE),
                             layer_dense(1), input_dim = 3)
  nets$window <- sequential(layer_attention(units = 4, score = "scaled_dot", window = 2),
                            layer_dense(2), input_dim = 3)
  nets$causal_additive <- sequential(layer_attention(units = 4, score = "additive", causal = TRUE),
                                     layer_dense(1), input_dim = 3)
  nets$causal_cosine_window <- sequential(layer_dense(5),
                                          layer_attention(score = "cosine", causal = TRUE, window = 3),
                                          layer_last_step(), layer_dense(1), input_dim = 3)
  nets$mha <- sequential(layer_dense(8), layer_multihead_attention(2), layer_dense(1),
                         input_dim = 3)
  nets$mha_causal_keydim <- sequential(layer_dense(8),
                                       layer_multihead_attention(4, key_dim = 3, causal = TRUE),
                                       layer_last_step(), layer_dense(2), input_dim = 3)
  nets$transformer <- sequential(layer_dense(8), layer_transformer_encoder(2, 16), layer_dense(1),
                                 input_dim = 3)
  nets$transformer_pre <- sequential(layer_dense(8),
                                     layer_transformer_encoder(4, 12, norm_first = TRUE,
                                                               activation = "gelu", causal = TRUE),
                                     layer_last_step(), layer_dense(1), input_dim = 3)
  nets
}

# inputs [6, 9, 3], targets shaped as the network's output, and valid lengths
# inputs [6, 9, 3], targets shaped as the network's output, and lengths for padding
attn_gpu_data <- function(net) {
  d <- gpu_case_data(net, B = 6L, T = 9L, seed = 22)
  d$len <- c(9L, 4L, 1L, 7L, 9L, 2L)
  d
}

# The key biases of dot-product scores get a zero gradient whatever the data (a bias on
# the keys adds q.b to every score of a row, which the softmax ignores), so their
# gradients are rounding noise on both devices, and Adam, which moves a weight by about
# lr * sign(g), turns different noise into different steps: they are left out of the
# optimizer comparisons (the gradient tests compare them: near zero on both). They do
# not change the loss, so the other weights are unaffected.
attn_optimized <- function(w) {
  for (nm in names(w)) {
    if (grepl("key\\.bias$", nm)) {
      w[[nm]] <- NULL
    } else if (grepl("in_proj_bias$", nm)) {
      E <- length(w[[sub("in_proj_bias$", "out_proj.bias", nm)]])
      HK <- (length(w[[nm]]) - E) / 2
      w[[nm]] <- w[[nm]][-(HK + seq_len(HK))]
    }
  }
  w
}

test_that("the attention layers have a GPU path", {
  skip_if_not(tsattn:::cuda_built(), "a CPU-only build has no GPU path to report on")
  for (nm in names(nets <- attn_gpu_nets())) expect_null(tsattn:::cuda_unsupported(nets[[nm]]), label = nm)
})

test_that("GPU attention forward outputs (with and without padding) match the CPU's", {
  skip_if_not(cuda_available(), "no CUDA device")
  for (nm in names(nets <- attn_gpu_nets())) {
    d <- attn_gpu_data(nets[[nm]])
    expect_gpu_forward(nets[[nm]], d$x, nm, chunk = 4)
    expect_gpu_forward(nets[[nm]], d$x, paste(nm, "padded"), chunk = 4, lengths = d$len)
  }
})

test_that("GPU attention weights match the CPU's (masked keys exactly zero)", {
  skip_if_not(cuda_available(), "no CUDA device")
  for (nm in names(nets <- attn_gpu_nets())) {
    d <- attn_gpu_data(nets[[nm]])
    cpu <- attention(nets[[nm]], d$x, lengths = d$len, device = "cpu")
    gpu <- attention(nets[[nm]], d$x, lengths = d$len, device = "cuda")
    expect_identical(lengths(gpu), lengths(cpu))
    expect_gpu_near(gpu, cpu, 1e-6, 1e-5, paste(nm, "weights"))
    # the masks are exact on both: the same entries are zero
    expect_identical(unlist(gpu) == 0, unlist(cpu) == 0, label = paste(nm, "zero pattern"))
  }
})

test_that("GPU attention gradients (weights and inputs) match the CPU's", {
  skip_if_not(cuda_available(), "no CUDA device")
  for (nm in names(nets <- attn_gpu_nets())) {
    d <- attn_gpu_data(nets[[nm]])
    expect_gpu_gradients(nets[[nm]], d$x, d$y, nm)
    expect_gpu_gradients(nets[[nm]], d$x, d$y, paste(nm, "padded"), lengths = d$len)
  }
})

test_that("one Adam step and a 20-step run of attention networks on the GPU match the CPU's", {
  skip_if_not(cuda_available(), "no CUDA device")
  for (nm in names(nets <- attn_gpu_nets())) {
    d <- attn_gpu_data(nets[[nm]])
    expect_gpu_adam_step(nets[[nm]], d$x, d$y, nm, weights_of = attn_optimized)
    expect_gpu_run(nets[[nm]], d$x, d$y, nm, batch_size = 3, weights_of = attn_optimized)
  }
})

# dropout: evaluation gives the CPU's values; training draws device masks (not the
# CPU's draws), the same for the same seed
dropout_checks <- function(net) {
  d <- attn_gpu_data(net)
  # evaluation: no dropout, the CPU's values
  expect_gpu_near(predict(net, d$x, device = "cuda"), predict(net, d$x), 1e-5, 1e-4, "eval")
  # training: a device mask (not the CPU's draws), the same for the same seed
  g1 <- tsattn:::cuda_net_gradient(net, d$x, d$y, training = TRUE, seed = 4)
  g2 <- tsattn:::cuda_net_gradient(net, d$x, d$y, training = TRUE, seed = 4)
  expect_identical(g1, g2)
  g0 <- tsattn:::cuda_net_gradient(net, d$x, d$y, training = FALSE)
  expect_false(identical(g1$output, g0$output))
  run <- function() fit(net, d$x, d$y, epochs = 3, batch_size = 3, seed = 6, device = "cuda",
                        verbose = FALSE)
  a <- run()
  expect_true(all(is.finite(a$history$loss)))
  expect_identical(get_weights(run()), get_weights(a))
}

test_that("dropout (attention weights, transformer) trains on the GPU and repeats exactly", {
  skip_if_not(cuda_available(), "no CUDA device")
  set.seed(23)
  nets <- list(
    mha = sequential(layer_dense(8), layer_multihead_attention(2, dropout = 0.3), layer_dense(1),
                     input_dim = 3),
    post = sequential(layer_dense(8), layer_transformer_encoder(2, 16, dropout = 0.2),
                      layer_dense(1), input_dim = 3),
    pre = sequential(layer_dense(8), layer_transformer_encoder(2, 16, dropout = 0.2,
                                                               norm_first = TRUE),
                     layer_dense(1), input_dim = 3))
  for (net in nets) dropout_checks(net)
})
