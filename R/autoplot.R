# autoplot() (ggplot2, a suggested package: the methods are registered lazily for
# ggplot2::autoplot) and base plot() methods for fits, forecasts and attention arrays.

# ---- helpers -------------------------------------------------------------------------

# the last `include` observations of a ts (all when NULL)
tail_ts <- function(x, include, call = sys.call(-1L)) {
  if (is.null(include)) return(x)
  include <- check_count(include, "include", call = call)
  n <- NROW(x)
  if (include >= n) return(x)
  stats::window(x, start = stats::time(x)[n - include + 1L])
}

# a ts as a data frame (time, value, series); an mts gives one block per column
ts_frame <- function(x, name = "series") {
  tt <- as.numeric(stats::time(x))
  m <- matrix(as.numeric(x), NROW(x), dimnames = list(NULL, colnames(x)))
  nm <- colnames(m)
  if (is.null(nm)) nm <- if (ncol(m) == 1L) name else paste0("series ", seq_len(ncol(m)))
  data.frame(time = rep(tt, ncol(m)), value = as.vector(m),
             series = factor(rep(nm, each = nrow(m)), levels = nm))
}

series_name <- function(object) {
  nm <- object$series
  if (is.null(nm) || !nzchar(nm[1L])) "y" else nm[1L]
}

# a forecast's intervals in long form: one block of rows per level, widest level first
interval_frame <- function(object) {
  level <- object$level
  tt <- as.numeric(stats::time(object$mean))
  lo <- matrix(as.numeric(object$lower), length(tt))
  hi <- matrix(as.numeric(object$upper), length(tt))
  ord <- order(level, decreasing = TRUE)
  lab <- paste0(format(level), "%")
  do.call(rbind, lapply(ord, function(i) {
    data.frame(time = tt, ymin = lo[, i], ymax = hi[, i],
               level = factor(rep(lab[i], length(tt)), levels = lab[ord]))
  }))
}

# fill colours of the intervals: the widest level the lightest
level_fills <- function(level) {
  lab <- paste0(format(level), "%")
  ord <- order(level, decreasing = TRUE)
  cols <- grDevices::colorRampPalette(c("#DBE4F5", "#8EA6DD"))(max(2L, length(level)))
  stats::setNames(cols[seq_along(ord)], lab[ord])
}

# every k-th label of a discrete axis, at most about `max` of them
thin_breaks <- function(levels, max = 12L) {
  k <- max(1L, ceiling(length(levels) / max))
  levels[seq(1L, length(levels), by = k)]
}

# the attention array as [query, key, head x layer]
attention_slices <- function(a) {
  a <- unclass(a)
  d <- dim(a)
  array(a, c(d[1L], d[2L], prod(d[-(1:2)])))
}

no_attention <- function(object, call = sys.call(-1L)) {
  stop(simpleError(sprintf(
    "the %s model has no attention layers: there is no attention to plot (try type = \"loss\", or model = \"transformer\", \"attention\" or \"seq2seq\")",
    if (is.null(object$model)) "fitted" else dQuote(object$model, FALSE)), call))
}

# the attention the forecast of `step` gave to each observation of the last window, averaged
# over heads and layers: the last query's row for self-attention models (forecasting one
# step from the window), the row of horizon step `step` for seq2seq
attention_of_step <- function(object, step, call = sys.call(-1L)) {
  a <- attention(object)
  if (is.null(a)) no_attention(object, call = call)
  step <- check_count(step, "step", call = call)
  if (isTRUE(object$seq2seq)) {
    if (step > dim(a)[1L])
      stop_arg("step", sprintf("at most the horizon of the seq2seq model (%d)", dim(a)[1L]),
               format(step), call = call)
    row <- step
  } else {
    if (step != 1L)
      stop_arg("step", "1 for a model that forecasts one step at a time (the attention of later steps depends on the simulated paths; fit model = \"seq2seq\" to see those)",
               format(step), call = call)
    row <- dim(a)[1L]
  }
  s <- attention_slices(a)
  w <- rowMeans(matrix(s[row, , ], dim(s)[2L]), na.rm = TRUE)
  y <- object$x
  freq <- stats::frequency(y)
  tt <- as.numeric(stats::time(y))
  key <- dimnames(a)[[2L]]
  pos <- match(key, format_time(tt, freq))
  if (anyNA(pos)) pos <- NROW(y) - length(key) + seq_along(key) # the last window
  list(time = tt[pos], key = key, weight = w,
       target = format_time(tt[NROW(y)] + step / freq, freq))
}

# a long model description (a combination's) over several lines of a title
wrap_label <- function(text, width = 75L) paste(strwrap(text, width), collapse = "\n")

# ---- ggplot2 ------------------------------------------------------------------------

#' Plot a tsattn forecast, fit or attention array with ggplot2
#'
#' `autoplot()` methods for the objects of [tsattn()], [forecast()][forecast.tsattn] and
#' [attention()]. They are registered for `ggplot2::autoplot` when ggplot2 is loaded
#' (it is a suggested package, not imported), so call them as `ggplot2::autoplot()` or
#' `autoplot()` after `library(ggplot2)` (or `library(forecast)`, which exports it too).
#'
#' * A forecast (`tsattn_forecast`): the fan chart, i.e. the series (its last `include`
#'   observations), the point forecast and one shaded band per interval level, titled
#'   with the model. The x axis is in time units (`time(y)`). For several series
#'   (`tsattn_mforecast`) one facet per series: those of `keys`, by default the first
#'   six.
#' * An attention array (`tsattn_attention`): a heatmap of the weights, key time across
#'   and query time down (each row is one query and sums to 1), with one facet per head
#'   and per layer (`facet_grid(layer ~ head)` when there are both).
#' * A fit (`tsattn`): `type = "loss"` draws the training and validation loss per epoch
#'   on a log scale, with the epoch of the best validation loss dashed; `type =
#'   "attention"` the heatmap of `attention(object)` (the last window of the series);
#'   `type = "series"` the series, and under it, as bars, the attention that the
#'   forecast of step `step` paid to each observation of the last window (averaged over
#'   heads and layers). For the self-attention models ("attention", "transformer") this
#'   is the attention row of the last query, the step the forecast is read from; for
#'   "seq2seq" the row of horizon step `step`. Recursive models forecast later steps
#'   from windows holding their own forecasts, so they take `step = 1` only. For a
#'   combination of models (the default of [tsattn()]) the loss has one panel per
#'   model, and the attention plots show the first model's attention.
#'
#' @param object A `tsattn_forecast`, `tsattn_mforecast`, `tsattn_attention` or `tsattn`
#'   object.
#' @param include Number of the last observations of the series to draw (`NULL`: all).
#' @param keys For several series: the names (keys) of those to draw (`NULL`: the first
#'   six).
#' @param key For a collection of series (see [tsattn()]): the key of the series whose
#'   fit is drawn.
#' @param type What to draw for a fit: `"loss"`, `"attention"` or `"series"`.
#' @param step For `type = "series"`: the forecast step whose attention is drawn.
#' @param ... Not used.
#' @return A ggplot object.
#' @name autoplot.tsattn
#' @md
#' @examples
#' if (requireNamespace("ggplot2", quietly = TRUE)) {
#'   fit <- tsattn(ldeaths, model = "transformer", epochs = 20, seed = 1)
#'   fc <- predict(fit, h = 12)
#'   ggplot2::autoplot(fc, include = 36)          # fan chart
#'   ggplot2::autoplot(attention(fit))            # heatmap, one facet per head
#'   ggplot2::autoplot(fit, type = "series")      # what the next forecast looked at
#'   ggplot2::autoplot(fit)                       # training and validation loss
#' }
NULL

#' @rdname autoplot.tsattn
#' @method autoplot tsattn_forecast
#' @rawNamespace S3method(ggplot2::autoplot, tsattn_forecast)
autoplot.tsattn_forecast <- function(object, include = NULL, ...) {
  need_ggplot2()
  x <- tail_ts(object$x, include)
  obs <- ts_frame(x, series_name(object))
  iv <- interval_frame(object)
  fc <- data.frame(time = as.numeric(stats::time(object$mean)), value = as.numeric(object$mean))
  ggplot2::ggplot() +
    ggplot2::geom_line(ggplot2::aes(x = .data$time, y = .data$value), data = obs) +
    ggplot2::geom_ribbon(ggplot2::aes(x = .data$time, ymin = .data$ymin, ymax = .data$ymax,
                                      fill = .data$level), data = iv) +
    ggplot2::geom_line(ggplot2::aes(x = .data$time, y = .data$value), data = fc,
                       colour = "#0000AA", linewidth = 0.7) +
    ggplot2::scale_fill_manual(values = level_fills(object$level), name = "level") +
    ggplot2::labs(x = "Time", y = series_name(object), title = wrap_label(object$method)) +
    ggplot2::theme_minimal()
}

#' @rdname autoplot.tsattn
#' @method autoplot tsattn_mforecast
#' @rawNamespace S3method(ggplot2::autoplot, tsattn_mforecast)
autoplot.tsattn_mforecast <- function(object, include = NULL, keys = NULL, ...) {
  need_ggplot2()
  fcs <- object$forecast
  if (is.null(names(fcs))) names(fcs) <- vapply(fcs, series_name, "")
  fcs <- fcs[forecast_keys(object, keys, names(fcs))]
  nm <- names(fcs)
  lab <- function(d, s) {
    d$series <- factor(rep(s, nrow(d)), levels = nm)
    d
  }
  obs <- do.call(rbind, Map(function(f, s) lab(ts_frame(tail_ts(f$x, include)), s), fcs, nm))
  iv <- do.call(rbind, Map(function(f, s) lab(interval_frame(f), s), fcs, nm))
  fc <- do.call(rbind, Map(function(f, s) lab(data.frame(
    time = as.numeric(stats::time(f$mean)), value = as.numeric(f$mean)), s), fcs, nm))
  # a collection's own name for its models (the series' methods differ in their transforms)
  method <- if (inherits(object$model, "tsattn_collection")) object$model$method else unique(object$method)
  # series of a collection may cover different years: each facet its own time axis
  same_time <- length(unique(lapply(fcs, function(f) stats::tsp(f$x)[1:2]))) == 1L
  ggplot2::ggplot() +
    ggplot2::geom_line(ggplot2::aes(x = .data$time, y = .data$value), data = obs) +
    ggplot2::geom_ribbon(ggplot2::aes(x = .data$time, ymin = .data$ymin, ymax = .data$ymax,
                                      fill = .data$level), data = iv) +
    ggplot2::geom_line(ggplot2::aes(x = .data$time, y = .data$value), data = fc,
                       colour = "#0000AA", linewidth = 0.7) +
    ggplot2::facet_wrap(ggplot2::vars(.data$series), ncol = if (length(nm) > 3L) 2L else 1L,
                        scales = if (same_time) "free_y" else "free") +
    ggplot2::scale_fill_manual(values = level_fills(fcs[[1L]]$level), name = "level") +
    ggplot2::labs(x = "Time", y = NULL, title = wrap_label(paste(method, collapse = "; "), 60L)) +
    ggplot2::theme_minimal()
}

# the keys of a tsattn_mforecast to draw: `keys`, checked, or the first six
forecast_keys <- function(object, keys, all, call = sys.call(-1L)) {
  if (is.null(keys)) return(utils::head(all, 6L))
  if (!is.character(keys) || !length(keys) || anyNA(keys) || !all(keys %in% all)) {
    given <- if (is.character(keys)) setdiff(keys, all) else keys
    stop_arg("keys", sprintf("names of the forecast series (%s%s)",
                             paste0("\"", utils::head(all, 5L), "\"", collapse = ", "),
                             if (length(all) > 5L) sprintf(", ... %d in all", length(all)) else ""),
             describe(if (length(given)) given else keys), call = call)
  }
  unique(keys)
}

#' @rdname autoplot.tsattn
#' @method autoplot tsattn_attention
#' @rawNamespace S3method(ggplot2::autoplot, tsattn_attention)
autoplot.tsattn_attention <- function(object, ...) {
  need_ggplot2()
  df <- as.data.frame(object)
  df <- df[!is.na(df$weight), , drop = FALSE] # heads a layer does not have
  df$head <- factor(df$head, levels = unique(df$head))
  df$layer <- factor(df$layer, levels = unique(df$layer))
  qlev <- levels(df$query_time)
  klev <- levels(df$key_time)
  nh <- nlevels(df$head)
  nl <- nlevels(df$layer)
  p <- ggplot2::ggplot(df, ggplot2::aes(x = .data$key_time, y = .data$query_time,
                                        fill = .data$weight)) +
    ggplot2::geom_tile() +
    ggplot2::scale_x_discrete(breaks = thin_breaks(klev), expand = c(0, 0)) +
    ggplot2::scale_y_discrete(limits = rev(qlev), breaks = thin_breaks(qlev), expand = c(0, 0)) +
    ggplot2::scale_fill_distiller(palette = "Blues", direction = 1, limits = c(0, NA)) +
    ggplot2::labs(x = "key time", y = "query time", fill = "weight",
                  title = "Attention weights") +
    ggplot2::theme_minimal() +
    ggplot2::theme(axis.text.x = ggplot2::element_text(angle = 90, hjust = 1, vjust = 0.5),
                   panel.grid = ggplot2::element_blank())
  if (nh > 1L && nl > 1L) {
    p <- p + ggplot2::facet_grid(rows = ggplot2::vars(.data$layer), cols = ggplot2::vars(.data$head))
  } else if (nh > 1L) {
    p <- p + ggplot2::facet_wrap(ggplot2::vars(.data$head))
  } else if (nl > 1L) {
    p <- p + ggplot2::facet_wrap(ggplot2::vars(.data$layer))
  }
  p
}

#' @rdname autoplot.tsattn
#' @method autoplot tsattn
#' @rawNamespace S3method(ggplot2::autoplot, tsattn)
autoplot.tsattn <- function(object, type = c("loss", "attention", "series"), step = 1,
                            include = NULL, ...) {
  need_ggplot2()
  type <- check_choice(type[1L], "type", c("loss", "attention", "series"))
  switch(type,
    loss = loss_plot(object),
    attention = {
      a <- attention(object)
      if (is.null(a)) no_attention(object)
      autoplot.tsattn_attention(a) + ggplot2::labs(subtitle = wrap_label(object$method))
    },
    series = attention_series_plot(object, step, include)
  )
}

loss_plot <- function(object) {
  # one panel per model of a combination
  fits <- if (is.null(object$members)) list(object) else object$members
  member <- function(f) {
    if (is.null(object$members)) return("")
    factor(f$model, levels = names(object$members)) # panels in the members' order
  }
  df <- do.call(rbind, lapply(fits, function(f) {
    h <- f$history
    va <- if (is.null(h$val_loss)) rep(NA_real_, nrow(h)) else h$val_loss
    data.frame(epoch = rep(h$epoch, 2L), loss = c(h$loss, va),
               set = factor(rep(c("training", "validation"), each = nrow(h)),
                            levels = c("training", "validation")),
               model = member(f))
  }))
  best <- do.call(rbind, lapply(fits, function(f) {
    va <- f$history$val_loss
    if (is.null(va) || !any(is.finite(va))) return(NULL)
    data.frame(epoch = f$history$epoch[which.min(va)], model = member(f))
  }))
  df <- df[is.finite(df$loss), , drop = FALSE]
  p <- ggplot2::ggplot(df, ggplot2::aes(x = .data$epoch, y = .data$loss, colour = .data$set)) +
    ggplot2::geom_line()
  if (!is.null(best))
    p <- p + ggplot2::geom_vline(ggplot2::aes(xintercept = .data$epoch), data = best,
                                 linetype = "dashed", colour = "grey50")
  if (!is.null(object$members)) p <- p + ggplot2::facet_wrap(ggplot2::vars(.data$model), scales = "free")
  if (all(df$loss > 0)) p <- p + ggplot2::scale_y_log10()
  p + ggplot2::scale_colour_manual(values = c(training = "#1F4E9A", validation = "#D95F02"),
                                   name = NULL) +
    ggplot2::labs(x = "epoch", y = "loss (scaled series)", title = "Training and validation loss",
                  subtitle = wrap_label(object$method)) +
    ggplot2::theme_minimal()
}

attention_series_plot <- function(object, step, include) {
  at <- attention_of_step(object, step, call = sys.call(-1L))
  y <- tail_ts(object$x, include, call = sys.call(-1L))
  obs <- ts_frame(y, deparse(object$call$y)[1L])
  lev <- c("series", "attention")
  obs$panel <- factor("series", levels = lev)
  bars <- data.frame(time = at$time, weight = at$weight, panel = factor("attention", levels = lev))
  bars <- bars[bars$time >= min(obs$time), , drop = FALSE]
  freq <- stats::frequency(object$x)
  k <- nlevels(obs$series)
  p <- ggplot2::ggplot() +
    ggplot2::geom_col(ggplot2::aes(x = .data$time, y = .data$weight), data = bars,
                      width = 0.8 / freq, fill = "#6BAED6") +
    ggplot2::geom_rect(ggplot2::aes(xmin = .data$xmin, xmax = .data$xmax, ymin = -Inf, ymax = Inf),
                       data = data.frame(xmin = max(min(at$time), min(obs$time)) - 0.5 / freq,
                                         xmax = max(at$time) + 0.5 / freq,
                                         panel = factor("series", levels = lev)),
                       fill = "#6BAED6", alpha = 0.12, inherit.aes = FALSE) +
    ggplot2::facet_grid(rows = ggplot2::vars(.data$panel), scales = "free_y")
  p <- if (k > 1L) {
    p + ggplot2::geom_line(ggplot2::aes(x = .data$time, y = .data$value, colour = .data$series),
                           data = obs)
  } else {
    p + ggplot2::geom_line(ggplot2::aes(x = .data$time, y = .data$value), data = obs)
  }
  p + ggplot2::labs(x = "Time", y = NULL, colour = NULL,
                    title = sprintf("Attention of the forecast of %s over the last window", at$target),
                    subtitle = wrap_label(object$method)) +
    ggplot2::theme_minimal()
}

# ---- base graphics ------------------------------------------------------------------

#' Base graphics plots of tsattn forecasts, fits and attention arrays
#'
#' Simple base-graphics counterparts of the [autoplot()][autoplot.tsattn] methods: the
#' forecast fan chart (interval polygons, widest level lightest), the attention heatmap
#' with [image()] (key time across, query time down, one panel per head and layer), and
#' the training and validation loss of a fit (log scale).
#'
#' @param x A `tsattn_forecast`, `tsattn_mforecast`, `tsattn_attention` or `tsattn` object.
#' @param include Number of the last observations of the series to draw (`NULL`: all).
#' @param keys For several series: the names (keys) of those to draw (`NULL`: the first
#'   six).
#' @param key For a collection of series (see [tsattn()]): the key of the series whose
#'   fit is drawn.
#' @param main,xlab,ylab Title and axis labels.
#' @param shadecols Colours of the interval polygons, one per level (widest level first).
#' @param fcol Colour of the point forecast.
#' @param col Colours of the heatmap.
#' @param type For a fit: `"loss"` or `"attention"`.
#' @param ... Passed to [plot()] (fan chart, loss) or [image()] (heatmap).
#' @return `x`, invisibly.
#' @name plot.tsattn
#' @md
#' @examples
#' fit <- tsattn(ldeaths, model = "transformer", epochs = 20, seed = 1)
#' plot(predict(fit, h = 12), include = 36)
#' plot(attention(fit))
#' plot(fit)
NULL

#' @rdname plot.tsattn
#' @export
plot.tsattn_forecast <- function(x, include = NULL, main = wrap_label(x$method), xlab = "Time",
                                 ylab = series_name(x), shadecols = NULL, fcol = "#0000AA",
                                 ...) {
  y <- tail_ts(x$x, include)
  tt <- as.numeric(stats::time(x$mean))
  lo <- matrix(as.numeric(x$lower), length(tt))
  hi <- matrix(as.numeric(x$upper), length(tt))
  ord <- order(x$level, decreasing = TRUE)
  if (is.null(shadecols)) shadecols <- unname(level_fills(x$level))
  shadecols <- rep_len(shadecols, length(ord))
  xlim <- range(as.numeric(stats::time(y)), tt)
  ylim <- range(y, lo, hi, x$mean, finite = TRUE)
  graphics::plot(y, xlim = xlim, ylim = ylim, main = main, xlab = xlab, ylab = ylab, ...)
  for (j in seq_along(ord)) {
    i <- ord[j]
    graphics::polygon(c(tt, rev(tt)), c(lo[, i], rev(hi[, i])), col = shadecols[j],
                      border = NA)
  }
  graphics::lines(tt, as.numeric(x$mean), col = fcol, lwd = 2)
  invisible(x)
}

#' @rdname plot.tsattn
#' @export
plot.tsattn_mforecast <- function(x, include = NULL, keys = NULL, ...) {
  keys <- forecast_keys(x, keys, names(x$forecast))
  op <- graphics::par(mfrow = c(length(keys), 1L))
  on.exit(graphics::par(op))
  for (nm in keys)
    plot.tsattn_forecast(x$forecast[[nm]], include = include, ylab = nm, ...)
  invisible(x)
}

#' @rdname plot.tsattn
#' @export
plot.tsattn_attention <- function(x, main = "Attention weights", xlab = "key time",
                                  ylab = "query time",
                                  col = grDevices::hcl.colors(50, "Blues", rev = TRUE), ...) {
  a <- unclass(x)
  dn <- dimnames(a)
  s <- attention_slices(a)
  nq <- dim(s)[1L]
  nk <- dim(s)[2L]
  heads <- if (is.null(dn$head)) "" else dn$head
  layers <- if (is.null(dn$layer)) "" else dn$layer
  panels <- expand.grid(head = heads, layer = layers, stringsAsFactors = FALSE)
  np <- nrow(panels)
  mfrow <- if (length(heads) > 1L && length(layers) > 1L) c(length(layers), length(heads)) else
    grDevices::n2mfrow(np)
  op <- graphics::par(mfrow = mfrow, mar = c(5.5, 5.5, 2.5, 1), mgp = c(4.3, 0.7, 0))
  on.exit(graphics::par(op))
  qlab <- dn[[1L]]
  klab <- dn[[2L]]
  for (p in seq_len(np)) {
    z <- t(s[, , p])[, nq:1L, drop = FALSE] # key across, first query at the top
    if (all(is.na(z))) {
      graphics::plot.new()
      next
    }
    parts <- c(panels$layer[p], panels$head[p])
    ttl <- paste(c(main, parts[nzchar(parts)]), collapse = ", ")
    graphics::image(seq_len(nk), seq_len(nq), z, col = col, zlim = c(0, max(1e-12, max(z, na.rm = TRUE))),
                    axes = FALSE, main = ttl, xlab = xlab, ylab = ylab, ...)
    kb <- match(thin_breaks(klab, 8L), klab)
    qb <- match(thin_breaks(qlab, 8L), qlab)
    graphics::axis(1L, at = kb, labels = klab[kb], las = 2, cex.axis = 0.7)
    graphics::axis(2L, at = nq + 1L - qb, labels = qlab[qb], las = 1, cex.axis = 0.7)
    graphics::box()
  }
  invisible(x)
}

#' @rdname plot.tsattn
#' @export
plot.tsattn <- function(x, type = c("loss", "attention"), main = NULL, ...) {
  type <- check_choice(type[1L], "type", c("loss", "attention"))
  if (type == "attention") {
    a <- attention(x)
    if (is.null(a)) no_attention(x)
    return(invisible(plot.tsattn_attention(a, ...)))
  }
  if (!is.null(x$members)) {
    # one panel per model of a combination
    op <- graphics::par(mfrow = c(1L, length(x$members)))
    on.exit(graphics::par(op))
    for (f in x$members) plot.tsattn(f, type = "loss", main = main, ...)
    return(invisible(x))
  }
  h <- x$history
  tr <- h$loss
  va <- if (is.null(h$val_loss)) rep(NA_real_, nrow(h)) else h$val_loss
  all_l <- c(tr, va)
  ylim <- range(all_l, finite = TRUE)
  lg <- if (all(all_l[is.finite(all_l)] > 0)) "y" else ""
  if (is.null(main)) main <- paste("Training and validation loss:", x$method)
  graphics::plot(h$epoch, tr, type = "l", col = "#1F4E9A", log = lg, ylim = ylim,
                 xlab = "epoch", ylab = "loss (scaled series)", main = main, ...)
  if (any(is.finite(va))) {
    graphics::lines(h$epoch, va, col = "#D95F02")
    graphics::abline(v = h$epoch[which.min(va)], lty = 2, col = "grey50")
  }
  graphics::legend("topright", legend = c("training", "validation"),
                   col = c("#1F4E9A", "#D95F02"), lty = 1, bty = "n")
  invisible(x)
}
