# The transform between a series and what its network sees (tsattn()'s pipeline):
#   levels   log(y), or y itself (lambda)
#   changes  differences at lag `lag` (0: none): the season for a seasonal series (the
#            network then learns how this year differs from last year's value), 1 for a
#            trending non-seasonal one
#   scaled   each column centred and divided by its standard deviation
# fitted once on the series (transform_fit()), applied to it (transform_apply()), and
# inverted for predictions (transform_invert_step(), transform_invert_paths()). A fit
# keeps the parameters as its fields `log`, `lag`, `center` and `scale` (what forecast()
# and the validators read), so a fit is itself a transform. Regressors are centred and
# scaled alone (regressor_fit(), regressor_apply()). The windows of the transformed series
# and its regressors (window_features()) are cut in C, batch by batch (fit_rows() and
# predict_rows() in R/fit.R).

# TRUE when a positive series swings more as its level grows (multiplicative)
wants_log <- function(y) {
  if (any(y <= 0)) return(FALSE)
  n <- length(y)
  if (n < 12) return(FALSE)
  k <- n %/% 3
  a <- y[seq_len(k)]
  b <- y[(n - k + 1L):n]
  lr <- mean(b) / mean(a)
  sr <- stats::sd(b) / max(stats::sd(a), .Machine$double.eps)
  lr > 1.5 && sr > 1.5 || lr < 1 / 1.5 && sr < 1 / 1.5
}

# TRUE when a linear trend explains most of the series
wants_difference <- function(y) {
  n <- length(y)
  if (n < 8 || stats::sd(y) == 0) return(FALSE)
  r2 <- stats::cor(y, seq_len(n))^2
  r2 > 0.5
}

# the transform's parameters for Y [n, k] of frequency freq, from tsattn()'s `lambda`
# ("auto", 0 or NULL) and `difference` ("auto", TRUE, FALSE or a lag)
transform_fit <- function(Y, lambda, difference, freq, call = sys.call(-1L)) {
  n <- nrow(Y)
  use_log <- if (identical(lambda, "auto")) all(apply(Y, 2L, wants_log)) else
    if (is.null(lambda)) FALSE else if (identical(lambda, 0) || identical(lambda, 0L)) TRUE else
      stop_arg("lambda", "\"auto\", 0 (log) or NULL", describe(lambda), call = call)
  if (use_log && any(Y <= 0)) stop_arg("lambda", "NULL for a series with values <= 0", "0", call = call)
  tr <- list(log = use_log)
  Z <- transform_levels(tr, Y)
  seasonal <- freq > 1 && n >= 3 * freq
  tr$lag <- if (identical(difference, "auto")) {
    if (seasonal) as.integer(round(freq)) else if (any(apply(Z, 2L, wants_difference))) 1L else 0L
  } else if (isTRUE(difference)) {
    if (seasonal) as.integer(round(freq)) else 1L
  } else if (isFALSE(difference)) {
    0L
  } else {
    check_count(difference, "difference", min = 0L, call = call)
  }
  D <- transform_changes(tr, Z)
  center <- colMeans(D)
  scale <- apply(D, 2L, stats::sd)
  scale[!is.finite(scale) | scale < 1e-8 * pmax(1, abs(center))] <- 1
  tr$center <- center
  tr$scale <- scale
  tr
}

transform_levels <- function(tr, Y) if (tr$log) log(Y) else Y

# lag-differences of the levels Z [n, k]: [n - lag, k]
transform_changes <- function(tr, Z) {
  lag <- tr$lag
  if (lag > 0L) Z[(lag + 1L):nrow(Z), , drop = FALSE] - Z[seq_len(nrow(Z) - lag), , drop = FALSE]
  else Z
}

# the series Y [n, k] as the network sees it: [n - lag, k], row s being observation s + lag
transform_apply <- function(tr, Y) {
  D <- transform_changes(tr, transform_levels(tr, Y))
  sweep(sweep(D, 2L, tr$center), 2L, tr$scale, "/")
}

# predictions p [m, k] (model space) of observations first, ..., first + m - 1 of Y, each
# made knowing the observations before it: back to the original scale
transform_invert_step <- function(tr, Y, p, first) {
  v <- sweep(sweep(p, 2L, tr$scale, "*"), 2L, tr$center, "+")
  if (tr$lag > 0L) # the level `lag` before each target, from the series
    v <- transform_levels(tr, Y)[first - tr$lag + seq_len(nrow(p)) - 1L, , drop = FALSE] + v
  if (tr$log) exp(v) else v
}

# sample paths [npaths, h, k] (model space) of the h observations after Y [n, k]: back to
# the original scale, each step's level from the path's own earlier steps (or the series)
transform_invert_paths <- function(tr, Y, paths) {
  k <- dim(paths)[3L]
  np <- dim(paths)[1L]
  h <- dim(paths)[2L]
  Z <- transform_levels(tr, Y)
  n <- nrow(Z)
  lag <- tr$lag
  for (j in seq_len(k)) {
    v <- matrix(paths[, , j], np, h) * tr$scale[j] + tr$center[j]
    if (lag > 0L) {
      # level[n + s] = diff[s] + level[n + s - lag], earlier levels from the series
      for (s in seq_len(h)) {
        before <- if (s > lag) v[, s - lag] else rep(Z[n + s - lag, j], np)
        v[, s] <- v[, s] + before
      }
    }
    paths[, , j] <- if (tr$log) exp(v) else v
  }
  paths
}

# regressors X [n, m]: centred and scaled per column (a constant column keeps scale 1)
regressor_fit <- function(X) {
  xs <- apply(X, 2L, stats::sd)
  xs[!is.finite(xs) | xs == 0] <- 1
  list(center = colMeans(X), scale = xs)
}

regressor_apply <- function(rt, X) sweep(sweep(X, 2L, rt$center), 2L, rt$scale, "/")

# The network's input series: row s of the transformed series S [N, k] (observation
# s + lag of Y), then the scaled regressors Xs [n, m] of the observation after it. The
# last row's next regressors are not known until forecast() is given them: 0, their
# scaled mean, stands in (used by the fit's own attention()).
window_features <- function(S, Xs, lag) {
  if (is.null(Xs)) return(S)
  N <- nrow(S)
  nxt <- seq_len(N) + lag + 1L
  xr <- matrix(0, N, ncol(Xs))
  ok <- nxt <= nrow(Xs)
  xr[ok, ] <- Xs[nxt[ok], , drop = FALSE]
  cbind(S, xr)
}
