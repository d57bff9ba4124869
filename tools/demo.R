# make demo: forecast a real series with its attention, and a GRU learning a sine.
# Writes PNGs to demo-output/:
#   airpassengers-forecast.png   the default tsattn() model's forecast of AirPassengers
#   airpassengers-attention.png  its attention heatmap (query time x key time, per head)
#   airpassengers-attention-series.png  which past months the next forecast looked at
#   airpassengers-loss.png       training and validation loss
#   sine-prediction.png, sine-loss.png  the 2-layer GRU(4) on a 5 Hz sine
#   collection-forecast.png      one global model's forecasts of a collection, a few keys
suppressPackageStartupMessages({
  library(tsattn)
  library(ggplot2)
  library(forecast)
})
out_dir <- "demo-output"
dir.create(out_dir, showWarnings = FALSE)
save <- function(p, name, w = 7, h = 4) {
  ggsave(file.path(out_dir, name), p, width = w, height = h, dpi = 100)
  cat("wrote", file.path(out_dir, name), "\n")
}

# 1. forecasting a real series
t0 <- proc.time()[["elapsed"]]
fit <- tsattn(AirPassengers, seed = 1, verbose = FALSE)
fc <- forecast(fit, h = 24, seed = 1)
cat(sprintf("tsattn(AirPassengers) fitted and forecast in %.1f s\n", proc.time()[["elapsed"]] - t0))
print(fit)
print(fc)
save(autoplot(fc), "airpassengers-forecast.png")
save(autoplot(attention(fc)), "airpassengers-attention.png", w = 9, h = 8)
save(autoplot(fit, type = "series"), "airpassengers-attention-series.png")
save(autoplot(fit, type = "loss"), "airpassengers-loss.png")

# 1b. a collection of series: one global model, the forecasts of a few keys
series <- list(male = mdeaths, female = fdeaths, all = ldeaths,
               air = window(AirPassengers, end = c(1955, 12)))
t0 <- proc.time()[["elapsed"]]
gfit <- tsattn(series, seed = 1)
gfc <- forecast(gfit, h = 24, seed = 1)
cat(sprintf("tsattn(<4 series>) global model fitted and forecast in %.1f s\n",
            proc.time()[["elapsed"]] - t0))
print(gfit)
save(autoplot(gfc, keys = c("female", "all", "air")), "collection-forecast.png", h = 6)

# 2. a 2-layer GRU(4) learns a 5 Hz sine one step ahead
s <- sin(seq(0, 2 * pi * 5, length.out = 201))
x <- array(s[1:200], c(1, 200, 1))
y <- array(s[2:201], c(1, 200, 1))
net <- sequential(layer_gru(4, num_layers = 2), layer_dense(1, activation = "tanh"))
t0 <- proc.time()[["elapsed"]]
net <- fit(net, x, y, epochs = 300, batch_size = 1, optimizer = optimizer_adam(lr = 0.01),
           seed = 1, verbose = FALSE)
secs <- proc.time()[["elapsed"]] - t0
pred <- predict(net, x)
mse <- mean((pred - y)^2)
cat(sprintf("sine GRU: trained in %.2f s; MSE of the one-step prediction: %.5f\n", secs, mse))
df <- data.frame(t = rep(1:200, 2), value = c(y, pred),
                 series = rep(c("target s[t+1]", "prediction"), each = 200))
p1 <- ggplot(df, aes(t, value, colour = series, linetype = series)) +
  geom_line(linewidth = 0.7) +
  scale_colour_manual(values = c("prediction" = "#d95f02", "target s[t+1]" = "grey30")) +
  labs(title = "2-layer GRU(4) predicting a 5 Hz sine one step ahead",
       subtitle = sprintf("300 Adam iterations (lr 0.01), MSE %.5f", mse),
       x = "time step", y = NULL, colour = NULL, linetype = NULL) +
  theme_minimal() + theme(legend.position = "bottom")
save(p1, "sine-prediction.png", h = 3.5)
p2 <- ggplot(net$history, aes(epoch, loss)) +
  geom_line(colour = "#1b9e77", linewidth = 0.8) +
  scale_y_log10() +
  labs(title = "Training loss (MSE)", x = "iteration", y = "loss (log scale)") +
  theme_minimal()
save(p2, "sine-loss.png", h = 3.5)
