# The fourth seed at a larger size than CI affords: five conv1d layers (kernel 5, 64
# channels, relu) against the same with the middle conv replaced by
# layer_attention(units = 64, key_dim = 96, score = "dot") + relu; Adam 1e-3, batch 128.
# Usage: Rscript bench/toy_attention.R [n_train] [epochs]   (defaults 5000, 20)
library(tsattn)
args <- as.integer(commandArgs(trailingOnly = TRUE))
n <- if (length(args) >= 1) args[1] else 5000L
epochs <- if (length(args) >= 2) args[2] else 20L
set.seed(42)
train <- toy_shapes(n)
test <- toy_shapes(1000)
m <- mean(c(train$x, train$y)); s <- sd(c(train$x, train$y))
z <- function(a) (a - m) / s
conv <- function() layer_conv1d(64, 5, activation = "relu")
nets <- list(
  cnn = sequential(conv(), conv(), conv(), conv(), layer_conv1d(1, 5)),
  cnn_attention = sequential(conv(), conv(),
                             layer_attention(units = 64, key_dim = 96, score = "dot"),
                             layer_activation("relu"), conv(), layer_conv1d(1, 5))
)
cat(sprintf("toy task: %d training and 1000 test sequences of length 100, %d epochs, %s\n",
            n, epochs, R.version.string))
for (nm in names(nets)) {
  t0 <- proc.time()[["elapsed"]]
  f <- fit(nets[[nm]], z(train$x), z(train$y), epochs = epochs, batch_size = 128,
           optimizer = optimizer_adam(1e-3), seed = 1, verbose = FALSE)
  secs <- proc.time()[["elapsed"]] - t0
  mse <- mean((predict(f, z(test$x)) - z(test$y))^2)
  cat(sprintf("%-14s params %6d  train %.1f s  final train loss %.4f  test MSE %.4f\n", nm,
              sum(lengths(get_weights(f))), secs, f$history$loss[epochs], mse))
  saveRDS(f, file.path(tempdir(), paste0(nm, ".rds")))
}
