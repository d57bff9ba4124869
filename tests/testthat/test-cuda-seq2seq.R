# The seq2seq layer on the GPU (src/layer_seq2seq_cuda.cu) against the CPU core, for
# GRU and LSTM cells and each attention score: forward outputs and attention weights
# (greedy decoding, with and without padding), gradients in evaluation mode (greedy,
# differentiated through the fed-back outputs) and in training mode (teacher forcing),
# one Adam step and a short fit. Skipped without a CUDA device.
#
# Tolerances, |gpu - cpu| <= atol + rtol * |cpu|, as test-cuda-train.R argues: the
# element-wise and per-row math is the CPU's (ta_rnn_math.h, ta_s2s_math.h, nvcc
# -fmad=false), so the two differ by the order in which cuBLAS sums its products and
# by the cells' bias sums ((x W + b_ih) + (h W + b_hh) on the CPU, b_ih + b_hh first on
# the GPU: one rounding of values of order 1). Sums here have at most B*T*4H = 840
# terms (the weight gradients) and the decoder feeds its outputs back for 3 steps
# (each a contraction through tanh/sigmoid, the output layer of norm < 1), so the
# errors stay near 1e-6 of the values' scale: outputs 1e-5 + 1e-4 |cpu|, gradients
# 2e-5 + 1e-4 |cpu|, one Adam step 1e-5, a 10-step fit 5e-4 + 1e-3 |cpu|.

s2s_gpu_nets <- function() {
  nets <- list()
  for (cell in c("gru", "lstm")) for (score in c("additive", "dot", "general")) {
    set.seed(21)
    mk <- function(u) if (cell == "gru") layer_gru(u) else layer_lstm(u)
    nets[[paste(cell, score)]] <- seq2seq(mk(5), mk(5), attention = score, horizon = 3,
                                          output_dim = 2,
                                          attention_units = if (score == "additive") 6,
                                          input_dim = 3)
  }
  nets
}

s2s_gpu_data <- function(B = 7L, T = 6L) {
  set.seed(22)
  list(x = array(round(rnorm(B * T * 3), 3), c(B, T, 3)),
       y = array(round(rnorm(B * 3 * 2) * 0.5, 3), c(B, 3, 2)),
       len = c(6L, 2L, 4L, 1L, 6L, 3L, 5L))
}

s2s_near <- function(gpu, cpu, atol, rtol, what) {
  gpu <- unlist(gpu)
  cpu <- unlist(cpu)
  expect_identical(length(gpu), length(cpu))
  bad <- abs(gpu - cpu) > atol + rtol * abs(cpu)
  expect_true(!any(bad), label = sprintf("%s: %d of %d values beyond atol %g + rtol %g (max diff %g)",
                                         what, sum(bad), length(cpu), atol, rtol,
                                         max(abs(gpu - cpu))))
}

test_that("seq2seq networks have a GPU path", {
  for (net in s2s_gpu_nets()) expect_null(tsattn:::cuda_unsupported(net))
})

test_that("GPU seq2seq forward outputs and attention weights match the CPU's", {
  skip_if_not(cuda_available(), "no CUDA device")
  d <- s2s_gpu_data()
  for (nm in names(nets <- s2s_gpu_nets())) {
    net <- nets[[nm]]
    for (len in list(NULL, d$len)) {
      what <- paste(nm, if (is.null(len)) "" else "padded")
      cpu <- predict(net, d$x, lengths = len, device = "cpu")
      gpu <- predict(net, d$x, lengths = len, device = "cuda")
      expect_identical(dim(gpu), dim(cpu))
      s2s_near(gpu, cpu, 1e-5, 1e-4, paste(what, "outputs"))
      expect_identical(predict(net, d$x, lengths = len, device = "cuda", batch_size = 3), gpu)
    }
    a_cpu <- attention(net, d$x, device = "cpu")
    a_gpu <- attention(net, d$x, device = "cuda")
    s2s_near(a_gpu, a_cpu, 1e-6, 1e-4, paste(nm, "attention weights"))
  }
})

test_that("GPU seq2seq gradients match the CPU's, greedy and teacher-forced", {
  skip_if_not(cuda_available(), "no CUDA device")
  d <- s2s_gpu_data()
  for (nm in names(nets <- s2s_gpu_nets())) {
    for (training in c(FALSE, TRUE)) for (len in list(NULL, d$len)) {
      cpu <- tsattn:::net_gradient(nets[[nm]], d$x, d$y, training = training, lengths = len)
      gpu <- tsattn:::cuda_net_gradient(nets[[nm]], d$x, d$y, training = training, lengths = len)
      label <- paste(nm, if (training) "teacher forcing" else "greedy",
                     if (is.null(len)) "" else "padded")
      s2s_near(gpu$loss, cpu$loss, 1e-6, 1e-5, paste(label, "loss"))
      s2s_near(gpu$output, cpu$output, 1e-5, 1e-4, paste(label, "output"))
      expect_identical(names(gpu$weights), names(cpu$weights))
      s2s_near(gpu$weights, cpu$weights, 2e-5, 1e-4, paste(label, "weight gradients"))
      s2s_near(gpu$x, cpu$x, 2e-5, 1e-4, paste(label, "input gradients"))
    }
  }
})

test_that("one Adam step and a short fit of seq2seq on the GPU match the CPU's", {
  skip_if_not(cuda_available(), "no CUDA device")
  d <- s2s_gpu_data()
  for (nm in names(nets <- s2s_gpu_nets())) {
    step <- function(device) fit(nets[[nm]], d$x, d$y, epochs = 1, batch_size = 7, shuffle = FALSE,
                                 optimizer = optimizer_adam(lr = 0.01), seed = 3,
                                 device = device, verbose = FALSE)
    cpu <- step("cpu")
    gpu <- step("cuda")
    s2s_near(gpu$history$loss, cpu$history$loss, 0, 1e-5, paste(nm, "Adam step loss"))
    s2s_near(get_weights(gpu), get_weights(cpu), 1e-5, 1e-5, paste(nm, "Adam step weights"))
    # 5 epochs of 2 shuffled batches, teacher forcing, padded sequences
    run <- function(device) fit(nets[[nm]], d$x, d$y, lengths = d$len, epochs = 5, batch_size = 4,
                                optimizer = optimizer_adam(lr = 0.01), seed = 5,
                                device = device, verbose = FALSE)
    cpu <- run("cpu")
    gpu <- run("cuda")
    s2s_near(gpu$history$loss, cpu$history$loss, 0, 1e-4, paste(nm, "fit loss history"))
    s2s_near(get_weights(gpu), get_weights(cpu), 5e-4, 1e-3, paste(nm, "fit weights"))
    expect_identical(get_weights(run("cuda")), get_weights(gpu))
  }
})
