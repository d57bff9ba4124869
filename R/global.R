# A global model of a collection (tsattn(<list or data.frame>, global = TRUE)): every
# series through the default's pipeline (R/ensemble.R: log, season, Theta backbone, the
# remainder on the scale of the backbone's one-step errors), then one attention network
# per member trained on the windows of all series at once, as DeepAR, N-BEATS and the M4
# and M5 winners trained one model across series (Salinas et al. 2020; Oreshkin et al.
# 2020; Smyl 2020). Per-window normalisation (the origin's level, the series' scale)
# makes the windows of different series comparable.
#
# Memory: the windows are cut in C batch by batch (src/ta_windows.c) from the series,
# their backbone and scale, all of the collection's size; the only per-window storage is
# the three positions of each window (darts#2010 and neuralforecast#783 ran out of
# memory building every window up front).
#
# Each series' forecast is that of the single-series default with the global networks as
# its members (global_view(): a tsattn_ensemble), so forecast(), attention(), autoplot()
# and the intervals are the default's.

global_defaults <- list(
  members = 3L,       # networks averaged (seeds and lookbacks differ)
  width = 32L,        # model width: more data than one series carries
  steps = 800L,       # optimizer steps per member, whatever the collection's size
  min_epochs = 1L,    # passes over the windows: at least and at most (small
  max_epochs = 60L,   # collections, where `steps` would mean thousands of passes)
  batch_size = 128L,
  lr = 3e-3,
  weight_decay = 1e-2,
  loss = "mae",       # what MASE measures
  net_weight = 1,     # the networks' share of the remainder (without select_weight)
  # (the intervals and the season test are the single-series default's: ensemble_settings())
  select_weight = TRUE, # choose each series' share among `weights` by rolling origin
  weights = c(0, 0.5),
  margin = 0.8        # a share > 0 is kept only when its error is below margin x the backbone's
)

# the settings, options(tsattn.global = list(...)) overriding any of them
global_settings <- function() {
  s <- global_defaults
  o <- getOption("tsattn.global")
  if (is.list(o)) s[names(o)] <- o
  s
}

# the lookback of each member and the steps the networks predict at once (the
# single-series default's: a season or two; two seasons, 8 steps for yearly data), fewer
# steps where even the longest series would give no window (n: the series' lengths)
global_shape <- function(m, members, n) {
  base <- if (m > 1L) c(2L * m, m, m + m %/% 2L) else c(8L, 5L, 6L)
  want <- if (m > 1L) 2L * m else 8L
  list(lookbacks = rep_len(base, members), H = as.integer(max(1L, min(want, max(n) - 2L))))
}

# the series of a collection end to end, with each position's backbone (level; its
# forecast as backbone_lines() gives it) and scale, as ta_windows.h reads them;
# off: each series' offset (0-based), n: their lengths, stat: the static covariates
# [series, covariates] or NULL
global_flat <- function(prep) {
  n <- vapply(prep, function(p) length(p$adjusted), 1L)
  flat <- function(f) unlist(lapply(prep, f), use.names = FALSE)
  lines <- lapply(prep, function(p) backbone_lines(p$backbone, seq_along(p$adjusted)))
  part <- function(f) unlist(lapply(lines, `[[`, f), use.names = FALSE)
  list(z = flat(function(p) p$adjusted),
       level = flat(function(p) p$backbone$level),
       start = part("start"), slope = part("slope"), damp = part("damp"), phi = part("phi"),
       scale = rep(vapply(prep, `[[`, 1, "scale"), n),
       off = c(0, cumsum(as.numeric(n)))[seq_along(n)], n = n,
       stat = if (!is.null(prep[[1L]]$static))
         matrix(unlist(lapply(prep, `[[`, "static"), use.names = FALSE), length(prep), byrow = TRUE))
}

# origins from[i]..to[i] of the series ks[i] (to >= from), end to end: list(series, origin)
series_origins <- function(ks, from, to) {
  cnt <- as.integer(to - from + 1L)
  list(series = rep(ks, cnt), origin = sequence(cnt, from))
}

# the windows of every series for lookback L and H steps ahead, as ta_windows.h reads
# them: each series' origins from min(L, n - H) (at least 2 observations) to n - H, or
# to n - hold - H where `hold` (one per series) holds the last observations out
global_windows <- function(prep, L, H, hold = 0L, flat = global_flat(prep)) {
  n <- flat$n
  off <- flat$off
  nt <- n - hold
  o1 <- pmax(2L, pmin(L, nt - H))
  cnt <- pmax(0L, nt - H - o1 + 1L)
  has <- which(cnt > 0L)
  so <- series_origins(has, o1[has], nt[has] - H)
  origin <- off[so$series] + so$origin - 1
  first <- off[so$series]
  last <- off[so$series] + nt[so$series] - 1
  win <- list(z = flat$z, level = flat$level, start = flat$start, slope = flat$slope,
              damp = flat$damp, phi = flat$phi, inv_scale = 1 / flat$scale,
              origin = as.double(origin), first = as.double(first), last = as.double(last),
              L = as.double(L), H = as.double(H))
  if (!is.null(flat$stat)) {
    win$stat <- flat$stat
    win$series <- as.double(so$series - 1L)
  }
  win
}

# trains the (unbuilt) network `net` on windows `win`; the network with its history
fit_windows <- function(net, win, epochs, batch_size, optimizer, seed, device, verbose,
                        loss = "mse") {
  seed <- check_seed(seed)
  net <- build_network(net, 1L + if (is.null(win$stat)) 0L else ncol(win$stat), seed[[1L]])
  layout <- check_network(net)
  s <- network_spec(net)
  cf <- train_settings(epochs, batch_size, TRUE, loss, 0L, optimizer, verbose, 0)
  w <- flatten_weights(net$weights, layout)
  res <- .Call(C_net_fit_windows, s, net$input_dim, w, win, cf, seed[[2L]], device_id(device))
  trained_network(net, res, layout, 0L, verbose, sys.call())
}

fit_global <- function(series, args, seed, call) {
  s <- global_settings()
  device <- check_device(if (is.null(args$device)) "cpu" else args$device, call = call)
  verbose <- if (is.null(args$verbose)) FALSE else check_flag(args$verbose, "verbose", call = call)
  lambda <- if (is.null(args$lambda)) "auto" else args$lambda
  keys <- names(series)
  t0 <- proc.time()[["elapsed"]]
  es <- ensemble_settings()
  s$interval_scale <- es$interval_scale
  s$season_test <- es$season_test
  prep <- lapply(series, remainder_prep, lambda = lambda, s = es)
  stat <- static_matrix(args$static, keys, call)
  if (!is.null(stat)) for (k in seq_along(prep)) prep[[k]]$static <- unname(stat[k, ])
  t_prep <- proc.time()[["elapsed"]] - t0
  m <- prep[[1L]]$transform$m
  shape <- global_shape(m, s$members, lengths(series))
  H <- shape$H
  seeds <- with_seed(if (is.null(seed)) draw_seed() else seed,
                     lapply(seq_len(s$members), function(i) c(draw_seed(), draw_seed())))
  flat <- global_flat(prep)
  train <- function(hold) lapply(seq_len(s$members), function(i) {
    win <- global_windows(prep, shape$lookbacks[i], H, hold, flat)
    nw <- length(win$origin)
    if (nw < 1L) return(NULL) # (only with hold > 0: global_shape() leaves a window)
    # a large collection trains on a random share of its windows, `steps` batches of
    # them, each seen once (drawn from the member's seed: reproducible)
    most <- s$steps * s$batch_size
    if (nw > most) {
      keep <- sort(with_seed(seeds[[i]][[1L]], sample.int(nw, most)))
      win[c("origin", "first", "last")] <- lapply(win[c("origin", "first", "last")], `[`, keep)
      nw <- most
    }
    epochs <- min(s$max_epochs, max(s$min_epochs, ceiling(most / nw)))
    fit_windows(remainder_network(H, s$width), win, epochs, min(s$batch_size, nw),
                optimizer_adam(lr = s$lr, weight_decay = s$weight_decay), seeds[[i]][[2L]], device,
                verbose, s$loss)
  })
  nets <- train(0L)
  t_train <- proc.time()[["elapsed"]] - t0 - t_prep
  # each series' share of the networks, chosen by rolling origin inside it as the
  # single-series default does (select_weight()): networks trained without the last v
  # observations of every series forecast each series from its last v origins
  weights <- stats::setNames(rep(s$net_weight, length(keys)), keys)
  if (isTRUE(s$select_weight)) {
    n <- vapply(prep, function(p) length(p$adjusted), 1L)
    v <- pmax(0L, as.integer(pmin(H, floor(n / 5))))
    val_nets <- train(v)
    # too short to hold observations out: the backbone alone
    weights[] <- if (any(vapply(val_nets, is.null, NA))) 0
                 else global_select_weights(prep, val_nets, shape$lookbacks, v, H, s, device, flat)
  }
  secs <- proc.time()[["elapsed"]] - t0
  timing <- c(pipeline = t_prep, networks = t_train, shares = secs - t_prep - t_train)
  seal_fit(structure(list(
    series = series, prep = prep, networks = nets, net_weights = weights,
    static_names = colnames(stat),
    lookbacks = shape$lookbacks,
    remainder_horizon = H, settings = s, keys = keys, seeds = seeds, global = TRUE,
    model = "auto", frequency = stats::frequency(series[[1L]]),
    method = sprintf("tsattn: one global model of %d attention networks (lookback %s) for %d series, on Theta and damped-trend backbones",
                     length(nets), paste(unique(shape$lookbacks), collapse = "/"), length(keys)),
    train_time = secs, timing = timing, call = call
  ), class = c("tsattn_collection", "tsattn")), global_checksum_parts)
}

# one series of a global fit as the single-series default would hold it (a
# tsattn_ensemble whose members are the global networks)
global_view <- function(object, key, fitted = NULL) {
  y <- object$series[[key]]
  p <- object$prep[[key]]
  L <- object$lookbacks
  cl <- object$call
  cl$y <- as.name(key)
  members <- lapply(seq_along(object$networks), function(i)
    remainder_member(y, object$networks[[i]], p$adjusted, p$backbone, L[i], p$scale, cl,
                     p$static))
  s <- object$settings
  tf <- p$transform
  ensemble_object(y, members, p, object$remainder_horizon, s, object$net_weights[[key]], L, cl,
                  object$train_time,
                  sprintf("tsattn global model: %d attention networks (lookback %s) trained on %d series, on %s",
                          length(members), paste(unique(L), collapse = "/"), length(object$keys),
                          backbone_label(tf)), fitted)
}

# the forecasts of every series of a global fit: the networks' remainders after each
# series' last observation and at every origin of its one-step fitted values, in a few
# predicts for the whole collection; then each series' forecast as its view's
forecast_global <- function(object, h, level, npaths, seeds, device, call) {
  prep <- object$prep
  flat <- global_flat(prep)
  nets <- object$networks
  L <- object$lookbacks
  H <- object$remainder_horizon
  w <- object$net_weights
  n <- flat$n
  last <- global_remainder(flat, nets, L, flat$off + n, flat$off + 1, H, device,
                           series = seq_along(prep))
  # one-step fitted values at origins max(L)..n - 1, as ensemble_object() makes them
  o1 <- max(L)
  has <- n - 1L >= o1
  so <- series_origins(which(has), o1, n[has] - 1L)
  series <- so$series
  pos <- flat$off[series] + so$origin
  one <- global_remainder(flat, nets, L, pos, flat$off[series] + 1, H, device,
                          series = series)[, 1L]
  one <- split(one, factor(series, levels = seq_along(prep)))
  fcs <- lapply(seq_along(object$keys), function(k) {
    key <- object$keys[k]
    p <- prep[[k]]
    fitted <- rep(NA_real_, n[k])
    if (has[k]) {
      origins <- o1:(n[k] - 1L)
      corr <- w[[k]] * p$scale * one[[k]] / length(nets)
      fc1 <- theta_forecast(p$backbone, origins, 1L)[, 1L] + corr
      fitted[origins + 1L] <- series_transform_invert(p$transform, fc1, origins + 1L)
    }
    view <- global_view(object, key, fitted)
    fc <- tryCatch(ensemble_forecast(view, w[[k]] * p$scale * last[k, ] / length(nets), h,
                                     level, npaths, check_seed(seeds[[k]])),
                   error = function(e) stop(simpleError(sprintf("series \"%s\": %s", key, conditionMessage(e)),
                                                        call = call)))
    fc$series <- key
    fc
  })
  names(fcs) <- object$keys
  fcs
}

print_global <- function(x) {
  n <- vapply(x$series, length, 1L)
  cat(x$method, "\n", sep = "")
  cat(sprintf("series: %d, frequency %g, %d to %d observations\n", length(x$keys), x$frequency,
              min(n), max(n)))
  np <- network_layout(x$networks[[1L]])$n_params
  cat(sprintf("networks: %d of %s parameters, %d epochs each over the pooled windows; they predict %d steps of the remainder at once\n",
              length(x$networks), format(np, big.mark = ","), nrow(x$networks[[1L]]$history),
              x$remainder_horizon))
  tm <- x$timing
  cat(sprintf("fitted in %.1f s (%s); keys: %s%s\n", x$train_time,
              if (is.null(tm)) "" else sprintf("series pipelines %.1f s, networks %.1f s, their shares %.1f s",
                                               tm[["pipeline"]], tm[["networks"]], tm[["shares"]]),
              paste0("\"", utils::head(x$keys, 5L), "\"", collapse = ", "),
              if (length(x$keys) > 5L) ", ..." else ""))
  invisible(x)
}

summary_global <- function(object) {
  print_global(object)
  fr <- object$frequency
  df <- data.frame(
    key = object$keys,
    n = vapply(object$series, length, 1L),
    start = vapply(object$series, function(g) format_time(stats::time(g)[1L], fr), ""),
    end = vapply(object$series, function(g) format_time(utils::tail(stats::time(g), 1L), fr), ""),
    log = vapply(object$prep, function(p) p$transform$log, NA),
    seasonal = vapply(object$prep, function(p) !is.null(p$transform$season), NA),
    row.names = NULL, stringsAsFactors = FALSE)
  cat("\n")
  print(df, right = FALSE)
  invisible(df)
}

# the sum of the networks' predictions [length(pos), H] at many origins of many series
# at once (pos: 1-based positions in flat, first: the first position of each one's series,
# series: its index, for the static covariates):
# the windows of remainder_windows(), one predict per network and chunk of `chunk`
# windows (memory: the chunk's windows, not all of them). remainder_predict() gives
# weight x scale x this / length(nets) for one series' origins, and so do the callers.
global_remainder <- function(flat, nets, lookbacks, pos, first, H, device = "cpu",
                             chunk = 50000L, series = NULL) {
  N <- length(pos)
  out <- matrix(0, N, H)
  # about 2e7 input values per predict, however many covariates (a one-hot of 5000 series)
  width <- max(lookbacks) * (1L + if (is.null(flat$stat)) 0L else ncol(flat$stat))
  chunk <- as.integer(max(256L, min(chunk, floor(2e7 / width))))
  for (from in if (N > 0L) seq(1L, N, by = chunk) else integer()) {
    rows <- from:min(N, from + chunk - 1L)
    p <- pos[rows]
    sc <- flat$scale[p]
    for (i in seq_along(nets)) {
      L <- lookbacks[i]
      idx <- pmax(first[rows], outer(p, seq_len(L) - L, `+`))
      x <- array((matrix(flat$z[idx], length(rows), L) - flat$level[p]) / sc,
                 c(length(rows), L, 1L))
      if (!is.null(flat$stat)) { # the series' covariates at every step, after the value
        st <- flat$stat[series[rows], , drop = FALSE]
        xs <- array(0, c(length(rows), L, 1L + ncol(st)))
        xs[, , 1L] <- x[, , 1L]
        for (j in seq_len(ncol(st))) xs[, , 1L + j] <- st[, j]
        x <- xs
      }
      out[rows, ] <- out[rows, ] + matrix(predict(nets[[i]], x, device = device),
                                          length(rows), H)
    }
  }
  out
}

# each series' share among s$weights with the least absolute error over its last v[k]
# origins (select_weight()'s rule, for every series at once)
global_select_weights <- function(prep, nets, lookbacks, v, H, s, device, flat = global_flat(prep),
                                  chunk = 50000L) {
  n <- flat$n
  # (the global networks forecast series shorter than their lookback too)
  ok <- which(v >= 1L & n - v >= 2L)
  shares <- rep(0, length(prep))
  # groups of series with about `chunk` origins each: memory for their [origins, H]
  # matrices, not the whole collection's
  group <- cumsum(as.numeric(v[ok])) %/% chunk
  for (g in split(ok, group)) {
    so <- series_origins(g, n[g] - v[g], n[g] - 1L)
    series <- so$series
    o <- so$origin
    pos <- flat$off[series] + o
    corr <- flat$scale[pos] *
      global_remainder(flat, nets, lookbacks, pos, flat$off[series] + 1, H, device,
                       series = series) / length(nets)
    steps <- outer(o, seq_len(H), `+`)
    known <- steps <= n[series]
    actual <- matrix(flat$z[ifelse(known, pos + steps - o, NA)], length(o))
    rm(steps, known)
    by <- split(o, factor(series, levels = g))
    base <- do.call(rbind, Map(function(k, o_k) theta_forecast(prep[[k]]$backbone, o_k, H), g, by))
    err <- share_errors(actual, base, corr, s$weights, series)
    shares[g] <- pick_share(err, s)
  }
  shares
}

# ---- static covariates ----------------------------------------------------------------

# `static` of tsattn() as a numeric matrix [series, covariates] in the order of `keys`:
# a data.frame with a `key` column and one row per series (numeric and logical columns
# centred and scaled over the series; factor and character columns one-hot), or "key",
# the one-hot of the series themselves (the first dense layer's weights on it are a
# learned embedding of each series, as DeepAR's). NULL for none.
static_matrix <- function(static, keys, call = sys.call(-1L)) {
  if (is.null(static)) return(NULL)
  S <- length(keys)
  if (identical(static, "key")) {
    if (S > 5000L)
      stop_arg("static", "a data.frame of covariates, or \"key\" for at most 5000 series (a one-hot of each series)",
               sprintf("\"key\" for %d series", S), call = call)
    m <- diag(1, S)
    dimnames(m) <- list(keys, paste0("key:", keys))
    return(m)
  }
  if (!is.data.frame(static) || !"key" %in% names(static) || ncol(static) < 2L)
    stop_arg("static", "NULL, \"key\", or a data.frame with a `key` column and covariate columns, one row per series",
             describe(static), call = call)
  k <- as.character(static$key)
  miss <- setdiff(keys, k)
  if (anyNA(k) || anyDuplicated(k) || length(miss) || length(setdiff(k, keys)))
    stop_arg("static$key", "the series' keys, each once",
             if (length(miss)) sprintf("one without %s", paste0("\"", utils::head(miss, 3L), "\"", collapse = ", "))
             else "keys that are NA, repeated or not series of `y`", call = call)
  static <- static[match(keys, k), setdiff(names(static), "key"), drop = FALSE]
  cols <- lapply(names(static), function(nm) {
    v <- static[[nm]]
    if (anyNA(v)) stop_arg(sprintf("static$%s", nm), "free of NA", "NA values", call = call)
    if (is.numeric(v) || is.logical(v)) {
      v <- as.double(v)
      if (any(!is.finite(v))) stop_arg(sprintf("static$%s", nm), "finite", "Inf values", call = call)
      sd <- stats::sd(v)
      out <- matrix(if (is.finite(sd) && sd > 0) (v - mean(v)) / sd else v * 0, S, 1L)
      colnames(out) <- nm
      return(out)
    }
    if (is.factor(v) || is.character(v)) {
      lv <- if (is.factor(v)) levels(v) else sort(unique(v))
      out <- outer(as.character(v), lv, `==`) + 0
      colnames(out) <- paste0(nm, ":", lv)
      return(out)
    }
    stop_arg(sprintf("static$%s", nm), "numeric, logical, factor or character", describe(v), call = call)
  })
  m <- do.call(cbind, cols)
  rownames(m) <- keys
  m
}

# ---- checks --------------------------------------------------------------------------

# the numbers a global fit's forecasts read (as checksum_parts() lists a single fit's)
global_checksum_parts <- function(object) {
  num <- function(v) if (is.null(v)) double() else as.double(unlist(v, use.names = FALSE))
  c(lapply(object$series, function(y) c(num(y), num(stats::tsp(y)))),
    lapply(object$prep, num),
    unlist(lapply(object$networks, function(n) c(lapply(n$weights, num), list(num(n$input_dim)))),
           recursive = FALSE),
    list(num(object$lookbacks), num(object$remainder_horizon), num(object$net_weights),
         num(Filter(is.numeric, object$settings))))
}

# every field of a global fit that a forecast reads, then its checksum (R/checksum.R)
validate_global <- function(object, arg = "object", call = sys.call(-1L)) {
  field <- function(f) sprintf("%s$%s", arg, f)
  bad <- function(f, expected, given) stop_arg(field(f), expected, given, call = call)
  keys <- object$keys
  if (!is.character(keys) || !length(keys) || anyNA(keys) || anyDuplicated(keys))
    bad("keys", "the series' keys (distinct strings)", describe(keys))
  S <- length(keys)
  for (f in c("series", "prep"))
    if (!is.list(object[[f]]) || !identical(names(object[[f]]), keys))
      bad(f, sprintf("a list named by the %d keys", S), describe(object[[f]]))
  for (k in keys) {
    y <- object$series[[k]]
    p <- object$prep[[k]]
    if (!stats::is.ts(y) || !is.numeric(y) || any(!is.finite(y)))
      bad(sprintf("series[[\"%s\"]]", k), "a finite numeric ts", describe(y))
    if (!is.list(p) || !is.numeric(p$adjusted) || length(p$adjusted) != length(y) ||
        any(!is.finite(p$adjusted)) || !is.list(p$backbone) || !is.list(p$transform) ||
        !is.numeric(p$scale) || length(p$scale) != 1L || !is.finite(p$scale) || p$scale <= 0)
      bad(sprintf("prep[[\"%s\"]]", k), "the series' pipeline (adjusted series, backbone, transform, scale)",
          describe(p))
    if (!identical(length(p$static), length(object$prep[[1L]]$static)) ||
        (length(p$static) && (!is.numeric(p$static) || any(!is.finite(p$static)))))
      bad(sprintf("prep[[\"%s\"]]$static", k), "the series' static covariates (finite, as many as every series')",
          describe(p$static))
  }
  H <- object$remainder_horizon
  if (!is.numeric(H) || length(H) != 1L || !is.finite(H) || H < 1 || H != round(H))
    bad("remainder_horizon", "a whole number >= 1", describe(H))
  nets <- object$networks
  if (!is.list(nets) || !length(nets)) bad("networks", "a non-empty list of networks", describe(nets))
  L <- object$lookbacks
  if (!is.numeric(L) || length(L) != length(nets) || any(!is.finite(L)) || any(L < 1) || any(L != round(L)))
    bad("lookbacks", sprintf("%d whole numbers >= 1 (one per network)", length(nets)), describe(L))
  for (i in seq_along(nets)) {
    what <- sprintf("%s$networks[[%d]]", arg, i)
    layout <- check_network(nets[[i]], what, call = call)
    F <- 1L + length(object$prep[[1L]]$static)
    if (layout$out_dim != H || !identical(nets[[i]]$input_dim, F))
      stop_arg(what, sprintf("a network from %d input%s to %d outputs", F, if (F > 1L) "s" else "", as.integer(H)),
               sprintf("one from %s to %d", format(nets[[i]]$input_dim), layout$out_dim), call = call)
  }
  w <- object$net_weights
  if (!is.numeric(w) || length(w) != S || any(!is.finite(w)) || any(w < 0))
    bad("net_weights", sprintf("%d finite numbers >= 0 (one per series)", S), describe(w))
  check_checksum(object, arg, call = call, parts = global_checksum_parts)
  invisible(object)
}
