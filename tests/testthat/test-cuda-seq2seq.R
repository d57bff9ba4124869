# The seq2seq layer on the GPU (src/layer_seq2seq_cuda.cu) against the CPU core, for
# GRU and LSTM cells and each attention score: forward outputs and attention weights
# (greedy decoding, with and without padding), gradients in evaluation mode (greedy,
# differentiated through the fed-back outputs) and in training mode (teacher forcing),
# one Adam step and a short fit. Skipped without a CUDA device.
#
# Tolerances: helper-cuda.R, whose parity checks these are. The element-wise and
# per-row math is the CPU's (ta_rnn_math.h, ta_attn_math.h), so the two differ by the
# order in which cuBLAS sums its products and by the cells' bias sums ((x W + b_ih) +
# (h W + b_hh) on the CPU, b_ih + b_hh first on the GPU: one rounding of values of
# order 1). Sums here have at most B*T*4H = 840 terms (the weight gradients) and the
# decoder feeds its outputs back for 3 steps (each a contraction through tanh/sigmoid,
# the output layer of norm < 1), so the errors stay near 1e-6 of the values' scale.

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

test_that("seq2seq networks have a GPU path", {
  for (net in s2s_gpu_nets()) expect_null(tsattn:::cuda_unsupported(net))
})

test_that("GPU seq2seq forward outputs and attention weights match the CPU's", {
  skip_if_not(cuda_available(), "no CUDA device")
  d <- s2s_gpu_data()
  for (nm in names(nets <- s2s_gpu_nets())) {
    net <- nets[[nm]]
    expect_gpu_forward(net, d$x, nm, chunk = 3)
    expect_gpu_forward(net, d$x, paste(nm, "padded"), chunk = 3, lengths = d$len)
    a_cpu <- attention(net, d$x, device = "cpu")
    a_gpu <- attention(net, d$x, device = "cuda")
    expect_gpu_near(a_gpu, a_cpu, 1e-6, 1e-4, paste(nm, "attention weights"))
  }
})

test_that("GPU seq2seq gradients match the CPU's, greedy and teacher-forced", {
  skip_if_not(cuda_available(), "no CUDA device")
  d <- s2s_gpu_data()
  for (nm in names(nets <- s2s_gpu_nets())) {
    for (training in c(FALSE, TRUE)) for (len in list(NULL, d$len)) {
      label <- paste(nm, if (training) "teacher forcing" else "greedy",
                     if (is.null(len)) "" else "padded")
      expect_gpu_gradients(nets[[nm]], d$x, d$y, label, training = training, lengths = len)
    }
  }
})

test_that("one Adam step and a short fit of seq2seq on the GPU match the CPU's", {
  skip_if_not(cuda_available(), "no CUDA device")
  d <- s2s_gpu_data()
  for (nm in names(nets <- s2s_gpu_nets())) {
    expect_gpu_adam_step(nets[[nm]], d$x, d$y, nm)
    # 5 epochs of 2 shuffled batches, teacher forcing, padded sequences
    expect_gpu_run(nets[[nm]], d$x, d$y, nm, batch_size = 4, epochs = 5, lengths = d$len)
  }
})

test_that("seq2seq forecasts on the GPU match the CPU's (regressors, lookback < horizon)", {
  skip_if_not(cuda_available(), "no CUDA device")
  n <- length(ldeaths)
  xr <- function(i) cbind(a = sin(i / 3), b = i %% 12)
  fit <- tsattn(ldeaths, model = "seq2seq", horizon = 4, lookback = 3, epochs = 3, seed = 1,
                xreg = xr(seq_len(n)), verbose = FALSE)
  # 10 steps: passes of 4, 4 and 2; the residual draws are R's on either device, so the
  # paths differ by the network's float32 rounding only
  xf <- tsattn:::future_xreg(fit, xr(n + 1:10), 10)
  w <- tsattn:::last_window(fit, xf)
  run <- function(device) {
    set.seed(3)
    tsattn:::seq2seq_paths(fit, w, 10L, 50L, xf, tsattn:::check_device(device, fit$network))
  }
  g <- run("cuda")
  c <- run("cpu")
  expect_gpu_near(g$mean, c$mean, 1e-5, 1e-4, "seq2seq forecast mean")
  expect_gpu_near(g$paths, c$paths, 1e-5, 1e-4, "seq2seq forecast paths")
  fg <- forecast::forecast(fit, h = 10, xreg = xr(n + 1:10), npaths = 50, seed = 2, device = "cuda")
  fc <- forecast::forecast(fit, h = 10, xreg = xr(n + 1:10), npaths = 50, seed = 2)
  expect_lt(max(abs(fg$mean - fc$mean)), 1e-4 * max(abs(fc$mean)))
})
