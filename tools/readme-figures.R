# Figures of the README (run by hand: Rscript tools/readme-figures.R, from the repo root).
library(tsattn)
library(ggplot2)
dir.create("man/figures", showWarnings = FALSE)
ggsave("man/figures/positional-encoding.png", plot_positional_encoding(60, 32),
       width = 4, height = 4.5, dpi = 90)

# the sine solved by attention; its causal attention, head by head
s <- sin(seq(0, 2 * pi * 5, length.out = 201))
x <- array(s[1:200], c(1, 200, 1))
y <- array(s[2:201], c(1, 200, 1))
net <- sequential(layer_dense(16), layer_positional_encoding(),
                  layer_multihead_attention(heads = 4, causal = TRUE),
                  layer_dense(1, activation = "tanh"))
net <- fit(net, x, y, epochs = 300, batch_size = 1, optimizer = optimizer_adam(lr = 0.01), seed = 1)
a <- attention(net, x)[[1]]
p <- plot_attention(a[1, 1:60, 1:60, ], title = "Causal multi-head attention on the sine (first 60 steps)")
ggsave("man/figures/sine-attention.png", p, width = 7, height = 6, dpi = 80)
cat(sprintf("MSE %.5f\n", mean((predict(net, x) - y)^2)))
