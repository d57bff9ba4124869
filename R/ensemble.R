# The default forecaster of one series (tsattn(y) with model = "auto", no regressors):
# a classical backbone for level, trend and season, and an ensemble of small attention
# networks on the per-window normalised remainder, as ES-RNN (Smyl 2020, the M4 winner)
# puts a network on an exponential-smoothing level and season, with windows normalised
# by their level as N-BEATS, DeepAR and RevIN do.
#
# The pipeline, each step with its inverse:
#   series_transform_fit/apply/invert  log (positive series) and the season: the
#                                      classical decomposition's indices on the log scale,
#                                      where the seasonality test of thetaf() (Hyndman and
#                                      Billah 2003) finds a season
#   theta_backbone                     Theta (SES with half the linear drift, Assimakopoulos
#                                      and Nikolopoulos 2000) on the adjusted series, at
#                                      every origin (its level and drift use only the past)
#   remainder_windows / _invert        inputs: the window minus its origin's level, over
#                                      the one-step error scale; targets: what the backbone
#                                      misses at steps 1..H, on the same scale (direct
#                                      multi-step, every origin: stride 1)
#   fit_remainder_member               one attention network on those windows (fixed epochs
#                                      and weight decay instead of early stopping on a short
#                                      tail); the ensemble averages members over seeds and
#                                      lookbacks (as nnetar averages 20 networks)
#   origin_error_scale                 interval widths from the backbone's rolling-origin
#                                      errors at each step ahead, calibrated on M1
#                                      (bench/m1.R)
#
# Settings were chosen on M1 only (bench/m1.R, bench/M1-RESULTS.md).

ensemble_defaults <- list(
  members = 5L,        # networks averaged
  epochs = 60L,        # fixed epochs per member
  width = 16L,         # model width of the attention network
  lr = 3e-3,
  weight_decay = 1e-2,
  net_weight = 1,      # the networks' share of the remainder (0: the backbone alone)
  select_weight = TRUE, # choose the share among `weights` by rolling origin per series
  weights = c(0, 0.5),
  margin = 0.8,        # a share > 0 is kept only when its error is below margin x the backbone's
  # calibration of the interval widths: the damped trend is fitted to the same one-step
  # errors the rolling origin measures, so they understate the errors ahead; on M1 (300
  # series) 1 covered 75% / 89% of the test points at 80% / 95%, 1.15 covers 80% / 93%
  interval_scale = 1.15,
  season_test = 0.5,   # standard errors of the lag-m autocorrelation that make a season (has_season)
  max_windows = 5000L  # a network trains on the last max_windows windows at most (M1's
                       # series have fewer than 200): 100,000 points took hours, not minutes
)

# the settings, with options(tsattn.ensemble = list(...)) overriding any of them (used by
# bench/m1.R to measure alternatives)
ensemble_settings <- function() {
  s <- ensemble_defaults
  o <- getOption("tsattn.ensemble")
  if (is.list(o)) s[names(o)] <- o
  s
}

# ---- transform: log and season ---------------------------------------------------------

# TRUE when z has a season of period m: thetaf()'s test (Hyndman and Billah 2003), the
# lag-m autocorrelation beyond `z_crit` standard errors. thetaf() uses 1.645 (a 90% test);
# the default's 0.5 (settings$season_test) adjusts far more series: on M1 a season that
# the stricter test misses still helps on average (bench/m1.R, the backbone alone: MASE
# monthly 0.90 vs 0.96, quarterly 1.48 vs 1.47 on the 300-series sample; on the other 620
# seasonal series, monthly 1.07 vs 1.12 and quarterly 1.64 vs 1.68)
has_season <- function(z, m, z_crit = stats::qnorm(0.95)) {
  n <- length(z)
  if (m <= 1 || n < 2 * m + 1 || stats::sd(z) == 0) return(FALSE)
  r <- as.numeric(stats::acf(z, lag.max = m, plot = FALSE)$acf)[-1L]
  se <- sqrt((1 + 2 * sum(r[-m]^2)) / n)
  abs(r[m]) / se > z_crit
}

series_transform_fit <- function(y, lambda = "auto", z_crit = stats::qnorm(0.95)) {
  v <- as.numeric(y)
  use_log <- if (identical(lambda, "auto")) all(v > 0) else !is.null(lambda)
  z <- if (use_log) log(v) else v
  m <- as.integer(round(stats::frequency(y)))
  season <- NULL
  if (has_season(z, m, z_crit)) {
    season <- as.numeric(stats::decompose(stats::ts(z, frequency = m), type = "additive")$figure)
  }
  list(log = use_log, m = m, season = season, start_cycle = as.integer(stats::cycle(y)[1L]))
}

# seasonal index of observations at positions `idx` (1 = the first observation)
season_at <- function(tf, idx) {
  if (is.null(tf$season)) return(rep(0, length(idx)))
  tf$season[(idx - 1L + tf$start_cycle - 1L) %% tf$m + 1L]
}

series_transform_apply <- function(tf, v, idx = seq_along(v)) {
  z <- if (tf$log) log(v) else v
  z - season_at(tf, idx)
}

series_transform_invert <- function(tf, z, idx) {
  if (is.matrix(z)) z <- sweep(z, 2L, season_at(tf, idx), "+") else z <- z + season_at(tf, idx)
  if (tf$log) exp(z) else z
}

# ---- backbone: Theta at every origin ---------------------------------------------------

ses_levels <- function(a, alpha) {
  as.numeric(stats::filter(alpha * a, 1 - alpha, method = "recursive", init = a[1L]))
}

# list(level [n], drift [n], alpha, trends): the SES level after each observation and half
# the slope of the least-squares line through the observations up to it (Theta's drift),
# and the states of the damped trend and, for a non-seasonal series (m = 1), Holt's linear
# trend (damped_backbone; theta_forecast averages them)
theta_backbone <- function(a, m = 1L) {
  n <- length(a)
  sse <- function(alpha) {
    l <- ses_levels(a, alpha)
    sum((a[-1L] - l[-n])^2)
  }
  alpha <- if (n >= 3L) stats::optimize(sse, c(0.05, 1))$minimum else 0.5
  level <- ses_levels(a, alpha)
  t <- as.double(seq_len(n)) # doubles: t * t overflows an integer beyond 46,340 points
  st <- cumsum(t); sa <- cumsum(a); stt <- cumsum(t * t); sta <- cumsum(t * a)
  den <- t * stt - st^2
  slope <- ifelse(den > 0, (t * sta - st * sa) / pmax(den, 1e-12), 0)
  trends <- list(damped = damped_backbone(a))
  if (m <= 1L) trends$holt <- damped_backbone(a, phi = 1)
  list(level = level, drift = slope / 2, alpha = alpha, trends = trends)
}

# damped-trend exponential smoothing (Gardner and McKenzie 1985) after each observation:
#   l_t = alpha a_t + (1 - alpha)(l_{t-1} + phi b_{t-1})
#   b_t = beta (l_t - l_{t-1}) + (1 - beta) phi b_{t-1}
# list(level, trend, sse): the states after each observation and the one-step squared error
damped_states <- function(a, alpha, beta, phi, states = TRUE) {
  # the recursion in C (src/ta_smooth.c): the optimizer below calls it hundreds of times
  .Call(C_damped_states, as.double(a), as.double(alpha), as.double(beta), as.double(phi),
        states)
}

# the damped trend's smoothing parameters by least one-step squared error (beta as a share
# of alpha; phi = 1 given: Holt's linear trend); list(level [n], trend [n], phi).
# phi in [0.8, 1]: ets() stops at 0.98, but a series with a steady trend needs more (on
# AirPassengers' last two years, test-forecast.R, the backbone's MASE is 1.92 against 2.04
# at 0.98), and on M1 the backbone of Theta and the damped trend scored about the same
# (MASE on the 300-series sample 2.109 against 2.108; on the other 701 series 1.389
# against 1.390, yearly 3.07 against 3.12)
damped_backbone <- function(a, phi = NULL) {
  free <- is.null(phi)
  obj <- function(p) damped_states(a, p[1L], p[1L] * p[2L], if (free) p[3L] else phi, FALSE)$sse
  start <- c(0.5, 0.1, 0.9)
  lower <- c(0.01, 0.01, 0.8)
  upper <- c(1, 1, 1)
  keep <- if (free) 1:3 else 1:2
  p <- start[keep]
  if (length(a) >= 4L)
    p <- stats::optim(p, obj, method = "L-BFGS-B", lower = lower[keep], upper = upper[keep])$par
  if (!free) p[3L] <- phi
  st <- damped_states(a, p[1L], p[1L] * p[2L], p[3L])
  list(level = st$level, trend = st$trend, phi = p[3L])
}

# the backbone's forecasts [length(origins), H] made at each origin (an index of a): the
# mean of Theta's and the trends' (bb$trends: the damped trend, and for non-seasonal series
# Holt's linear trend as well), as the M4 competition's "Comb" benchmark averages simple
# exponential smoothing with Holt's and the damped trend (Makridakis, Spiliotis and
# Assimakopoulos 2020) on the seasonally adjusted series. On M1 (the backbone alone,
# bench/m1.R's 300-series sample; in brackets the other 701 series): Theta and the damped
# trend beat Theta alone in every period (MASE yearly 3.95 vs 4.02, quarterly 1.48 vs 1.52,
# monthly 0.90 vs 0.92 with the season test of has_season), and adding Holt's trend helps
# yearly series (3.68 [2.86] vs 3.95 [3.12]) but not seasonal ones (quarterly 1.54 [1.67]
# vs 1.48 [1.64], monthly 0.95 [1.15] vs 0.90 [1.07]), so it is used for m = 1 only.
theta_forecast <- function(bb, origins, H) {
  a <- bb$alpha
  k <- seq_len(H) - 1L
  adj <- (1 - (1 - a)^origins) / a
  fc <- bb$level[origins] + bb$drift[origins] * outer(adj, k, "+")
  for (d in bb$trends) fc <- fc + d$level[origins] + outer(d$trend[origins], cumsum(d$phi^seq_len(H)))
  fc / (1 + length(bb$trends))
}

# theta_forecast() as a line plus a damped trend at each origin, the form the global
# model's windows are cut with in C (src/ta_windows.h): forecast k + 1 steps ahead =
# start + slope k + damp (phi^2 + ... + phi^(k+1)). Holt's trend (phi = 1) is linear.
# Kept beside theta_forecast(): test-global.R checks that the two agree.
backbone_lines <- function(bb, origins) {
  w <- 1 / (1 + length(bb$trends))
  slope <- bb$drift[origins]
  damp <- numeric(length(origins))
  phi <- 1
  for (d in bb$trends) {
    if (d$phi == 1) {
      slope <- slope + d$trend[origins]
    } else {
      damp <- damp + d$trend[origins]
      phi <- d$phi
    }
  }
  list(start = theta_forecast(bb, origins, 1L)[, 1L], slope = w * slope, damp = w * damp,
       phi = rep(phi, length(origins)))
}

# ---- windows ---------------------------------------------------------------------------

# the normalised window ending at each origin [length(origins), L, 1] and, where the
# targets are known, what the backbone misses at steps 1..H [., 1, H]
remainder_windows <- function(a, bb, origins, L, H, scale, targets = TRUE) {
  x <- array(0, c(length(origins), L, 1L))
  for (i in seq_along(origins)) {
    o <- origins[i]
    # inputs before the first observation repeat it (a global model's lookback may be
    # longer than a short member of the collection; as ta_windows.c does)
    x[i, , 1L] <- (a[pmax(1L, (o - L + 1L):o)] - bb$level[o]) / scale
  }
  if (!targets) return(list(x = x))
  fc <- theta_forecast(bb, origins, H)
  obs <- t(vapply(origins, function(o) a[o + seq_len(H)], numeric(H)))
  if (H == 1L) obs <- matrix(obs, ncol = 1L)
  list(x = x, y = array((obs - fc) / scale, c(length(origins), 1L, H)))
}

# windows x [N, L, 1] with a global model's static covariates of their series (a
# numeric vector, NULL for none) after the value at every step: [N, L, 1 + P]
with_static <- function(x, static) {
  P <- length(static)
  if (!P) return(x)
  d <- dim(x)
  out <- array(rep(static, each = d[1L] * d[2L]), c(d[1L], d[2L], 1L + P))
  out[, , 1L] <- x[, , 1L]
  out
}

remainder_network <- function(H, width) {
  sequential(layer_dense(width), layer_positional_encoding(),
             layer_attention(score = "scaled_dot", causal = TRUE),
             layer_last_step(), layer_dense(width, activation = "relu"), layer_dense(H))
}

# lookbacks of the members: a season or two (4 to 10 steps for yearly data), at most
# what leaves `min_win` training windows
member_lookbacks <- function(n, m, H, members, min_win = 4L) {
  base <- if (m > 1L) c(m, 2L * m, m + m %/% 2L) else c(5L, 8L, 4L, 10L, 6L)
  most <- max(2L, n - H - min_win + 1L)
  lb <- pmax(2L, pmin(base, most))
  rep_len(lb, members)
}

# steps the networks predict at once: the default horizon (two seasons, 10 for
# non-seasonal series), fewer where the series would leave fewer than `min_win` windows
# of the shortest lookback
remainder_horizon <- function(n, m, min_win = 4L) {
  want <- if (m > 1L) 2L * m else 10L
  shortest <- if (m > 1L) m else 4L
  as.integer(max(1L, min(want, n - shortest - min_win + 1L)))
}

# ---- the fit -----------------------------------------------------------------------------

# one series through the pipeline up to the networks: its transform, the adjusted series,
# the backbone and the scale of the remainder (the backbone's one-step errors); shared by
# the single-series default and the global model of a collection (R/global.R)
remainder_prep <- function(y, lambda = "auto", s = ensemble_settings()) {
  n <- length(y)
  tf <- series_transform_fit(y, lambda, s$season_test)
  a <- series_transform_apply(tf, as.numeric(y))
  bb <- theta_backbone(a, tf$m)
  e1 <- a[-1L] - theta_forecast(bb, seq_len(n - 1L), 1L)[, 1L]
  scale <- if (n > 2L) stats::sd(e1) else NA_real_
  if (!is.finite(scale) || scale < 1e-8 * max(1, abs(mean(a)))) scale <- 1
  list(transform = tf, adjusted = a, backbone = bb, scale = scale)
}

fit_ensemble <- function(y, lambda, seed, device, verbose, dots, call) {
  s <- ensemble_settings()
  n <- length(y)
  if (n < 5L)
    stop_arg("y", "at least 5 observations (no model is fitted to fewer)", sprintf("%d", n), verb = "have")
  p <- remainder_prep(y, lambda, s)
  tf <- p$transform
  a <- p$adjusted
  bb <- p$backbone
  scale <- p$scale
  H <- remainder_horizon(n, tf$m)
  lbs <- member_lookbacks(n, tf$m, H, s$members)
  seeds <- with_seed(seed, lapply(seq_len(s$members), function(i) c(draw_seed(), draw_seed())))
  t0 <- proc.time()[["elapsed"]]
  # the networks' warnings (a diverged fit warns in each) are said once each, at the end
  warned <- character()
  collect <- function(w) {
    warned <<- c(warned, conditionMessage(w))
    invokeRestart("muffleWarning")
  }
  withCallingHandlers({
    members <- fit_members(a, bb, n, H, lbs, scale, s, seeds, device, verbose, dots, y, call)
    interrupted <- attr(members, "interrupted")
    attr(members, "interrupted") <- NULL
    in_members <- !is.null(interrupted)
    # the networks' share, chosen by rolling origin inside the series: members fitted on the
    # windows whose targets end v steps before the end forecast from every origin of those
    # last v steps; the share (of s$weights) with the least absolute error there is kept
    weight <- s$net_weight
    if (!is.null(interrupted)) {
      # interrupted among the members: the backbone alone forecasts (share 0); the
      # networks fitted so far are kept (attention(), or a look at their training)
      weight <- 0
    } else if (isTRUE(s$select_weight)) {
      weight <- select_weight(a, bb, n, H, lbs, scale, s, seeds, device, dots, y, call)
      # interrupted while choosing the share: all members are fitted, the default share
      interrupted <- attr(weight, "interrupted")
      weight <- as.numeric(weight)
    }
  }, warning = collect)
  for (w in unique(warned))
    warning(sprintf("in %d of the ensemble's network fits: %s", sum(warned == w), w), call. = FALSE)
  secs <- proc.time()[["elapsed"]] - t0
  lbs <- lbs[seq_along(members)]
  obj <- ensemble_object(y, members, p, H, s, weight, lbs, call, secs,
                         sprintf("tsattn ensemble of %d attention networks (lookback %s) on %s",
                                 length(members), paste(unique(lbs), collapse = "/"),
                                 backbone_label(tf)))
  if (!is.null(interrupted))
    signal_tsattn_interrupt(obj, if (in_members)
      sprintf("%s, in network %d of %d of the ensemble: the fit keeps the %d network%s fitted so far and forecasts with the backbone alone (the networks' share is 0)",
              conditionMessage(interrupted), length(members), s$members, length(members),
              if (length(members) > 1L) "s" else "")
    else
      sprintf("%s, while the ensemble chose the networks' share: the fit keeps its %d networks with the default share, %g",
              conditionMessage(interrupted), length(members), weight),
      call)
  obj
}

# what the backbone of a series with transform tf is, for the method's name
backbone_label <- function(tf) {
  sprintf("a Theta and damped-trend backbone%s%s", if (tf$log) ", log" else "",
          if (!is.null(tf$season)) ", seasonally adjusted" else "")
}

# the fitted object of one series (class tsattn_ensemble) from its members (fitted
# "tsattn" objects, one network each, lookbacks lbs) and its pipeline p (remainder_prep):
# one-step fitted values at every origin the longest lookback allows (unless given)
ensemble_object <- function(y, members, p, H, s, weight, lbs, call, secs, method,
                            fitted = NULL) {
  n <- length(y)
  tf <- p$transform
  a <- p$adjusted
  bb <- p$backbone
  scale <- p$scale
  names(members) <- sprintf("attention %d (lookback %d)", seq_along(members), lbs)
  for (i in seq_along(members)) members[[i]]$model <- names(members)[i]
  Lmax <- max(lbs)
  origins <- if (n - 1L >= Lmax && is.null(fitted)) Lmax:(n - 1L) else integer()
  if (is.null(fitted)) fitted <- rep(NA_real_, n)
  if (length(origins)) {
    corr <- remainder_predict(members, a, bb, origins, scale, weight, H, static = p$static)
    fc1 <- theta_forecast(bb, origins, 1L)[, 1L] + corr[, 1L]
    fitted[origins + 1L] <- series_transform_invert(tf, fc1, origins + 1L)
  }
  obj <- members[[1L]]
  obj$members <- members
  obj$model <- "auto"
  obj$transform <- tf
  obj$backbone <- bb
  obj$adjusted <- a
  obj$scale_remainder <- scale
  obj$static <- p$static # a global model's static covariates of the series (else NULL)
  obj$remainder_horizon <- H
  obj$settings <- s
  obj$net_weight <- weight
  obj$lookbacks <- lbs
  obj$log <- tf$log
  obj$call <- call
  obj$train_time <- secs
  obj$fitted <- like_series(fitted, y)
  obj$residuals <- like_series(as.numeric(y) - fitted, y)
  obj$method <- method
  class(obj) <- c("tsattn_ensemble", "tsattn")
  seal_fit(obj)
}

# the origins of a member's training windows: L..(last - H), the last max_windows of them
member_origins <- function(L, last, H, max_windows) {
  origins <- L:(last - H)
  if (length(origins) > max_windows) origins <- utils::tail(origins, max_windows)
  origins
}

# the ensemble's members fitted on the windows of origins L..(last - H) of `a`
fit_members <- function(a, bb, last, H, lbs, scale, s, seeds, device, verbose, dots, y, call) {
  # an interrupt (R/interrupt.R) ends the loop with the members fitted so far, the
  # interrupted one as of its completed epochs; the condition is kept in "interrupted"
  interrupted <- NULL
  members <- list()
  for (i in seq_along(lbs)) {
    L <- lbs[i]
    origins <- member_origins(L, last, H, s$max_windows)
    w <- remainder_windows(a, bb, origins, L, H, scale)
    net <- remainder_network(H, s$width)
    args <- list(net, w$x, w$y, epochs = s$epochs, batch_size = 32L,
                 optimizer = optimizer_adam(lr = s$lr, weight_decay = s$weight_decay),
                 seed = seeds[[i]][[2L]], device = device, verbose = verbose)
    # fit()'s arguments in `...` of tsattn() replace the ensemble's (an `optimizer` was
    # an error about a formal argument matched twice)
    named <- if (is.null(names(dots))) logical(length(dots)) else nzchar(names(dots))
    args[names(dots)[named]] <- dots[named]
    args <- c(args, dots[!named])
    fitted_net <- tryCatch(do.call(fit, args), tsattn_interrupt = function(e) {
      interrupted <<- e
      e$object
    })
    members[[i]] <- remainder_member(y, fitted_net, a, bb, L, scale, call)
    if (!is.null(interrupted)) break
  }
  structure(members, interrupted = interrupted)
}

# a member of the ensemble of series y: its network (lookback L) as a "tsattn" fit
# whose features are the last window (what attention() shows), with the series' static
# covariates (a global model's) after the value
remainder_member <- function(y, net, a, bb, L, scale, call, static = NULL) {
  last_w <- with_static(remainder_windows(a, bb, length(a), L, 1L, scale, targets = FALSE)$x, static)
  seal_fit(structure(list(x = y, model = "attention", network = net, lookback = L, horizon = 1L,
                          seq2seq = FALSE,
                          features = matrix(last_w[1L, , ], L, 1L + length(static)),
                          history = net$history, call = call),
                     class = "tsattn"))
}

# the networks' share of the remainder with the least absolute error over the last v
# origins (v = min(H, a fifth of the series)), from members fitted without those targets
select_weight <- function(a, bb, n, H, lbs, scale, s, seeds, device, dots, y, call) {
  v <- as.integer(min(H, floor(n / 5)))
  if (v < 1L || n - v - H < max(lbs) + 1L) return(0)
  val <- fit_members(a, bb, n - v, H, lbs, scale, s, seeds, device, FALSE, dots, y, call)
  if (!is.null(attr(val, "interrupted"))) return(structure(s$net_weight, interrupted = attr(val, "interrupted")))
  origins <- (n - v):(n - 1L)
  corr <- remainder_predict(val, a, bb, origins, scale, 1, H, device)
  choose_share(a, theta_forecast(bb, origins, H), corr, origins, s)
}

# the share among s$weights whose forecasts base + share x corr ([length(origins), H],
# made at `origins` of a) have the least absolute error over the known steps; a share
# > 0 only when its error is below s$margin times that of share 0
choose_share <- function(a, base, corr, origins, s) {
  H <- ncol(base)
  idx <- outer(origins, seq_len(H), `+`)
  actual <- matrix(a[ifelse(idx <= length(a), idx, NA)], nrow(idx))
  pick_share(share_errors(actual, base, corr, s$weights), s)
}

# the absolute errors of base + w x corr against actual (matrices [origins, H], actual NA
# where unknown), summed within each group of rows, for each share w in weights:
# [groups, length(weights)] (groups in order of first appearance)
share_errors <- function(actual, base, corr, weights, group = rep(1L, nrow(actual))) {
  g <- unique(group)
  matrix(vapply(weights, function(w) {
    e <- abs(actual - base - w * corr)
    e[is.na(e)] <- 0
    rowsum(rowSums(e), group, reorder = FALSE)[, 1L]
  }, numeric(length(g))), length(g))
}

# per row of err [groups, length(s$weights)]: the share with the least error, kept
# when > 0 only if its error is below s$margin times share 0's
pick_share <- function(err, s) {
  best <- max.col(-err, ties.method = "first")
  share <- s$weights[best]
  zero <- which(s$weights == 0)
  if (length(zero)) {
    worse <- share != 0 & err[cbind(seq_len(nrow(err)), best)] >= s$margin * err[, zero[1L]]
    share[worse] <- 0
  }
  share
}

# the members' average remainder [length(origins), H] on the adjusted scale, times weight
remainder_predict <- function(members, a, bb, origins, scale, weight, H, device = "cpu",
                              static = NULL) {
  if (weight == 0) return(matrix(0, length(origins), H))
  preds <- lapply(members, function(f) {
    w <- with_static(remainder_windows(a, bb, origins, f$lookback, 1L, scale, targets = FALSE)$x,
                     static)
    p <- predict(f$network, w, device = device)
    matrix(p, length(origins))
  })
  weight * scale * Reduce(`+`, preds) / length(preds)
}

# the standard deviation of the backbone's errors k = 1..h steps after each origin
# (rolling origin over the series), non-decreasing in k; a step with fewer than 3 errors
# grows from the last one that has them as sqrt(k)
origin_error_scale <- function(a, bb, h) {
  n <- length(a)
  sd_k <- rep(NA_real_, h)
  first <- min(3L, n - 1L)
  for (k in seq_len(h)) {
    origins <- first:(n - k)
    if (n - k < first || length(origins) < 3L) break
    e <- a[origins + k] - theta_forecast(bb, origins, k)[, k]
    sd_k[k] <- sqrt(mean(e^2))
  }
  known <- which(is.finite(sd_k))
  if (!length(known)) {
    sd_k[] <- stats::sd(diff(a)) * sqrt(seq_len(h))
  } else {
    K <- max(known)
    if (K < h) sd_k[(K + 1L):h] <- sd_k[K] * sqrt(((K + 1L):h) / K)
  }
  sd_k[!is.finite(sd_k) | sd_k <= 0] <- 1e-8
  cummax(sd_k)
}

#' @rdname forecast.tsattn
#' @rawNamespace S3method(forecast::forecast, tsattn_ensemble)
forecast.tsattn_ensemble <- function(object, h = NULL, level = c(80, 95), xreg = NULL,
                                     npaths = 1000, seed = NULL, device = "cpu", ...) {
  validate_ensemble(object)
  h <- forecast_h(object, h)
  level <- check_level(level)
  npaths <- check_count(npaths, "npaths")
  if (!is.null(xreg)) stop_arg("xreg", "NULL: the model was fitted without regressors", describe(xreg))
  device <- check_device(device, object$network)
  seeds <- check_seed(seed)
  a <- object$adjusted
  n <- length(a)
  corr <- remainder_predict(object$members, a, object$backbone, n, object$scale_remainder,
                            object$net_weight, object$remainder_horizon, device, object$static)
  ensemble_forecast(object, corr[1L, ], h, level, npaths, seeds)
}

# the forecast of a checked ensemble whose networks' remainder after the last observation
# is corr [H] (steps beyond H keep its last value): the backbone's forecast plus corr, and
# sample paths around it whose spread grows as the backbone's rolling-origin errors
ensemble_forecast <- function(object, corr, h, level, npaths, seeds) {
  s <- object$settings
  a <- object$adjusted
  n <- length(a)
  bb <- object$backbone
  H <- object$remainder_horizon
  corr <- c(corr, rep(corr[H], max(0L, h - H)))[seq_len(h)]
  point <- theta_forecast(bb, n, h)[1L, ] + corr
  sd_k <- origin_error_scale(a, bb, h) * s$interval_scale
  # paths: errors that accumulate along the path (a random walk), scaled to sd_k at step k
  u <- with_seed(seeds[[1L]], matrix(stats::rnorm(npaths * h), npaths, h))
  walk <- t(apply(u, 1L, cumsum))
  if (h == 1L) walk <- matrix(walk, ncol = 1L)
  walk <- sweep(walk, 2L, sqrt(seq_len(h)), "/")
  idx <- n + seq_len(h)
  paths <- sweep(sweep(walk, 2L, sd_k, "*"), 2L, point, "+")
  paths <- series_transform_invert(object$transform, paths, idx)
  forecast_object(object, array(paths, c(npaths, h, 1L)), h, level,
                  point = matrix(series_transform_invert(object$transform, point, idx), h, 1L))
}

#' @rdname forecast.tsattn
#' @export
predict.tsattn_ensemble <- function(object, h = NULL, level = c(80, 95), xreg = NULL,
                                    npaths = 1000, seed = NULL, device = "cpu",
                                    newdata = NULL, ...) {
  forecast.tsattn_ensemble(object, h = h, level = level, xreg = xreg, npaths = npaths,
                           seed = seed, device = device)
}

#' @rdname attention
#' @export
attention.tsattn_ensemble <- function(object, device = "cpu", ...) {
  validate_ensemble(object)
  fit_attention(object$members[[1L]], device)
}

#' @export
print.tsattn_ensemble <- function(x, ...) {
  cat(x$method, "\n", sep = "")
  print_series_line(x)
  np <- network_layout(x$network)$n_params
  cat(sprintf("networks: %d of %s parameters, %d epochs each, %.1f s in all; they predict %d step%s of the remainder at once\n",
              length(x$members), format(np, big.mark = ","), nrow(x$history), x$train_time,
              x$remainder_horizon, if (x$remainder_horizon > 1L) "s" else ""))
  cat(sprintf("backbone: Theta (SES alpha %.3f), damped trend (phi %.3f)%s, averaged\n",
              x$backbone$alpha, x$backbone$trends$damped$phi,
              if (is.null(x$backbone$trends$holt)) "" else " and Holt's linear trend"))
  invisible(x)
}

#' @export
summary.tsattn_ensemble <- function(object, ...) {
  print(object)
  cat("\n")
  print(object$network)
  invisible(object)
}
