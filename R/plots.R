# Heatmaps with ggplot2 (a suggested package: loaded only when a plot is asked for).

need_ggplot2 <- function(call = sys.call(-1L)) {
  if (!requireNamespace("ggplot2", quietly = TRUE))
    stop(simpleError("this plot needs the ggplot2 package: install.packages(\"ggplot2\")", call))
}

#' Heatmap of the sinusoidal positional encoding
#'
#' The matrix of [positional_encoding()] as a heatmap, position down the rows and
#' encoding dimension across (as d2l's
#' `show_heatmaps(P, xlabel = "Encoding dimension", ylabel = "Position")`).
#'
#' @param length Number of positions.
#' @param d_model Width of the encoding.
#' @return A ggplot object.
#' @examples
#' if (requireNamespace("ggplot2", quietly = TRUE)) plot_positional_encoding(60, 32)
#' @export
plot_positional_encoding <- function(length = 60, d_model = 32) {
  need_ggplot2()
  P <- positional_encoding(length, d_model)
  df <- data.frame(position = rep(seq_len(nrow(P)) - 1L, ncol(P)),
                   dimension = rep(seq_len(ncol(P)) - 1L, each = nrow(P)),
                   value = as.vector(P))
  ggplot2::ggplot(df, ggplot2::aes(x = .data$dimension, y = .data$position, fill = .data$value)) +
    ggplot2::geom_raster() +
    ggplot2::scale_y_reverse(expand = c(0, 0)) +
    ggplot2::scale_x_continuous(expand = c(0, 0)) +
    ggplot2::scale_fill_distiller(palette = "Blues", direction = 1, limits = c(-1, 1)) +
    ggplot2::labs(x = "Encoding dimension", y = "Position", fill = NULL,
                  title = "Positional encoding") +
    ggplot2::theme_minimal()
}

#' Heatmap of attention weights
#'
#' One attention matrix (query down the rows, key across), or several as facets: an
#' array `[query, key]`, `[query, key, head]`, or one sequence of what [attention()]
#' returns.
#'
#' @param weights A matrix `[query, key]` or an array `[query, key, head]`.
#' @param title Plot title.
#' @return A ggplot object.
#' @examples
#' if (requireNamespace("ggplot2", quietly = TRUE)) {
#'   net <- sequential(layer_dense(8), layer_multihead_attention(heads = 2, causal = TRUE),
#'                     input_dim = 1)
#'   a <- attention(net, array(sin(1:20), c(1, 20, 1)))[[1]]
#'   plot_attention(a[1, , , ])
#' }
#' @export
plot_attention <- function(weights, title = "Attention weights") {
  need_ggplot2()
  if (!is.numeric(weights) || !length(dim(weights)) %in% 2:3)
    stop_arg("weights", "a matrix [query, key] or an array [query, key, head]", describe(weights))
  d <- dim(weights)
  if (length(d) == 2L) d <- c(d, 1L)
  df <- data.frame(query = rep(seq_len(d[1L]), d[2L] * d[3L]),
                   key = rep(rep(seq_len(d[2L]), each = d[1L]), d[3L]),
                   head = factor(rep(seq_len(d[3L]), each = d[1L] * d[2L])),
                   weight = as.vector(weights))
  p <- ggplot2::ggplot(df, ggplot2::aes(x = .data$key, y = .data$query, fill = .data$weight)) +
    ggplot2::geom_raster() +
    ggplot2::scale_y_reverse(expand = c(0, 0)) +
    ggplot2::scale_x_continuous(expand = c(0, 0)) +
    ggplot2::scale_fill_distiller(palette = "Blues", direction = 1) +
    ggplot2::labs(x = "key", y = "query", fill = "weight", title = title) +
    ggplot2::theme_minimal()
  if (d[3L] > 1L) p <- p + ggplot2::facet_wrap(ggplot2::vars(.data$head), labeller = "label_both")
  p
}
