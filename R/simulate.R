# Sample paths of a recursive forecast, simulated in C (src/ta_forecast.c).
#
# `net` is a built network whose output's last time step holds the next values of the
# n_series = out_dim series. `window` [lookback, F] is the last observed window, F =
# n_series + n_xreg: row s holds (y_s, xreg_{s+1}), each row carrying the regressors of
# the step after it, so its last row already holds xreg_future[1, ]. Each step forwards
# every path's window, adds a residual row drawn uniformly from `resid` [n_resid,
# n_series] (whole rows, keeping the correlation between series), shifts the window up
# one row and appends (y, xreg_future[k + 1, ]). The mean path is advanced without noise
# (the point forecast); without `resid` every path equals it.
#
# Returns list(paths = array [npaths, h, n_series], mean = matrix [h, n_series]).
# `seed = NULL` draws the C generator's seed from R's RNG (so set.seed() governs it);
# a whole number gives what set.seed(seed) would, leaving the session's stream alone.
# `device` "cuda" (or "auto") simulates on the GPU (src/ta_forecast_cuda.cu).
simulate_paths <- function(net, window, h, npaths = 1000, resid = NULL, xreg_future = NULL,
                           seed = NULL, device = "cpu") {
  call <- sys.call()
  layout <- check_network(net, "net", call = call)
  n_series <- layout$out_dim
  window <- sim_matrix(window, "window", call = call)
  lookback <- nrow(window)
  if (ncol(window) != net$input_dim)
    stop_arg("window", sprintf("%d column%s (the network's input size)", net$input_dim,
                               if (net$input_dim > 1) "s" else ""),
             sprintf("%d", ncol(window)), call = call, verb = "have")
  n_xreg <- net$input_dim - n_series
  if (n_xreg < 0L)
    stop_arg("net", sprintf("a network with at most as many outputs as inputs (%d)", net$input_dim),
             sprintf("one with %d outputs", n_series), call = call)
  out_time(net, lookback, arg = "window", call = call)
  h <- check_count(h, "h", call = call)
  npaths <- check_count(npaths, "npaths", call = call)
  # absurd sizes (npaths or h of 1e9) are an error before any allocation: the paths are
  # npaths x h values per series, limited as the weights are (options(tsattn.max_weights))
  n_values <- as.double(npaths) * h
  if (n_values > max_weights())
    stop(sprintf("`npaths` x `h` = %d x %d = %.0f simulated values per series, more than options(tsattn.max_weights) = %.0f allows: use fewer paths or a shorter horizon",
                 npaths, h, n_values, max_weights()), call. = FALSE)

  if (n_xreg > 0L) {
    if (is.null(xreg_future))
      stop_arg("xreg_future", sprintf("a matrix of the %d future regressor value%s [h = %d, %d]",
                                      n_xreg, if (n_xreg > 1) "s" else "", h, n_xreg),
               "NULL", call = call)
    xreg_future <- sim_matrix(xreg_future, "xreg_future", call = call)
    if (nrow(xreg_future) != h || ncol(xreg_future) != n_xreg)
      stop_arg("xreg_future", sprintf("a %d x %d matrix (h rows, one column per regressor)", h, n_xreg),
               sprintf("%d x %d", nrow(xreg_future), ncol(xreg_future)), call = call, verb = "be")
    xf <- as.double(t(xreg_future))
  } else {
    if (!is.null(xreg_future))
      stop_arg("xreg_future", "NULL (the network's input has no regressor columns)",
               describe(xreg_future), call = call)
    xf <- double()
  }

  if (is.null(resid)) {
    rf <- double()
  } else {
    resid <- sim_matrix(resid, "resid", call = call)
    if (ncol(resid) != n_series)
      stop_arg("resid", sprintf("%d column%s (one per series)", n_series, if (n_series > 1) "s" else ""),
               sprintf("%d", ncol(resid)), call = call, verb = "have")
    rf <- as.double(t(resid))
  }
  device <- check_device(device, net, call = call)
  seed <- check_seed(seed, call = call)[[1L]]

  s <- network_spec(net)
  res <- .Call(C_net_simulate, s, net$input_dim, flatten_weights(net$weights, layout),
               as.double(t(window)), c(lookback, ncol(window)), xf, h, npaths, rf, n_series, seed,
               device_id(device))
  if (is.null(res)) signal_user_interrupt() # interrupted between chunks, memory freed
  nonfinite <- sum(!is.finite(res$paths))
  if (nonfinite > 0L)
    warning(sprintf("%d of the %d simulated values are not finite: the forecast diverges",
                    nonfinite, length(res$paths)), call. = FALSE)
  list(paths = from_core(res$paths, npaths, h, n_series),
       mean = matrix(res$mean, h, n_series, byrow = TRUE))
}

# a finite, non-empty numeric matrix (a vector is one column)
sim_matrix <- function(x, arg, call) {
  if (is.data.frame(x)) x <- as.matrix(x)
  if (!is.numeric(x) || (!is.null(dim(x)) && length(dim(x)) != 2L))
    stop_arg(arg, "a numeric matrix", describe(x), call = call)
  if (is.null(dim(x))) x <- matrix(x, ncol = 1L)
  if (nrow(x) == 0L || ncol(x) == 0L)
    stop_arg(arg, "a non-empty matrix", sprintf("one of dim %d x %d", nrow(x), ncol(x)), call = call)
  bad <- which(!is.finite(x))
  if (length(bad))
    stop_arg(arg, "finite", sprintf("%d missing or infinite value%s (first at row %d, column %d)",
                                    length(bad), if (length(bad) > 1) "s" else "",
                                    (bad[1L] - 1L) %% nrow(x) + 1L, (bad[1L] - 1L) %/% nrow(x) + 1L),
             call = call, verb = "be")
  storage.mode(x) <- "double"
  x
}
