# The tsattn side of bench/run.py (one child process per run; started by run.py, not by hand).
#
#   Rscript bench/bench_tsattn.R prepare  dir=D n=.. T=.. F=.. W=W2     writes D/W2.x.bin, D/W2.y.bin
#   Rscript bench/bench_tsattn.R train    dir=D W=W2 n=.. T=.. F=.. batch=.. epochs=.. threads=..
#   Rscript bench/bench_tsattn.R gemm     size=2048 reps=5 threads=..
#   Rscript bench/bench_tsattn.R forecast which=tsattn|nnetar threads=..
#   Rscript bench/bench_tsattn.R cuda                                 lines "CUDA key=value"
#
# GPU mode (run.py --device cuda): `train`, `gemm` and `forecast which=tsattn` take device=cuda
# and run fit()/predict()/tsattn()/forecast() with device = "cuda". Where a layer has no GPU
# path yet, fit() stops with "... layer N (kind) has no GPU implementation yet ..."; that is
# caught and the RESULT line is "nogpu=1 layer=N kind=K dropout=0|1" instead of timings.
# `forecast which=tsattn device=cuda` runs the whole job once, untimed, before the timed one.
# Data files hold doubles in R's column-major order of the array [n, T, F]. For `train` the
# initial weights come from D/W.weights.bin (doubles, each parameter in column-major order, in
# the order listed in D/W.weights.txt as "name d1 d2 ..."), written by run.py from the PyTorch
# model's initialisation, so that both sides start from the same point and do the same steps.
# Each command prints one line "RESULT key=value ..." that run.py parses.
suppressPackageStartupMessages(library(tsattn))
argv <- commandArgs(trailingOnly = TRUE)
cmd <- argv[1L]
kv <- strsplit(argv[-1L], "=", fixed = TRUE)
args <- setNames(vapply(kv, `[`, "", 2L), vapply(kv, `[`, "", 1L))
arg <- function(name, default = NULL) {
  if (name %in% names(args)) args[[name]] else if (!is.null(default)) default else
    stop("missing argument ", name)
}
int <- function(name, default = NULL) as.integer(arg(name, default))
device <- arg("device", "cpu")
threads <- int("threads", "0")
options(tsattn.threads = threads)
now <- function() as.numeric(Sys.time())
result <- function(...) {
  v <- list(...)
  cat("RESULT", paste0(names(v), "=", vapply(v, function(e) format(e, digits = 8), ""),
                       collapse = " "), "\n")
}

network_for <- function(W, F) {
  switch(W,
    W1 = sequential(layer_gru(4, num_layers = 2), layer_dense(1, activation = "tanh"), input_dim = F),
    W2 = sequential(layer_gru(64, num_layers = 2), layer_dense(1), input_dim = F),
    W3 = sequential(layer_lstm(64, num_layers = 2), layer_dense(1), input_dim = F),
    W4 = sequential(layer_dense(64), layer_positional_encoding(),
                    layer_transformer_encoder(heads = 4, d_ff = 256),
                    layer_transformer_encoder(heads = 4, d_ff = 256),
                    layer_dense(1), input_dim = F),
    W5cnn = {
      conv <- function() layer_conv1d(64, 5, activation = "relu")
      sequential(conv(), conv(), conv(), conv(), layer_conv1d(1, 5), input_dim = F)
    },
    W5att = {
      conv <- function() layer_conv1d(64, 5, activation = "relu")
      sequential(conv(), conv(), layer_attention(units = 64, key_dim = 96, score = "dot"),
                 layer_activation("relu"), conv(), layer_conv1d(1, 5), input_dim = F)
    },
    stop("unknown workload ", W))
}

# GPU mode: evaluate expr; if it stops because a layer has no GPU path, print the RESULT
# line that says so and quit (any other error stops the child, as on the CPU)
on_gpu <- function(expr) {
  if (device == "cpu") return(expr)
  tryCatch(expr, error = function(e) {
    msg <- conditionMessage(e)
    if (!grepl("has no GPU implementation", msg, fixed = TRUE)) stop(e)
    m <- regmatches(msg, regexec("layer ([0-9]+) \\(([^)]+)\\)", msg))[[1L]]
    result(nogpu = 1L, layer = if (length(m)) m[2L] else NA, kind = if (length(m)) gsub("[[:space:]=]+", "_", m[3L]) else "?",
           dropout = as.integer(grepl("dropout", msg, fixed = TRUE)))
    quit(save = "no", status = 0L)
  })
}

write_bin <- function(v, path) {
  con <- file(path, "wb"); on.exit(close(con))
  writeBin(as.double(v), con, size = 8L)
}
read_bin <- function(path, n) {
  con <- file(path, "rb"); on.exit(close(con))
  v <- readBin(con, "double", n = n + 1L, size = 8L)
  if (length(v) != n) stop(path, ": expected ", n, " doubles, found ", length(v))
  v
}

if (cmd == "prepare") {
  W <- arg("W"); dir <- arg("dir"); n <- int("n"); T <- int("T"); F <- int("F")
  set.seed(42)
  if (W == "W1") {
    # the first seed: a 5 Hz sine, one step ahead
    s <- sin(seq(0, 2 * pi * 5, length.out = T + 1L))
    x <- array(s[1:T], c(1L, T, 1L)); y <- array(s[2:(T + 1L)], c(1L, T, 1L))
  } else if (W %in% c("W2", "W3", "W4")) {
    # F random inputs; the target mixes a lagged input and a running mean (needs memory)
    x <- array(rnorm(n * T * F), c(n, T, F))
    y <- array(0, c(n, T, 1L))
    for (t in seq_len(T)) {
      lag <- if (t > 3L) x[, t - 3L, 2L] else 0
      y[, t, 1L] <- 0.5 * x[, t, 1L] + 0.4 * lag +
        0.3 * rowMeans(x[, max(1L, t - 9L):t, 3L, drop = FALSE])
    }
  } else if (W == "W5") {
    d <- toy_shapes(n, length = T)
    m <- mean(c(d$x, d$y)); s <- sd(c(d$x, d$y))
    x <- (d$x - m) / s; y <- (d$y - m) / s
  } else stop("unknown workload ", W)
  write_bin(x, file.path(dir, paste0(W, ".x.bin")))
  write_bin(y, file.path(dir, paste0(W, ".y.bin")))
  result(ok = 1L)
} else if (cmd == "train") {
  W <- arg("W"); data <- arg("data", W); dir <- arg("dir")
  n <- int("n"); T <- int("T"); F <- int("F"); batch <- int("batch"); epochs <- int("epochs")
  lr <- as.numeric(arg("lr", "0.001"))
  nd <- int("ndata", as.character(n))  # sequences in the data file; the first n are used
  x <- array(read_bin(file.path(dir, paste0(data, ".x.bin")), nd * T * F), c(nd, T, F))
  y <- array(read_bin(file.path(dir, paste0(data, ".y.bin")), nd * T), c(nd, T, 1L))
  x <- x[seq_len(n), , , drop = FALSE]
  y <- y[seq_len(n), , , drop = FALSE]
  net <- network_for(W, F)
  w <- get_weights(net)
  spec <- strsplit(readLines(file.path(dir, paste0(W, ".weights.txt"))), " ", fixed = TRUE)
  nm <- vapply(spec, `[`, "", 1L)
  if (!identical(nm, names(w)))
    stop("weight names differ: R has ", paste(names(w), collapse = ","), "; torch wrote ",
         paste(nm, collapse = ","))
  len <- vapply(w, length, 1L)
  v <- read_bin(file.path(dir, paste0(W, ".weights.bin")), sum(len))
  off <- 0L
  for (i in seq_along(w)) {
    w[[i]][] <- v[off + seq_len(len[i])]
    off <- off + len[i]
  }
  net <- set_weights(net, w)
  opt <- optimizer_adam(lr = lr)
  # warm-up (not timed, result discarded): one step on the first batch, as on the torch side
  tw <- now()
  invisible(on_gpu(fit(net, x[seq_len(min(batch, n)), , , drop = FALSE],
                       y[seq_len(min(batch, n)), , , drop = FALSE], epochs = 1L, batch_size = batch,
                       optimizer = opt, shuffle = FALSE, verbose = FALSE, device = device)))
  warmup <- now() - tw
  gc()
  t0 <- now()
  net <- fit(net, x, y, epochs = epochs, batch_size = batch, optimizer = opt, shuffle = FALSE,
             verbose = FALSE, device = device)
  secs <- now() - t0
  steps <- epochs * ceiling(n / batch)
  result(seconds = secs, steps = steps, final_loss = net$history$loss[epochs],
         first_loss = net$history$loss[1L], warmup = warmup)
} else if (cmd == "gemm") {
  # a dense layer without bias on [1, size, size] inputs: one size^3 matrix product, plus the
  # checks and conversions of predict() (R double <-> float32, transposes). The same call on
  # a linear activation layer (same input and output, no product) measures that overhead,
  # which is subtracted: gflops_kernel estimates the GEMM alone, gflops the whole predict().
  size <- int("size", "2048"); reps <- int("reps", "5")
  set.seed(1)
  net <- sequential(layer_dense(size, bias = FALSE), input_dim = size)
  idn <- sequential(layer_activation("linear"), input_dim = size)
  x <- array(rnorm(size * size), c(1L, size, size))
  invisible(predict(net, x, device = device)); invisible(predict(idn, x, device = device))
  time_of <- function(m) { t0 <- now(); invisible(predict(m, x, device = device)); now() - t0 }
  secs <- ovh <- numeric(reps)
  for (i in seq_len(reps)) { secs[i] <- time_of(net); ovh[i] <- time_of(idn) }
  s <- stats::median(secs); o <- stats::median(ovh)
  result(seconds = s, gflops = 2 * size^3 / s / 1e9, overhead = o,
         gflops_kernel = 2 * size^3 / max(s - o, 1e-9) / 1e9)
} else if (cmd == "forecast") {
  # W6: the R user's whole job on a monthly series of 144 points: fit, then 1000 sample paths
  suppressPackageStartupMessages(library(forecast))
  which <- arg("which"); h <- int("h", "24"); npaths <- int("npaths", "1000")
  y <- datasets::AirPassengers
  warmup <- NA
  if (which == "tsattn" && device != "cpu") { # GPU mode: the same job once, untimed
    set.seed(1)
    tw <- now()
    on_gpu(forecast(tsattn(y, verbose = FALSE, device = device), h = h, npaths = npaths,
                    device = device))
    warmup <- now() - tw
  }
  set.seed(1)
  t0 <- now()
  fit <- if (which == "tsattn") tsattn(y, verbose = FALSE, device = device) else nnetar(y)
  t1 <- now()
  fc <- if (which == "tsattn") forecast(fit, h = h, npaths = npaths, device = device) else
    forecast(fit, h = h, PI = TRUE, npaths = npaths)
  t2 <- now()
  res <- as.numeric(stats::na.omit(residuals(fc)))
  out <- list(seconds = t2 - t0, fit_seconds = t1 - t0, forecast_seconds = t2 - t1,
              final_loss = sqrt(mean(res^2)), steps = 1L,
              epochs = if (which == "tsattn") nrow(fit$network$history) else NA)
  if (!is.na(warmup)) out$warmup <- warmup
  do.call(result, out)
} else if (cmd == "cuda") {
  # GPU mode's check before anything is timed (run.py's check_cuda())
  d <- cuda_devices()
  u <- d[d$usable, , drop = FALSE]
  cat("CUDA available=", cuda_available(), "\n", "CUDA built=", tsattn:::cuda_built(), "\n",
      "CUDA version=", as.character(packageVersion("tsattn")), "\n", sep = "")
  if (nrow(u))
    cat(sprintf("CUDA id=%d\nCUDA name=%s\nCUDA capability=%s\nCUDA memory_gb=%.1f\n",
                u$id[1L], u$name[1L], u$compute_capability[1L], u$memory_gb[1L]))
  if (!is.null(attr(d, "reason")))
    cat("CUDA reason=", gsub("[[:space:]]+", " ", attr(d, "reason")), "\n", sep = "")
} else stop("unknown command ", cmd)
