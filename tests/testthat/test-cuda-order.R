# On the CPU emulation of CUDA (tools/cuda-emu) only: the GPU code gives the same bits
# whether the blocks of every kernel, and the threads of every block between barriers,
# run in the default order or reversed (TSATTN_EMU_ORDER=reverse). A kernel whose
# result depends on that order (two threads writing one place, a read of what another
# block writes in the same launch) would be a race on a real GPU, where the order is
# not fixed; the emulation's two orders expose it.

order_script <- function(out) {
  sprintf('
library(tsattn)
set.seed(1)
nets <- list(
  mixed = sequential(layer_conv1d(8, 3), layer_positional_encoding(max_len = 20, dropout = 0.1),
    layer_layer_norm(), layer_dropout(0.1), layer_attention(score = "additive"),
    layer_multihead_attention(2, dropout = 0.2),
    layer_transformer_encoder(2, d_ff = 16, dropout = 0.1), layer_activation("tanh"),
    layer_gru(4, num_layers = 2, dropout = 0.2), layer_last_step(), layer_dense(1), input_dim = 3),
  local = sequential(layer_attention(score = "cosine", window = 2, causal = TRUE),
    layer_lstm(5, num_layers = 2, dropout = 0.3), layer_dense(2), input_dim = 3),
  s2s = seq2seq(layer_lstm(5), layer_lstm(5), attention = "general", horizon = 3, output_dim = 2,
    input_dim = 3),
  s2s_additive = seq2seq(layer_gru(5), layer_gru(5), attention = "additive", horizon = 3,
    output_dim = 2, attention_units = 4, input_dim = 3))
set.seed(2)
x <- array(rnorm(120 * 12 * 3), c(120, 12, 3))
len <- sample(1:12, 120, TRUE)
out <- list()
for (nm in names(nets)) {
  net <- nets[[nm]]
  shape <- dim(predict(net, x))
  y <- array(rnorm(prod(shape)), shape)
  out[[nm]] <- list(
    predict = predict(net, x, lengths = len, device = "cuda"),
    gradient = tsattn:::cuda_net_gradient(net, x, y, training = TRUE, seed = 3, lengths = len),
    fit = get_weights(fit(net, x, y, epochs = 2, batch_size = 64, seed = 4, device = "cuda",
                          verbose = FALSE)),
    attention = attention(net, x[1:5, , , drop = FALSE], device = "cuda"))
}
saveRDS(out, "%s")
', out)
}

test_that("the GPU code's results do not depend on the order of blocks and threads", {
  skip_if_not(tsattn:::cuda_emulated(), "only the CPU emulation of CUDA can change the order")
  run <- function(order) {
    script <- tempfile(fileext = ".R")
    out <- tempfile(fileext = ".rds")
    writeLines(order_script(out), script)
    libs <- paste(.libPaths(), collapse = .Platform$path.sep)
    status <- system2(file.path(R.home("bin"), "Rscript"), shQuote(script), stdout = FALSE,
                      stderr = FALSE, env = c(paste0("R_LIBS=", shQuote(libs)),
                                              paste0("TSATTN_EMU_ORDER=", order)))
    expect_identical(status, 0L)
    readRDS(out)
  }
  fwd <- run("default")
  rev <- run("reverse")
  expect_identical(names(rev), names(fwd))
  for (nm in names(fwd)) for (k in names(fwd[[nm]]))
    expect_identical(rev[[nm]][[k]], fwd[[nm]][[k]], label = paste(nm, k, "in reverse order"))
})
