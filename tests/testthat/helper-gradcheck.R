# Finite-difference gradient checks against the C core's analytic gradients.
#
# The core computes in float32, so a loss evaluated twice at nearby points carries
# rounding noise of roughly 1e-7 relative; central differences with step eps turn that
# into gradient noise near 1e-7 * |loss| / eps, while their truncation error is
# O(eps^2). Two checks follow from that:
# - per tensor, along a random unit direction d: the Richardson-extrapolated central
#   difference of L(w + h d) against sum(g * d). Truncation cancels to O(eps^4), the
#   signal is the whole tensor's gradient, so the tolerance is tight (2e-3 relative
#   plus 1e-5 absolute for the float32 noise);
# - per element (a sample of them), with the same extrapolated difference:
#   |num - ana| <= 2e-4 + 2e-2 |num|, which still fails for a wrong term in any single
#   element (such bugs give O(1) relative errors).
# `lengths` (valid steps per sequence) is passed through to the loss and the layers.

# derivative at 0 of a scalar function of h, by Richardson-extrapolated central
# differences (steps eps and 2 eps): the O(eps^2) truncation term cancels
directional <- function(fh, eps) {
  d1 <- (fh(eps) - fh(-eps)) / (2 * eps)
  d2 <- (fh(2 * eps) - fh(-2 * eps)) / (4 * eps)
  (4 * d1 - d2) / 3
}

# `device`: "cuda" checks the GPU's analytic gradients against the GPU's own losses (in
# training mode its dropout masks are its own draws, the same for the same seed)
fd_loss <- function(net, x, y, loss, training, seed, lengths = NULL, device = "cpu") {
  tsattn:::net_gradient(net, x, y, loss = loss, training = training, seed = seed,
                        lengths = lengths, device = device)$loss
}

expect_gradients_match <- function(net, x, y, loss = "mse", training = FALSE, seed = 7,
                                   eps = 1e-2, max_elements = 12, check_x = TRUE,
                                   dir_rtol = 2e-3, el_atol = 2e-4, el_rtol = 2e-2,
                                   lengths = NULL, device = "cpu") {
  g <- tsattn:::net_gradient(net, x, y, loss = loss, training = training, seed = seed,
                             lengths = lengths, device = device)
  w <- get_weights(net)
  f <- function(wt, xt = x) fd_loss(set_weights(net, wt), xt, y, loss, training, seed, lengths,
                                    device)
  for (nm in names(w)) {
    d <- stats::rnorm(length(w[[nm]]))
    d <- d / sqrt(sum(d^2))
    dim(d) <- dim(w[[nm]])
    num <- directional(function(h) { wt <- w; wt[[nm]] <- w[[nm]] + h * d; f(wt) }, eps)
    ana <- sum(g$weights[[nm]] * d)
    expect_lte(abs(num - ana), 1e-5 + dir_rtol * abs(num),
               label = sprintf("directional gradient error of %s (num %.6g, ana %.6g)", nm, num, ana))
    idx <- sample(length(w[[nm]]), min(max_elements, length(w[[nm]])))
    for (k in idx) {
      num <- directional(function(h) { wt <- w; wt[[nm]][k] <- w[[nm]][k] + h; f(wt) }, eps)
      ana <- g$weights[[nm]][k]
      expect_lte(abs(num - ana), el_atol + el_rtol * abs(num),
                 label = sprintf("gradient error of %s[%d] (num %.6g, ana %.6g)", nm, k, num, ana))
    }
  }
  if (check_x) {
    d <- array(stats::rnorm(length(x)), dim(x))
    d <- d / sqrt(sum(d^2))
    num <- directional(function(h) f(w, x + h * d), eps)
    ana <- sum(g$x * d)
    expect_lte(abs(num - ana), 1e-5 + dir_rtol * abs(num),
               label = sprintf("directional input gradient error (num %.6g, ana %.6g)", num, ana))
    for (k in sample(length(x), min(max_elements, length(x)))) {
      num <- directional(function(h) { xt <- x; xt[k] <- x[k] + h; f(w, xt) }, eps)
      expect_lte(abs(num - g$x[k]), el_atol + el_rtol * abs(num),
                 label = sprintf("input gradient error at %d (num %.6g, ana %.6g)", k, num, g$x[k]))
    }
  }
  invisible(g)
}

rand_array <- function(...) array(stats::rnorm(prod(c(...))), c(...))
