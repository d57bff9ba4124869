# Silent wrong answers (issue 15): fields of fitted objects are checked before use,
# layer edits after building are errors, counts beyond .Machine$integer.max are errors
# naming the argument, patience needs validation data, and a diverged fit warns and
# never forecasts Inf.

fit1 <- tsattn(AirPassengers, model = "gru", epochs = 3, seed = 1, verbose = FALSE)
expect_field_error <- function(obj, field, pattern = "", ...) {
  f <- gsub("([][$().])", "\\\\\\1", field)
  expect_error(predict(obj, h = 3, npaths = 10, ...), paste0("`", f, "` must ", pattern))
}

test_that("an intact fit forecasts", {
  expect_true(all(is.finite(predict(fit1, h = 3, npaths = 10)$mean)))
})

test_that("tampered fields of a fit are errors naming the field", {
  edit <- function(f, ...) { g <- fit1; g[names(list(...))] <- list(...); g }
  for (lb in list(1, 2.5, NA, "24", NULL))
    expect_field_error(edit(lookback = lb), "object$lookback", "be a whole number")
  # a valid window, but not the one the network was trained on
  expect_field_error(edit(lookback = 12), "object$lookback", "be 24, the window the network was trained on")
  for (sc in list(0, -1, Inf, NaN, c(1, 2), "a", NULL))
    expect_field_error(edit(scale = sc), "object$scale", "be 1 finite positive number")
  for (ce in list(c(1, 2), NA_real_, Inf, NULL))
    expect_field_error(edit(center = ce), "object$center", "be 1 finite number")
  g <- fit1; g["val_resid"] <- list(NULL)
  expect_field_error(g, "object$val_resid", "be a list of 1 matrix")
  g <- fit1; g$val_resid[[1]][2, 1] <- NaN
  expect_field_error(g, "object$val_resid[[1]]", "be free of NA")
  g <- fit1; g$val_resid[[1]] <- matrix(0, 3, 2)
  expect_field_error(g, "object$val_resid[[1]]", "be a numeric matrix of 1 column")
  expect_field_error(edit(lag = -1), "object$lag", "be a whole number in \\[0, 143\\]")
  expect_field_error(edit(lag = 1L), "object$lag", "be 12, the fit's differencing lag")
  expect_field_error(edit(difference = FALSE), "object$difference", "be TRUE for lag = 12")
  expect_field_error(edit(seq2seq = TRUE), "object$seq2seq", "be FALSE: its network has no seq2seq layer")
  expect_field_error(edit(seq2seq = NA), "object$seq2seq", "be TRUE or FALSE")
  expect_field_error(edit(log = "yes"), "object$log", "be TRUE or FALSE")
  expect_field_error(edit(horizon = 2), "object$horizon", "be 1, the steps the network predicts")
  g <- fit1; g$features <- g$features[-1, , drop = FALSE]
  expect_field_error(g, "object$lag", "be 13")
  g <- fit1; g$features[5, 1] <- Inf
  expect_field_error(g, "object$features", "be free of NA")
  g <- fit1; g$x[3] <- NA
  expect_field_error(g, "object$x", "be the fitted series")
  g <- fit1; g$network$weights[[1]] <- g$network$weights[[1]][-1, ]
  expect_field_error(g, "object$network$weights[[\"0.weight_ih_l0\"]]", "be of shape")
  g <- fit1; g$method <- NULL
  expect_field_error(g, "object$method", "be a single string")
  # attention() reads the same fields
  expect_error(attention(edit(lookback = 2.5)), "`object\\$lookback` must be a whole number")
})

test_that("a seq2seq fit, regressors and combinations are checked too", {
  cmb <- tsattn(AirPassengers, model = c("transformer", "seq2seq"), epochs = 2, seed = 1,
                verbose = FALSE)
  expect_true(all(is.finite(predict(cmb, h = 3, npaths = 10)$mean)))
  g <- cmb; g$members$seq2seq <- NULL
  expect_field_error(g, "object$members", "be the fits of the 2 combined models \\(transformer, seq2seq\\)")
  g <- cmb; g$members <- rev(g$members)
  expect_field_error(g, "object$members", "be the fits of the 2 combined models")
  g <- cmb; g$members$seq2seq$lookback <- 5
  expect_field_error(g, "object$members$seq2seq$lookback", "be 24")
  g <- cmb; g$members$seq2seq$x <- g$members$seq2seq$x + 1
  expect_field_error(g, "object$members$seq2seq$x", "be the series of the combination")
  s2 <- cmb$members$seq2seq
  g <- s2; g$seq2seq <- FALSE
  expect_field_error(g, "object$seq2seq", "be TRUE: its network is a seq2seq network")
  g <- s2; g$val_resid <- g$val_resid[1]
  expect_field_error(g, "object$val_resid", "be a list of 12 matrices")
  g <- s2; g$horizon <- 3
  expect_field_error(g, "object$horizon", "be 12")

  fx <- tsattn(mdeaths, model = "gru", xreg = cbind(a = seq_along(mdeaths)), epochs = 2, seed = 1,
               verbose = FALSE)
  expect_true(all(is.finite(predict(fx, h = 3, npaths = 10, xreg = cbind(a = 1:3))$mean)))
  g <- fx; g$xreg_scale <- 0
  expect_field_error(g, "object$xreg_scale", "be 1 finite positive number", xreg = cbind(a = 1:3))
  g <- fx; g["xreg"] <- list(NULL)
  expect_field_error(g, "object$xreg", "be a numeric matrix of 72 rows", xreg = cbind(a = 1:3))
  g <- fx; g$xreg_center <- c(1, 2)
  expect_field_error(g, "object$xreg_center", "be 1 finite number", xreg = cbind(a = 1:3))
})

test_that("editing a built network's layers is an error naming the field; set_weights() adopts them", {
  set.seed(1)
  x <- array(rnorm(2 * 6 * 4), c(2, 6, 4))
  net <- sequential(layer_multihead_attention(2), layer_dense(1, activation = "tanh"), input_dim = 4)
  p <- predict(net, x)
  for (edit in list(list(1, "heads", 4L), list(1, "causal", TRUE), list(2, "activation", "relu"))) {
    g <- net
    g$layers[[edit[[1]]]][[edit[[2]]]] <- edit[[3]]
    pat <- sprintf("`object\\$layers\\[\\[%d\\]\\]\\$%s` must be .*, as when the network was built", edit[[1]], edit[[2]])
    expect_error(predict(g, x), pat)
    expect_error(fit(g, x, array(0, c(2, 6, 1)), epochs = 1, verbose = FALSE), pat)
    expect_error(get_weights(g), pat)
  }
  g <- net
  g$layers[[2]] <- NULL
  expect_error(predict(g, x), "must be the 2 layers the network was built with")
  conv <- sequential(layer_conv1d(2, 3, padding = "same"), input_dim = 1)
  g <- conv; g$layers[[1]]$padding <- "causal"
  expect_error(predict(g, array(1, c(1, 5, 1))), "`object\\$layers\\[\\[1\\]\\]\\$padding` must be \"same\"")
  att <- sequential(layer_attention(window = 2L), input_dim = 2)
  g <- att; g$layers[[1]]$window <- 1L
  expect_error(predict(g, array(1, c(1, 5, 2))), "`object\\$layers\\[\\[1\\]\\]\\$window` must be 2")
  # a fit's network: the edit is named from the fit
  g <- fit1; g$network$layers[[1]]$units <- 8L
  expect_field_error(g, "object$network$layers[[1]]$units", "be 32, as when the network was built")
  # set_weights() gives weights for the layers as they now are
  g <- net
  g$layers[[1]]$heads <- 4L
  g <- set_weights(g, get_weights(net))
  expect_false(isTRUE(all.equal(predict(g, x), p)))
  # objects saved before built_layers existed are not checked
  old <- net
  old$built_layers <- NULL
  expect_identical(predict(old, x), p)
})

test_that("counts beyond .Machine$integer.max are errors naming the argument", {
  big <- "between 1 and 2147483647"
  expect_error(layer_dense(1e10), paste0("`units` must be a whole number ", big, ".*not 1e\\+10"))
  expect_error(layer_gru(2^31), "`units` must be a whole number between 1 and 2147483647")
  expect_error(layer_multihead_attention(1e9 * 10), "`heads` must be a whole number between")
  expect_error(tsattn(AirPassengers, model = "seq2seq", horizon = 2^31, verbose = FALSE),
               "`horizon` must be a whole number between 1 and 2147483647")
  expect_error(fit(sequential(layer_dense(1)), array(0, c(1, 2, 1)), array(0, c(1, 2, 1)),
                   epochs = 2^31, verbose = FALSE),
               "`epochs` must be a whole number between")
  expect_error(predict(fit1, h = 1e10), "`h` must be a whole number between")
  # no coercion warning on the way
  expect_no_warning(try(layer_dense(1e10), silent = TRUE))
  expect_identical(layer_dense(.Machine$integer.max)$units, .Machine$integer.max)
})

test_that("patience without validation data is an error, not a restore of epoch 1", {
  set.seed(1)
  x <- array(rnorm(40), c(4, 10, 1))
  net <- sequential(layer_dense(1), input_dim = 1)
  expect_error(fit(net, x, x, epochs = 3, patience = 2, verbose = FALSE),
               "`patience` must be NULL without validation data .*validation_split or validation_data.*not 2")
  out <- fit(net, x, x, epochs = 3, patience = 2, validation_split = 0.25, verbose = FALSE)
  expect_identical(nrow(out$history), 3L)
  expect_true(all(is.finite(out$history$val_loss)))
})

test_that("a diverged fit warns, and its forecast is an error, not Inf", {
  expect_warning(
    d <- tsattn(AirPassengers, model = "gru", epochs = 20, optimizer = optimizer_adam(lr = 1e8),
                seed = 1, verbose = FALSE),
    "training diverged: the best validation loss is .* on the scaled series")
  expect_error(suppressWarnings(predict(d, h = 3, npaths = 10, seed = 1)),
               "the forecast is not finite: .* overflow on the original scale; the fit has diverged")
  # a sound fit does not warn
  expect_no_warning(tsattn(AirPassengers, model = "gru", epochs = 3, seed = 1, verbose = FALSE))
})

test_that("the default ensemble's fields are checked before forecast() and attention()", {
  ens <- tsattn(ldeaths, seed = 1, verbose = FALSE)
  expect_s3_class(ens, "tsattn_ensemble")
  expect_true(all(is.finite(forecast::forecast(ens, h = 6, npaths = 10)$mean)))
  expect_false(is.null(attention(ens)))
  g <- ens; g$remainder_horizon <- 2.5
  expect_field_error(g, "object$remainder_horizon", "be a whole number >= 1")
  g <- ens; g$adjusted <- g$adjusted[-1]
  expect_field_error(g, "object$adjusted", "be 72 finite numbers")
  g <- ens; g$net_weight <- NA
  expect_field_error(g, "object$net_weight", "be 1 finite number >= 0")
  g <- ens; g$members <- list()
  expect_field_error(g, "object$members", "be the ensemble's fitted networks")
  g <- ens; g$members[[2]]$lookback <- g$members[[2]]$lookback + 1
  expect_field_error(g, "object$members[[2]]$lookback", "be a whole number >= 1")
  g <- ens; g$members[[1]]$network <- g$members[[2]]$network
  g$members[[1]]$network$weights[[1]] <- g$members[[1]]$network$weights[[1]][-1, , drop = FALSE]
  expect_error(attention(g), "object\\$members\\[\\[1\\]\\]\\$network")
})
