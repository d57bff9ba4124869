# Fuzzing (issue 15): every registered .Call entry point and the main public functions
# get random, structurally plausible bad arguments (sizes whose products overflow,
# weights of the wrong length, NA in integer vectors, lengths beyond T, negative and
# huge counts, tampered $weights and $layers of networks and fits). Each trial runs in
# a forked child, so a crash or a hang is a failure here, not a dead suite: a trial must
# end in an R error or a value. A fixed seed and a bounded number of trials.

skip_on_os("windows")
skip_on_cran()

# runs expr in a forked child: "value", "error: <message>", or "crash" / "hang"
fuzz_child <- function(expr, secs = 20) {
  job <- parallel::mcparallel({
    options(tsattn.threads = 1)
    tryCatch({
      force(expr)
      "value"
    }, error = function(e) paste("error:", conditionMessage(e)),
       warning = function(w) "value") # a warning (e.g. non-finite output) is an answer
  }, silent = TRUE)
  t0 <- Sys.time()
  repeat { # mccollect(wait = TRUE) ignores its timeout: poll
    res <- parallel::mccollect(job, wait = FALSE, timeout = 0.05)
    if (!is.null(res)) break
    if (difftime(Sys.time(), t0, units = "secs") > secs) {
      tools::pskill(job$pid, tools::SIGKILL)
      parallel::mccollect(job, wait = FALSE, timeout = 1)
      return("hang")
    }
  }
  r <- res[[1L]]
  if (is.character(r) && length(r) == 1L) r else "crash"
}

# bad values for one argument, derived from its valid value v
mutants <- function(v) {
  big <- c(.Machine$integer.max, 2^21, 2^22, 2^31, 1e10, -1, 0, NA)
  out <- list(NULL, NA, NA_integer_, NA_real_, -1L, 0L, .Machine$integer.max, 1e10, -1e10,
              NaN, Inf, "a", list(), double(), integer(), TRUE, 2^31)
  if (is.numeric(v) && length(v) > 0L) {
    w <- v
    w[sample.int(length(w), 1L)] <- NA
    out <- c(out, list(w, v[-length(v)], c(v, v), -v, v * 1e6, if (is.integer(v)) as.double(v)
                       else suppressWarnings(as.integer(v))))
    if (length(v) <= 8L) {
      w <- v
      w[sample.int(length(w), 1L)] <- sample(big, 1L)
      out <- c(out, list(if (is.integer(v)) suppressWarnings(as.integer(w)) else w))
      if (length(v) %in% 3:4) out <- c(out, list(as.integer(c(2^21, 2^21, 2^22, 2^22)[seq_along(v)])))
    }
    if (is.matrix(v)) out <- c(out, list(t(v), v[, -1L, drop = FALSE], v[-1L, , drop = FALSE]))
  }
  # a list of named lists (a network's layer specs): one layer's spec mutated as below
  if (is.list(v) && is.null(names(v)) && length(v) > 0L && all(vapply(v, is.list, TRUE))) {
    k <- sample.int(length(v), 1L)
    m <- mutants(v[[k]])
    w <- v
    w[k] <- list(m[[sample.int(length(m), 1L)]])
    out <- c(out, list(w))
  }
  # a named list (a global model's windows, fit()'s settings, a layer's spec): one element
  # bad, or missing
  if (is.list(v) && !is.null(names(v)) && length(v) > 0L) {
    for (r in 1:3) {
      k <- sample.int(length(v), 1L)
      m <- mutants(v[[k]])
      w <- v
      w[k] <- list(m[[sample.int(length(m), 1L)]])
      out <- c(out, list(w, v[-k]))
    }
  }
  out
}

# valid arguments of every .Call entry point, on a small network
set.seed(20261204)
net <- sequential(layer_gru(3), layer_multihead_attention(1, key_dim = 2), layer_dense(1),
                  input_dim = 2)
s <- tsattn:::network_spec(net)
w <- tsattn:::flatten_weights(net$weights, tsattn:::check_network(net))
B <- 3L
T <- 5L
x <- runif(B * T * 2)
y <- runif(B * T)
dims <- c(B, T, 2L)
cfg <- tsattn:::train_settings(1L, 2L, FALSE, "mse", 0L, optimizer_adam(), FALSE, 0)
# a global model's network (one feature in, 2 values per window) and windows cut from two
# series of 12 and 8 values (src/ta_windows.h)
wnet <- sequential(layer_dense(3), layer_attention(causal = TRUE), layer_last_step(),
                   layer_dense(2), input_dim = 1)
ws <- tsattn:::network_spec(wnet)
ww <- tsattn:::flatten_weights(wnet$weights, tsattn:::check_network(wnet))
win <- list(z = runif(20), level = runif(20), start = runif(20), slope = runif(20),
            damp = runif(20), phi = rep(0.9, 20), inv_scale = rep(2, 20),
            origin = c(3, 5, 9, 13, 15), first = c(0, 0, 0, 12, 12), last = c(11, 11, 11, 19, 19),
            L = 4, H = 2)
# a seq2seq network for seq2seq forecasts (1 series and 1 regressor in, 2 steps out)
snet <- seq2seq(layer_gru(3), layer_gru(3), attention = "dot", horizon = 2, output_dim = 1,
                input_dim = 2)
ss <- tsattn:::network_spec(snet)
sw <- tsattn:::flatten_weights(snet$weights, tsattn:::check_network(snet))
valid <- list(
  C_net_layout = list(s, 2L, 5L),
  # the network's actions take the device last: -1 the CPU (a mutant such as 0L the GPU)
  C_net_fit_windows = list(ws, 1L, ww, win, cfg, 1, -1L),
  # tsattn()'s windows cut from rows: 12 rows of 1 feature and 2 targets, 8 windows of 4
  # rows and 1 step ahead, 5 training and 3 validating; the first 9 windows predicted
  C_net_fit_rows = list(ws, 1L, ww, matrix(runif(12), 12, 1), matrix(runif(24), 12, 2), 4L, 1L,
                        5L, 3L, cfg, 1, -1L),
  C_net_predict_rows = list(ws, 1L, ww, matrix(runif(12), 12, 1), 4L, 9L, 2L, -1L),
  C_net_init = list(s, 2L, 1),
  C_net_predict = list(s, 2L, w, x, dims, NULL, 2L, -1L),
  C_net_gradient = list(s, 2L, w, x, dims, NULL, y, "mse", FALSE, 1, -1L),
  C_net_fit = list(s, 2L, w, x, dims, c(5L, 4L, 3L), y, x, B, NULL, y, cfg, 1, -1L),
  C_net_attention = list(s, 2L, w, x, dims, NULL, -1L),
  C_net_simulate = list(s, 2L, w, runif(8), c(4L, 2L), runif(6), 3L, 5L, runif(10), 1L, 1, -1L),
  C_net_seq2seq_paths = list(ss, 2L, sw, runif(8), c(4L, 2L), runif(3), 3L, 5L,
                             matrix(c(1L, 4L, 2L), 5L, 3L),
                             list(matrix(runif(4), 4L, 1L), matrix(runif(4), 4L, 1L)), 1L, -1L),
  C_cuda_available = list(), C_cuda_built = list(), C_cuda_devices = list(),
  C_cuda_op_gemm = list(0L, runif(6), runif(6), runif(4), c(2L, 2L, 3L, 1L), FALSE, FALSE),
  C_cuda_op_act = list("relu", runif(4), runif(4), FALSE),
  C_cuda_op_adam = list(0L, runif(4), runif(4), runif(4), runif(4), c(1e-3, .9, .999, 1e-8), 1L),
  C_cuda_op_loss = list(0L, runif(4), runif(4), "mse"),
  C_cuda_op_dropout = list(0L, runif(4), 0.5, 1),
  C_cuda_blas_library = list(), C_cuda_emulated = list(),
  C_cuda_net_unsupported = list(s, 2L),
  C_positional_encoding = list(5L, 4L),
  C_set_threads = list(1L),
  C_poison_workspaces = list(FALSE),
  C_checksum = list(list(runif(3), double(), 1)),
  C_damped_states = list(runif(12), 0.3, 0.1, 0.9, TRUE),
  C_codes = list(),
  C_layer_specs = list(s)
)

test_that("the fuzz covers every registered .Call entry point", {
  reg <- names(getDLLRegisteredRoutines("tsattn")$.Call)
  expect_setequal(names(valid), reg)
})

test_that("every .Call entry point answers bad arguments with an error or a value", {
  n_arity <- vapply(getDLLRegisteredRoutines("tsattn")$.Call, `[[`, 1L, "numParameters")
  set.seed(15)
  bad <- character()
  for (ep in names(valid)) {
    args <- valid[[ep]]
    expect_length(args, n_arity[[ep]])
    sym <- get(ep, envir = asNamespace("tsattn"))
    if (length(args) == 0L) {
      r <- fuzz_child(.Call(sym))
      if (r %in% c("crash", "hang")) bad <- c(bad, sprintf("%s(): %s", ep, r))
      next
    }
    on_gpu <- startsWith(ep, "C_cuda")
    trials <- if (on_gpu) 6L else 14L
    for (k in seq_len(trials)) {
      a <- args
      for (j in sample.int(length(a), min(length(a), sample(1:2, 1L)))) {
        m <- mutants(a[[j]])
        a[j] <- list(m[[sample.int(length(m), 1L)]])
      }
      r <- fuzz_child(do.call(.Call, c(list(sym), a)))
      if (r %in% c("crash", "hang"))
        bad <- c(bad, sprintf("%s trial %d: %s (%s)", ep, k, r,
                              paste(vapply(a, function(v) paste(deparse(v, nlines = 1L), collapse = ""),
                                           ""), collapse = ", ")))
    }
  }
  expect_identical(bad, character())
})

test_that("public functions answer absurd and tampered arguments with an error or a value", {
  set.seed(1)
  yy <- ts(sin(1:60 / 3) + rnorm(60, sd = 0.1), frequency = 12)
  fit1 <- tsattn(yy, model = "gru", epochs = 2, verbose = FALSE)
  n1 <- sequential(layer_gru(4), layer_dense(1), input_dim = 1)
  x1 <- array(runif(10), c(2, 5, 1))
  tamper_net <- function(n) {
    switch(sample(6L, 1L),
      { i <- sample(length(n$weights), 1L); n$weights[[i]] <- n$weights[[i]][-1L]; n },
      { n$weights[[sample(length(n$weights), 1L)]] <- NA; n },
      { n$weights <- n$weights[-1L]; n },
      { n$layers[[1L]]$units <- sample(c(1e9L, -1L, NA, 0L), 1L); n },
      { n$built_layers <- NULL; n$layers[[1L]]$units <- sample(c(1e9L, .Machine$integer.max), 1L); n },
      { n$input_dim <- sample(c(1e9L, NA, -1L, 0L), 1L); n })
  }
  cases <- list(
    function() sequential(layer_dense(1e9), input_dim = 1),
    function() predict(sequential(layer_dense(1e9), input_dim = 1), x1),
    function() sequential(layer_gru(1e5), input_dim = 1),
    function() sequential(layer_multihead_attention(1e5), input_dim = 1e5),
    function() sequential(layer_transformer_encoder(2, 1e9), input_dim = 4),
    function() sequential(layer_dense(sample(c(-1, NA, 0, 2^31, 1e10, 2.5), 1L)), input_dim = 1),
    function() sequential(layer_gru(2, num_layers = sample(c(-1, 0, NA, 2^31), 1L)), input_dim = 1),
    function() sequential(layer_attention(key_dim = sample(c(.Machine$integer.max, -1, NA), 1L)), input_dim = 2),
    function() predict(n1, x1, batch_size = sample(list(-1, NA, 2^31, 1e10, 0), 1L)[[1L]]),
    function() predict(n1, x1, lengths = sample(list(c(6L, 1L), c(NA, 2L), c(-1L, 1L), 1L), 1L)[[1L]]),
    function() predict(n1, array(1, c(2, 5, 3))),
    function() predict(tamper_net(n1), x1),
    function() attention(tamper_net(n1), x1),
    function() set_weights(n1, list(1, 2, 3)),
    function() set_weights(n1, lapply(get_weights(n1), function(v) c(v, 1))),
    function() set_weights(n1, lapply(get_weights(n1), function(v) { v[1] <- NA; v })),
    function() fit(n1, x1, x1, epochs = sample(list(-1, NA, 2^31, 0), 1L)[[1L]], verbose = FALSE),
    function() fit(n1, x1, x1, batch_size = sample(list(-1, NA, 2^31, 0), 1L)[[1L]], epochs = 1, verbose = FALSE),
    function() fit(n1, x1, array(1, c(3, 5, 1)), epochs = 1, verbose = FALSE),
    function() fit(tamper_net(n1), x1, x1, epochs = 1, verbose = FALSE),
    function() tsattn(yy, model = "gru", horizon = sample(list(2^31, -1, NA, 0, 1e9), 1L)[[1L]], epochs = 1, verbose = FALSE),
    function() tsattn(yy, model = "gru", lookback = sample(list(2^31, -1, NA, 0, 1e9, 59, 60), 1L)[[1L]], epochs = 1, verbose = FALSE),
    function() forecast(fit1, h = sample(list(2^31, -1, NA, 0, 1e9), 1L)[[1L]]),
    function() forecast(fit1, npaths = sample(list(2^31, -1, NA, 0, 1e9), 1L)[[1L]]),
    function() forecast(fit1, level = sample(list(c(80, NA), 120, -5, "a"), 1L)[[1L]]),
    function() { f <- fit1; f$network <- tamper_net(f$network); forecast(f) },
    function() { f <- fit1; f[[sample(c("lookback", "scale", "center", "lag", "horizon"), 1L)]] <- sample(list(1e9, NA, -1, Inf, 0, NULL, c(1, 2)), 1L)[[1L]]; forecast(f) },
    function() { f <- fit1; f$network$weights <- NULL; predict(f$network, x1) },
    function() positional_encoding(sample(c(.Machine$integer.max, -1, NA, 1e10), 1L), 8),
    function() tsattn:::simulate_paths(n1, matrix(1, 4, 1), h = sample(c(2^31, 1e9, -1, NA), 1L), npaths = 2),
    function() tsattn:::simulate_paths(n1, matrix(1, 4, 1), h = 2, npaths = sample(c(2^31, 1e9, -1, NA), 1L))
  )
  bad <- character()
  for (rep in 1:3) for (i in seq_along(cases)) {
    r <- fuzz_child(cases[[i]]())
    if (r %in% c("crash", "hang")) bad <- c(bad, sprintf("case %d: %s %s", i, r, deparse(body(cases[[i]]))[1L]))
  }
  expect_identical(bad, character())
})

test_that("absurd sizes are an R error naming the argument, before any allocation", {
  t0 <- Sys.time()
  expect_error(sequential(layer_dense(1e9), input_dim = 1),
               "2000000000 weights, more than options\\(tsattn.max_weights\\).*layer 1, dense\\(1000000000\\).*fewer units")
  expect_error(sequential(layer_gru(1e5), input_dim = 1), "layer 1 has .* of them: give it fewer units")
  expect_lt(as.numeric(difftime(Sys.time(), t0, units = "secs")), 5)
  # the limit is an option
  old <- options(tsattn.max_weights = 10)
  on.exit(options(old), add = TRUE)
  expect_error(sequential(layer_dense(8), input_dim = 1), "16 weights, more than options\\(tsattn.max_weights\\) = 10")
})
