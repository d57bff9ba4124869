# make demo: the first seed's task. A 2-layer GRU(4) learns a 5 Hz sine one step ahead
# (Adam, lr 0.01, 300 full-batch iterations), then two PNGs are written to demo-output/:
# the prediction against the target, and the training loss.
suppressPackageStartupMessages({
  library(tsattn)
  library(ggplot2)
})
out_dir <- "demo-output"
dir.create(out_dir, showWarnings = FALSE)

s <- sin(seq(0, 2 * pi * 5, length.out = 201))
x <- array(s[1:200], c(1, 200, 1))
y <- array(s[2:201], c(1, 200, 1))
net <- sequential(layer_gru(4, num_layers = 2), layer_dense(1, activation = "tanh"))
t0 <- proc.time()[["elapsed"]]
net <- fit(net, x, y, epochs = 300, batch_size = 1, optimizer = optimizer_adam(lr = 0.01),
           seed = 1, verbose = TRUE)
secs <- proc.time()[["elapsed"]] - t0
print(net)
pred <- predict(net, x)
mse <- mean((pred - y)^2)
cat(sprintf("trained in %.2f s; MSE of the one-step prediction: %.5f\n", secs, mse))

df <- data.frame(t = rep(1:200, 2), value = c(y, pred),
                 series = rep(c("target s[t+1]", "prediction"), each = 200))
p1 <- ggplot(df, aes(t, value, colour = series, linetype = series)) +
  geom_line(linewidth = 0.7) +
  scale_colour_manual(values = c("prediction" = "#d95f02", "target s[t+1]" = "grey30")) +
  labs(title = "2-layer GRU(4) predicting a 5 Hz sine one step ahead",
       subtitle = sprintf("300 Adam iterations (lr 0.01), MSE %.5f", mse),
       x = "time step", y = NULL, colour = NULL, linetype = NULL) +
  theme_minimal() + theme(legend.position = "bottom")
ggsave(file.path(out_dir, "sine-prediction.png"), p1, width = 7, height = 3.5, dpi = 100)

p2 <- ggplot(net$history, aes(epoch, loss)) +
  geom_line(colour = "#1b9e77", linewidth = 0.8) +
  scale_y_log10() +
  labs(title = "Training loss (MSE)", x = "iteration", y = "loss (log scale)") +
  theme_minimal()
ggsave(file.path(out_dir, "sine-loss.png"), p2, width = 7, height = 3.5, dpi = 100)
cat("wrote", file.path(out_dir, c("sine-prediction.png", "sine-loss.png")), sep = "\n  ")
