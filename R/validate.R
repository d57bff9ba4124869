# Checks of fitted objects before use. A fit is a plain R list that can be edited or
# come back corrupted from an .rds file; were forecast(), predict() and attention() to
# trust its fields, `lookback` 2.5, `scale` 0, `center` of the wrong length, a NULL
# `val_resid`, `lag` -1, `seq2seq` TRUE on a GRU fit or a combination without one of
# its models would forecast without an error. Every field they
# read is checked here against the others and against the network, and a mismatch is
# an error naming the field.

validate_tsattn <- function(object, arg = "object", call = sys.call(-1L)) {
  field <- function(f) sprintf("%s$%s", arg, f)
  bad <- function(f, expected, given, verb = "be")
    stop_arg(field(f), expected, given, call = call, verb = verb)
  flag <- function(f) {
    v <- object[[f]]
    if (!is.logical(v) || length(v) != 1L || is.na(v)) bad(f, "TRUE or FALSE", describe(v))
    v
  }
  whole <- function(f, min, max) {
    v <- object[[f]]
    if (!is.numeric(v) || length(v) != 1L || !is.finite(v) || v != round(v) || v < min || v > max)
      bad(f, sprintf("a whole number in [%d, %d]", as.integer(min), as.integer(max)), describe(v))
    as.integer(v)
  }
  finite_vec <- function(f, len, positive = FALSE) {
    v <- object[[f]]
    if (!is.numeric(v) || length(v) != len || any(!is.finite(v)) || (positive && any(v <= 0)))
      bad(f, sprintf("%d finite%s number%s (one per %s)", len, if (positive) " positive" else "",
                     if (len > 1L) "s" else "", if (f %in% c("center", "scale")) "series" else "regressor"),
          if (is.numeric(v) && length(v) == len) paste(format(v), collapse = ", ") else describe(v))
    as.double(v)
  }
  finite_matrix <- function(v, f, nrow = NULL, ncol) {
    ok <- is.matrix(v) && is.numeric(v) && ncol(v) == ncol && nrow(v) >= 1L &&
      (is.null(nrow) || nrow(v) == nrow)
    if (!ok)
      bad(f, sprintf("a numeric matrix of %s%d column%s", if (is.null(nrow)) "" else sprintf("%d rows and ", nrow),
                     ncol, if (ncol > 1L) "s" else ""), describe(v))
    if (any(!is.finite(v))) bad(f, "free of NA, NaN and Inf", sprintf("%d such values", sum(!is.finite(v))))
  }

  if (!inherits(object, "tsattn") || !is.list(object))
    stop_arg(arg, "a fit from tsattn()", describe(object), call = call)
  y <- object$x
  if (!stats::is.ts(y) || !is.numeric(y) || any(!is.finite(y)))
    bad("x", "the fitted series: a numeric ts free of NA, NaN and Inf", describe(y))
  Y <- as.matrix(y)
  n <- nrow(Y)
  k <- ncol(Y)
  net <- object$network
  layout <- check_network(net, field("network"), call = call)
  if (layout$out_dim != k)
    bad("network", sprintf("a network with %d output%s (one per series of `%s`)", k,
                           if (k > 1L) "s" else "", field("x")),
        sprintf("one with %d", layout$out_dim))
  n_x <- net$input_dim - k
  if (n_x < 0L)
    bad("network", sprintf("a network with at least %d inputs (one per series)", k),
        sprintf("one with %d", net$input_dim))

  s2s <- flag("seq2seq")
  if (s2s != is_seq2seq(net))
    bad("seq2seq", sprintf("%s: its network %s", !s2s,
                           if (s2s) "has no seq2seq layer" else "is a seq2seq network"),
        describe(object$seq2seq))
  if (flag("log") && any(Y <= 0))
    bad("log", "FALSE for a series with values <= 0", "TRUE")
  lag <- whole("lag", 0, n - 1L)
  if (flag("difference") != (lag > 0L))
    bad("difference", sprintf("%s for lag = %d", lag > 0L, lag), format(object$difference))
  finite_vec("center", k)
  finite_vec("scale", k, positive = TRUE)

  # the feature series the windows come from: one row per (differenced) observation
  feat <- object$features
  if (is.matrix(feat) && nrow(feat) != n - lag && nrow(feat) >= 1L && nrow(feat) <= n)
    bad("lag", sprintf("%d, the fit's differencing lag (`%s` has %d rows for %d observations)",
                       n - nrow(feat), field("features"), nrow(feat), n), format(lag))
  finite_matrix(feat, "features", nrow = n - lag, ncol = net$input_dim)
  if (n_x == 0L) {
    if (!is.null(object$xreg)) bad("xreg", "NULL: the network has no regressor inputs", describe(object$xreg))
  } else {
    finite_matrix(object$xreg, "xreg", nrow = n, ncol = n_x)
    finite_vec("xreg_center", n_x)
    finite_vec("xreg_scale", n_x, positive = TRUE)
  }

  horizon <- if (s2s) net$layers[[1L]]$horizon else 1L
  if (!identical(object$horizon, horizon) && !isTRUE(all.equal(object$horizon, horizon)))
    bad("horizon", sprintf("%d, the steps the network predicts at once", horizon),
        describe(object$horizon))
  N <- n - lag
  lookback <- whole("lookback", 2, N - horizon)
  # the windows the network was trained on: one per in-sample residual row
  rs <- object$resid_scaled
  if (is.matrix(rs) && nrow(rs) != N - lookback - horizon + 1L) {
    trained <- N - horizon + 1L - nrow(rs)
    bad("lookback", sprintf("%d, the window the network was trained on (one residual row per window)",
                            trained), format(lookback))
  }
  if (!is.null(rs)) finite_matrix(rs, "resid_scaled", ncol = k)
  out_time(net, lookback, arg = field("lookback"), call = call)

  vr <- object$val_resid
  want <- if (s2s) horizon else 1L
  if (!is.list(vr) || length(vr) != want)
    bad("val_resid", sprintf("a list of %d matri%s of validation residuals (one per step ahead the network predicts)",
                             want, if (want > 1L) "ces" else "x"),
        if (is.list(vr)) sprintf("a list of %d", length(vr)) else describe(vr))
  for (i in seq_along(vr)) finite_matrix(vr[[i]], sprintf("val_resid[[%d]]", i), ncol = k)
  m <- object$method
  if (!is.character(m) || length(m) != 1L || is.na(m)) bad("method", "a single string", describe(m))
  # every field above is sound, but is it the fit's own? (a flipped bit is still a number)
  check_checksum(object, arg, call = call)
  invisible(object)
}

validate_combination <- function(object, arg = "object", call = sys.call(-1L)) {
  validate_tsattn(object, arg, call = call)
  members <- object$members
  models <- object$model
  if (!is.character(models) || length(models) < 1L || anyNA(models))
    stop_arg(sprintf("%s$model", arg), "the names of the combined models", describe(models), call = call)
  if (!is.list(members) || !identical(names(members), models))
    stop_arg(sprintf("%s$members", arg),
             sprintf("the fits of the %d combined models (%s), in that order", length(models),
                     paste(models, collapse = ", ")),
             if (is.list(members)) sprintf("a list of %d (%s)", length(members), paste(names(members), collapse = ", "))
             else describe(members), call = call)
  for (m in models) {
    f <- members[[m]]
    what <- sprintf("%s$members$%s", arg, m)
    if (is.list(f) && !identical(f$x, object$x))
      stop_arg(sprintf("%s$x", what), sprintf("the series of the combination (`%s$x`)", arg),
               "another series", call = call)
    validate_tsattn(f, what, call = call)
  }
  invisible(object)
}

# The default ensemble (R/ensemble.R): its members are fits of one attention network each
# that predicts `remainder_horizon` steps of the remainder at once from `lookback` points,
# so they are checked as such (not as one-step fits); the backbone, the adjusted series
# and the settings are checked where forecast.tsattn_ensemble reads them.
validate_ensemble <- function(object, arg = "object", call = sys.call(-1L)) {
  field <- function(f) sprintf("%s$%s", arg, f)
  bad <- function(f, expected, given) stop_arg(field(f), expected, given, call = call)
  if (!inherits(object, "tsattn_ensemble") || !is.list(object))
    stop_arg(arg, "a fit from tsattn()", describe(object), call = call)
  y <- object$x
  if (!stats::is.ts(y) || !is.numeric(y) || NCOL(y) != 1L || any(!is.finite(y)))
    bad("x", "the fitted series: a numeric ts of one series free of NA, NaN and Inf", describe(y))
  H <- object$remainder_horizon
  if (!is.numeric(H) || length(H) != 1L || !is.finite(H) || H < 1 || H != round(H))
    bad("remainder_horizon", "a whole number >= 1", describe(H))
  a <- object$adjusted
  if (!is.numeric(a) || length(a) != length(y) || any(!is.finite(a)))
    bad("adjusted", sprintf("%d finite numbers (the adjusted series)", length(y)), describe(a))
  for (f in c("scale_remainder", "net_weight")) {
    v <- object[[f]]
    if (!is.numeric(v) || length(v) != 1L || !is.finite(v) || v < 0) bad(f, "1 finite number >= 0", describe(v))
  }
  if (!is.list(object$backbone)) bad("backbone", "the Theta backbone (a list)", describe(object$backbone))
  members <- object$members
  if (!is.list(members) || length(members) < 1L)
    bad("members", "the ensemble's fitted networks (a non-empty list)", describe(members))
  st <- object$static
  if (!is.null(st) && (!is.numeric(st) || any(!is.finite(st))))
    bad("static", "NULL or the series' static covariates (finite numbers)", describe(st))
  F <- 1L + length(st)
  for (i in seq_along(members)) {
    m <- members[[i]]
    what <- sprintf("%s$members[[%d]]", arg, i)
    if (!is.list(m)) stop_arg(what, "a fitted member", describe(m), call = call)
    layout <- check_network(m$network, sprintf("%s$network", what), call = call)
    if (layout$out_dim != H || m$network$input_dim != F)
      stop_arg(sprintf("%s$network", what),
               sprintf("a network from %d input%s to %d outputs (`%s`)", F, if (F > 1L) "s" else "",
                       as.integer(H), field("remainder_horizon")),
               sprintf("one from %d to %d", m$network$input_dim, layout$out_dim), call = call)
    L <- m$lookback
    w <- m$features
    if (!is.numeric(L) || length(L) != 1L || !is.finite(L) || L < 1 || L != round(L) ||
        !is.matrix(w) || !is.numeric(w) || ncol(w) != F || nrow(w) != L || any(!is.finite(w)))
      stop_arg(sprintf("%s$lookback", what), "a whole number >= 1, the rows of its `features` (finite)",
               describe(L), call = call)
  }
  check_checksum(object, arg, call = call)
  invisible(object)
}
