# autoplot() and plot() methods of fits, forecasts and attention arrays, on real series.
# The fits are small (20 epochs, 200 sample paths) and shared by the tests below.

fits <- local({
  cache <- list()
  function(model, series) {
    key <- paste(model, series)
    if (is.null(cache[[key]])) {
      y <- switch(series, AirPassengers = datasets::AirPassengers, ldeaths = datasets::ldeaths,
                  deaths = cbind(mdeaths = datasets::mdeaths, fdeaths = datasets::fdeaths))
      fit <- tsattn(y, model = model, epochs = 20, seed = 1, verbose = FALSE)
      cache[[key]] <<- list(fit = fit, fc = predict(fit, h = 12, npaths = 200, seed = 1))
    }
    cache[[key]]
  }
})

built_layer <- function(p, geom) {
  b <- ggplot2::ggplot_build(p)
  i <- which(vapply(p$layers, function(l) inherits(l$geom, geom), TRUE))
  expect_length(i, 1L)
  b$data[[i]]
}

# row `row` of an attention array, averaged over its heads and layers
row_mean <- function(a, row) {
  d <- dim(a)
  s <- array(unclass(a), c(d[1L], d[2L], prod(d[-(1:2)])))
  rowMeans(matrix(s[row, , ], d[2L]))
}

n_panels <- function(p) nrow(ggplot2::ggplot_build(p)$layout$layout)

check_fan <- function(p, fc, include = NULL) {
  expect_s3_class(p, "ggplot")
  expect_identical(p$labels$title, fc$method)
  rib <- built_layer(p, "GeomRibbon")
  lev <- levels(p$layers[[2L]]$data$level) # widest level first, drawn first
  expect_identical(lev, paste0(rev(fc$level), "%"))
  for (g in seq_along(lev)) {
    i <- match(sub("%", "", lev[g]), format(fc$level))
    d <- rib[rib$group == g, ]
    expect_equal(d$x, as.numeric(time(fc$mean)))
    expect_equal(d$ymin, as.numeric(fc$lower[, i]))
    expect_equal(d$ymax, as.numeric(fc$upper[, i]))
  }
  b <- ggplot2::ggplot_build(p)
  obs <- b$data[[1L]]
  x <- if (is.null(include)) fc$x else window(fc$x, start = time(fc$x)[length(fc$x) - include + 1L])
  expect_equal(obs$x, as.numeric(time(x)))
  expect_equal(obs$y, as.numeric(x))
  expect_equal(b$data[[3L]]$y, as.numeric(fc$mean))
}

test_that("autoplot() of a forecast is the fan chart: series, mean and one band per level", {
  skip_if_not_installed("ggplot2")
  for (m in c("gru", "transformer")) {
    for (s in c("AirPassengers", "ldeaths")) {
      fc <- fits(m, s)$fc
      check_fan(ggplot2::autoplot(fc), fc)
      check_fan(ggplot2::autoplot(fc, include = 30), fc, include = 30)
    }
  }
  fc <- fits("gru", "ldeaths")$fc
  expect_error(ggplot2::autoplot(fc, include = 0), "`include` must be a whole number")
})

test_that("forecast::autoplot() and other levels reach the tsattn method", {
  skip_if_not_installed("ggplot2")
  skip_if_not_installed("forecast")
  fit <- fits("transformer", "ldeaths")$fit
  fc <- forecast::forecast(fit, h = 6, level = c(50, 80, 99), npaths = 200, seed = 2)
  p <- forecast::autoplot(fc)
  check_fan(p, fc)
  expect_identical(sort(unique(built_layer(p, "GeomRibbon")$group)), 1:3)
})

test_that("autoplot() of a multi-series forecast has one facet per series", {
  skip_if_not_installed("ggplot2")
  for (m in c("gru", "transformer")) {
    fcm <- fits(m, "deaths")$fc
    p <- ggplot2::autoplot(fcm, include = 24)
    expect_identical(n_panels(p), 2L)
    rib <- built_layer(p, "GeomRibbon")
    for (j in 1:2) {
      fc <- fcm$forecast[[j]]
      d <- rib[rib$PANEL == j & rib$group == 1L, ] # the 95% band, widest, first
      expect_equal(d$ymin, as.numeric(fc$lower[, "95%"]))
      expect_equal(d$ymax, as.numeric(fc$upper[, "95%"]))
    }
    expect_identical(levels(p$layers[[1L]]$data$series), c("mdeaths", "fdeaths"))
  }
})

test_that("autoplot() of attention is a heatmap of the weights with facets per head and layer", {
  skip_if_not_installed("ggplot2")
  for (s in c("AirPassengers", "ldeaths", "deaths")) {
    fit <- fits("transformer", s)$fit
    a <- attention(fit)
    p <- ggplot2::autoplot(a)
    tile <- built_layer(p, "GeomTile")
    expect_equal(p$data$weight, as.data.frame(a)$weight)
    expect_identical(nrow(tile), length(a))
    expect_identical(n_panels(p), dim(a)[3L]) # one layer of 4 heads
    expect_s3_class(p$facet, "FacetWrap")
    # key time across, query time down (the first query at the top)
    expect_identical(levels(p$data$key_time), dimnames(a)$key)
    expect_identical(ggplot2::ggplot_build(p)$layout$panel_params[[1L]]$y$get_limits(),
                     rev(dimnames(a)$query))
    # the same through the fit
    pa <- ggplot2::autoplot(fit, type = "attention")
    expect_equal(pa$data$weight, p$data$weight)
    expect_identical(pa$labels$subtitle, fit$method)
  }
  # the forecast carries the same attention
  fc <- fits("transformer", "ldeaths")$fc
  expect_equal(ggplot2::autoplot(attention(fc))$data$weight,
               as.data.frame(attention(fits("transformer", "ldeaths")$fit))$weight)
})

test_that("attention heatmaps of several layers and heads use facet_grid(layer ~ head)", {
  skip_if_not_installed("ggplot2")
  net <- sequential(layer_dense(16), layer_positional_encoding(),
                    layer_transformer_encoder(heads = 2, d_ff = 32, causal = TRUE),
                    layer_transformer_encoder(heads = 2, d_ff = 32, causal = TRUE),
                    layer_last_step(), layer_dense(1))
  fit <- tsattn(datasets::ldeaths, model = net, epochs = 5, seed = 1, verbose = FALSE)
  a <- attention(fit)
  expect_identical(dim(a)[3:4], c(2L, 2L))
  p <- ggplot2::autoplot(a)
  expect_s3_class(p$facet, "FacetGrid")
  expect_identical(n_panels(p), 4L)
  expect_equal(p$data$weight, as.vector(unclass(a)))
  lay <- ggplot2::ggplot_build(p)$layout$layout
  expect_identical(max(lay$ROW), 2L)
  expect_identical(max(lay$COL), 2L)
  # the series plot averages the last query's row over heads and layers
  ps <- ggplot2::autoplot(fit, type = "series")
  bars <- built_layer(ps, "GeomCol")
  expect_equal(bars$y, as.vector(apply(unclass(a)[dim(a)[1L], , , ], 1L, mean)))
  # a synthetic array: one layer, several heads, and several layers of one head
  w <- array(runif(3 * 3 * 2), c(3, 3, 2),
             list(query = c("2000", "2001", "2002"), key = c("2000", "2001", "2002"),
                  layer = c("layer_1", "layer_2")))
  p2 <- ggplot2::autoplot(structure(w, class = c("tsattn_attention", "array")))
  expect_s3_class(p2$facet, "FacetWrap")
  expect_identical(n_panels(p2), 2L)
  p1 <- ggplot2::autoplot(structure(w[, , 1], class = c("tsattn_attention", "matrix", "array")))
  expect_identical(n_panels(p1), 1L)
  expect_equal(p1$data$weight, as.vector(w[, , 1]))
})

test_that("autoplot(fit, type = \"series\") draws the attention of the forecast under the series", {
  skip_if_not_installed("ggplot2")
  for (s in c("AirPassengers", "ldeaths", "deaths")) {
    fit <- fits("transformer", s)$fit
    a <- attention(fit)
    p <- ggplot2::autoplot(fit, type = "series")
    expect_identical(n_panels(p), 2L)
    bars <- built_layer(p, "GeomCol")
    L <- fit$lookback
    n <- NROW(fit$x)
    expect_equal(bars$x, as.numeric(time(fit$x))[(n - L + 1L):n])
    expect_equal(bars$y, row_mean(a, dim(a)[1L]))
    expect_equal(sum(bars$y), 1, tolerance = 1e-5)
    expect_match(p$labels$title, "1980 Jan|1961 Jan")
    line <- built_layer(p, "GeomLine")
    expect_identical(nrow(line), length(fit$x))
    # include keeps the last observations only
    p24 <- ggplot2::autoplot(fit, type = "series", include = 24)
    expect_identical(nrow(built_layer(p24, "GeomLine")), 24L * NCOL(fit$x))
  }
  fit <- fits("transformer", "ldeaths")$fit
  expect_error(ggplot2::autoplot(fit, type = "series", step = 2), "`step` must be 1")
  expect_error(ggplot2::autoplot(fit, type = "map"), "`type` must be")
})

test_that("a seq2seq fit shows the attention of horizon step `step`", {
  skip_if_not_installed("ggplot2")
  fit <- tsattn(datasets::ldeaths, model = "seq2seq", epochs = 5, seed = 1, verbose = FALSE)
  a <- attention(fit)
  expect_identical(dim(a)[1L], fit$horizon)
  for (step in c(1L, fit$horizon)) {
    p <- ggplot2::autoplot(fit, type = "series", step = step)
    bars <- built_layer(p, "GeomCol")
    expect_equal(bars$y, row_mean(a, step))
  }
  expect_error(ggplot2::autoplot(fit, type = "series", step = fit$horizon + 1L), "`step` must be at most")
})

test_that("autoplot() of a fit draws training and validation loss on a log scale", {
  skip_if_not_installed("ggplot2")
  for (m in c("gru", "transformer")) {
    fit <- fits(m, "AirPassengers")$fit
    p <- ggplot2::autoplot(fit)
    b <- ggplot2::ggplot_build(p)
    ln <- built_layer(p, "GeomLine")
    h <- fit$history
    expect_equal(ln$y[ln$group == 1L], log10(h$loss))
    expect_equal(ln$y[ln$group == 2L], log10(h$val_loss))
    expect_equal(built_layer(p, "GeomVline")$xintercept, h$epoch[which.min(h$val_loss)])
    expect_identical(p$labels$subtitle, fit$method)
  }
})

test_that("models without attention layers say so", {
  skip_if_not_installed("ggplot2")
  fit <- fits("gru", "ldeaths")$fit
  expect_error(ggplot2::autoplot(fit, type = "attention"), "no attention layers")
  expect_error(ggplot2::autoplot(fit, type = "series"), "no attention layers")
  expect_error(plot(fit, type = "attention"), "no attention layers")
})

test_that("base plot() methods draw forecasts, attention and loss", {
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off())
  for (m in c("gru", "transformer")) {
    for (s in c("AirPassengers", "ldeaths")) {
      f <- fits(m, s)
      expect_identical(plot(f$fc), f$fc)
      expect_identical(plot(f$fc, include = 24, shadecols = c("grey80", "grey60")), f$fc)
      expect_identical(plot(f$fit), f$fit)
    }
    f <- fits(m, "deaths")
    expect_identical(plot(f$fc, include = 24), f$fc)
  }
  a <- attention(fits("transformer", "ldeaths")$fit)
  expect_identical(plot(a), a)
  expect_identical(plot(fits("transformer", "deaths")$fit, type = "attention"),
                   attention(fits("transformer", "deaths")$fit))
})
