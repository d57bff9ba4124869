# Random small networks on the GPU against the CPU: stacks of one to three layers of
# every kind, seq2seq and transformer blocks, with the edge sizes that the parity tests
# of the other test-cuda files do not reach (one sequence, one step, one feature,
# window 0, lengths of 1), padded or not. Forward, predict in chunks of 2, gradients of
# the weights and inputs, and attention weights must agree as in helper-cuda.R (the
# weight and input gradients with rtol 1e-3: a few of these tiny random networks have
# gradients that are differences of nearly equal terms). The draws come from a fixed
# seed, so the cases are the same on every run. Skipped without a CUDA device.

random_stack <- function() {
  pick <- function(v) v[[sample(length(v), 1L)]]
  makers <- list(
    function() layer_dense(sample(1:5, 1), activation = pick(c("linear", "tanh", "relu", "gelu", "sigmoid"))),
    function() layer_gru(sample(1:4, 1), num_layers = sample(1:2, 1)),
    function() layer_lstm(sample(1:4, 1), num_layers = sample(1:2, 1)),
    function() layer_conv1d(sample(1:4, 1), sample(1:3, 1), padding = pick(c("same", "causal"))),
    function() layer_layer_norm(),
    function() layer_positional_encoding(pick(c("sinusoidal", "learned")), max_len = 16),
    function() layer_attention(score = pick(c("dot", "scaled_dot", "additive", "cosine")),
                               window = pick(list(NULL, 0, 1, 3)), causal = pick(c(TRUE, FALSE))),
    function() layer_multihead_attention(1, causal = pick(c(TRUE, FALSE))),
    function() layer_activation(pick(c("tanh", "relu"))))
  layers <- lapply(sample(length(makers), sample(1:3, 1), TRUE), function(i) makers[[i]]())
  if (sample(c(TRUE, FALSE), 1)) layers <- c(layers, list(layer_last_step()))
  c(layers, list(layer_dense(sample(1:2, 1))))
}

random_block <- function(F) {
  pick <- function(v) v[[sample(length(v), 1L)]]
  if (sample(c(TRUE, FALSE), 1)) {
    mk <- if (sample(c(TRUE, FALSE), 1)) layer_gru else layer_lstm
    score <- pick(c("additive", "dot", "general"))
    return(seq2seq(mk(3), mk(3), attention = score, horizon = sample(1:3, 1),
                   output_dim = sample(1:min(2, F), 1),
                   attention_units = if (score == "additive") 2, input_dim = F))
  }
  sequential(layer_dense(pick(c(2, 4))),
             layer_transformer_encoder(pick(c(1, 2)), d_ff = 4, causal = pick(c(TRUE, FALSE)),
                                       norm_first = pick(c(TRUE, FALSE)),
                                       activation = pick(c("relu", "gelu"))),
             if (sample(c(TRUE, FALSE), 1)) layer_last_step() else layer_activation("tanh"),
             layer_dense(1), input_dim = F)
}

test_that("random small networks give the CPU's outputs, gradients and attention on the GPU", {
  skip_if_not(cuda_available(), "no CUDA device")
  set.seed(2026)
  n_cases <- 0L
  for (case in 1:140) {
    F <- sample(1:3, 1)
    net <- if (case <= 100) do.call(sequential, c(random_stack(), list(input_dim = F))) else random_block(F)
    B <- sample(c(1, 2, 5), 1)
    T <- sample(c(1, 2, 7), 1)
    x <- array(round(rnorm(B * T * F), 3), c(B, T, F))
    shape <- dim(predict(net, x))
    y <- array(round(rnorm(prod(shape)), 3), shape)
    len <- if (sample(c(TRUE, FALSE), 1)) sample(1:T, B, TRUE)
    training <- inherits(net, "tsattn_seq2seq") && sample(c(TRUE, FALSE), 1)
    what <- sprintf("case %d (%s; B %d, T %d, F %d%s)", case,
                    paste(vapply(net$layers, function(l) l$type, ""), collapse = ">"), B, T, F,
                    if (is.null(len)) "" else ", padded")
    cpu <- tsattn:::net_gradient(net, x, y, lengths = len, training = training)
    gpu <- tsattn:::cuda_net_gradient(net, x, y, lengths = len, training = training)
    expect_gpu_near(gpu$output, cpu$output, 1e-5, 1e-4, paste(what, "output"))
    expect_gpu_near(gpu$weights, cpu$weights, 2e-5, 1e-3, paste(what, "weight gradients"))
    expect_gpu_near(gpu$x, cpu$x, 2e-5, 1e-3, paste(what, "input gradients"))
    expect_gpu_near(predict(net, x, lengths = len, device = "cuda", batch_size = 2),
                    predict(net, x, lengths = len), 1e-5, 1e-4, paste(what, "predict"))
    expect_gpu_near(attention(net, x, lengths = len, device = "cuda"),
                    attention(net, x, lengths = len), 1e-6, 1e-4, paste(what, "attention"))
    n_cases <- n_cases + 1L
  }
  expect_identical(n_cases, 140L)
})
