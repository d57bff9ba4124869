# Forecast accuracy on the M1 competition (../shared/data/m1.tsv, or M1_DATA): the tsattn
# default against ets(), auto.arima(), thetaf(), snaive() (naive() for yearly series),
# nnetar() and the mean of the ETS, ARIMA and Theta forecasts, in one run, with the
# competition's own test parts and horizons (6 yearly, 8 quarterly, 18 monthly steps).
#
# M1 is the set the package's defaults are chosen on; other competitions (M3, Tourism,
# M4) and bench/accuracy.R's series are for reporting only.
#
# Sample: stratified by period. With --per-period N (default 100), N series drawn at
# random (set.seed(20240611)) in each of yearly, quarterly and monthly, so 3N in all;
# --per-period all takes all 1001. The overall means weigh each sampled series equally.
#
# Metrics: MASE with the in-sample seasonal-naive scale (mean |x_t - x_{t-m}| over the
# training part, m the frequency; as forecast::accuracy()); sMAPE (percent, 200 |y - f| /
# (|y| + |f|)); coverage of the 80% and 95% intervals over all test points; seconds per
# series (fit + forecast; tsattn with a 1000-path forecast, one thread).
#
# Parallel through future.apply with the caller's plan: from R, choose future::plan() and
# source this file; from the shell, R_FUTURE_PLAN=multisession (read by future at load) or
# --workers N, which sets plan(multisession, workers = N). future.seed = TRUE; every
# method also gets a seed of its own from the series' number, so a result does not depend
# on the plan, the order or what the cache already held.
#
# Cache: one .rds per series and method in --cache (default ~/.cache/tsattn/m1): a rerun
# fits only what is missing. The tsattn results are keyed by --label (default "default"):
# give a new label after changing the package, or remove its files
# (rm <cache>/*__tsattn-<label>.rds).
#
# Usage: Rscript bench/m1.R [--per-period N|all] [--workers N] [--cache DIR]
#          [--label L] [--methods ets,arima,...] [--compare L1,L2] [--out bench/M1-RESULTS.md]
#        make accuracy [M1_ARGS="--per-period 100 --workers 2"]
# --tsattn-args 'list(model = "gru")' passes arguments to tsattn() (for experiments; give
# them a --label of their own); --options 'list(tsattn.ensemble = list(members = 3))' sets
# R options in the workers before each tsattn fit (the default's settings, R/ensemble.R).
suppressPackageStartupMessages({
  library(forecast)
  library(future.apply)
})

args <- commandArgs(trailingOnly = TRUE)
opt <- function(name, default = NULL) {
  i <- match(paste0("--", name), args)
  if (is.na(i)) return(default)
  args[[i + 1L]]
}
data_file <- Sys.getenv("M1_DATA", file.path("..", "shared", "data", "m1.tsv"))
if (!file.exists(data_file)) data_file <- "/work/shared/data/m1.tsv"
per_period <- opt("per-period", "100")
workers <- opt("workers")
cache <- path.expand(opt("cache", "~/.cache/tsattn/m1"))
label <- opt("label", "default")
tsattn_args <- eval(parse(text = opt("tsattn-args", "list()")))
tsattn_options <- eval(parse(text = opt("options", "list()")))
compare <- opt("compare")
out_file <- opt("out", file.path("bench", "M1-RESULTS.md"))
all_methods <- c("tsattn", "ets", "arima", "theta", "snaive", "nnetar")
methods <- strsplit(opt("methods", paste(all_methods, collapse = ",")), ",")[[1]]
dir.create(cache, recursive = TRUE, showWarnings = FALSE)
if (!is.null(workers)) future::plan(future::multisession, workers = as.integer(workers))

m1 <- read.delim(data_file, stringsAsFactors = FALSE)
m1$num <- seq_len(nrow(m1))
freqs <- c(YEARLY = 1, QUARTERLY = 4, MONTHLY = 12)
set.seed(20240611)
pick <- unlist(lapply(names(freqs), function(p) {
  rows <- which(m1$period == p)
  if (identical(per_period, "all")) rows else sort(rows[sample.int(length(rows), min(length(rows), as.integer(per_period)))])
}))
sample_df <- m1[pick, ]

key <- function(id, method) {
  file.path(cache, sprintf("%s__%s.rds", id, if (method == "tsattn") paste0("tsattn-", label) else method))
}

# one method on one series: list(mean, lower [h, 2], upper [h, 2], secs)
run_method <- function(method, x, h, num) {
  options(tsattn.threads = 1L)
  if (method == "tsattn") options(tsattn_options)
  t0 <- proc.time()[["elapsed"]]
  fc <- switch(method,
    tsattn = {
      fit <- do.call(tsattn::tsattn, c(list(x, seed = num, verbose = FALSE), tsattn_args))
      forecast(fit, h = h, level = c(80, 95), npaths = 1000, seed = num)
    },
    ets = forecast(ets(x), h = h, level = c(80, 95)),
    arima = forecast(auto.arima(x), h = h, level = c(80, 95)),
    theta = thetaf(x, h = h, level = c(80, 95)),
    snaive = if (frequency(x) > 1) snaive(x, h = h, level = c(80, 95)) else naive(x, h = h, level = c(80, 95)),
    nnetar = {
      set.seed(num)
      forecast(nnetar(x), h = h) # point forecasts only (PI = TRUE would simulate 1000 paths of 20 networks)
    }
  )
  secs <- proc.time()[["elapsed"]] - t0
  lo <- if (is.null(fc$lower)) matrix(NA_real_, h, 2) else matrix(as.numeric(fc$lower), h)
  hi <- if (is.null(fc$upper)) matrix(NA_real_, h, 2) else matrix(as.numeric(fc$upper), h)
  list(mean = as.numeric(fc$mean), lower = lo, upper = hi, secs = secs)
}

series_of <- function(row) {
  x <- ts(as.numeric(strsplit(row$x, ",")[[1]]), frequency = freqs[[row$period]])
  list(x = x, xx = as.numeric(strsplit(row$xx, ",")[[1]]), h = row$h)
}

# the series x methods still missing from the cache
todo <- do.call(rbind, lapply(seq_len(nrow(sample_df)), function(i) {
  miss <- methods[!file.exists(vapply(methods, function(m) key(sample_df$id[i], m), ""))]
  if (length(miss)) data.frame(i = i, method = miss) else NULL
}))
if (!is.null(todo) && nrow(todo)) {
  cat(sprintf("m1: %d fits to run (%d series, methods %s) on %s; cache %s\n", nrow(todo),
              length(unique(todo$i)), paste(unique(todo$method), collapse = ","),
              sprintf("%d worker(s)", future::nbrOfWorkers()), cache))
  # longest first (monthly), grouped per series so each worker reads a series once
  jobs <- split(todo$method, todo$i)
  jobs <- jobs[order(-vapply(names(jobs), function(i) nchar(sample_df$x[as.integer(i)]), 1))]
  done <- future_lapply(names(jobs), function(i) {
    row <- sample_df[as.integer(i), ]
    s <- series_of(row)
    for (m in jobs[[i]]) {
      r <- tryCatch(run_method(m, s$x, s$h, row$num),
                    error = function(e) list(error = conditionMessage(e)))
      saveRDS(r, key(row$id, m))
    }
    TRUE
  }, future.seed = TRUE, future.packages = c("forecast", "tsattn"))
}

# ---- metrics -------------------------------------------------------------------------
read_result <- function(id, method, lab = label) {
  f <- file.path(cache, sprintf("%s__%s.rds", id, if (method == "tsattn") paste0("tsattn-", lab) else method))
  if (file.exists(f)) readRDS(f) else NULL
}
metrics <- function(r, s) {
  if (is.null(r) || !is.null(r$error)) return(c(mase = NA, smape = NA, c80 = NA, c95 = NA, n = 0, secs = NA))
  x <- as.numeric(s$x)
  m <- frequency(s$x)
  scale <- mean(abs(diff(x, lag = m)))
  e <- s$xx - r$mean
  c(mase = mean(abs(e)) / scale,
    smape = mean(200 * abs(e) / (abs(s$xx) + abs(r$mean))),
    c80 = sum(s$xx >= r$lower[, 1] & s$xx <= r$upper[, 1]),
    c95 = sum(s$xx >= r$lower[, 2] & s$xx <= r$upper[, 2]),
    n = length(e), secs = r$secs)
}
labels <- unique(c(label, if (!is.null(compare)) strsplit(compare, ",")[[1]]))
cols <- c(paste0("tsattn-", labels), "ets", "arima", "theta", "snaive", "nnetar", "comb")
per <- lapply(seq_len(nrow(sample_df)), function(i) {
  row <- sample_df[i, ]
  s <- series_of(row)
  res <- c(setNames(lapply(labels, function(l) read_result(row$id, "tsattn", l)), paste0("tsattn-", labels)),
           lapply(c(ets = "ets", arima = "arima", theta = "theta", snaive = "snaive", nnetar = "nnetar"),
                  function(m) read_result(row$id, m)))
  parts <- res[c("ets", "arima", "theta")]
  res$comb <- if (all(vapply(parts, function(p) !is.null(p) && is.null(p$error), NA))) {
    list(mean = Reduce(`+`, lapply(parts, `[[`, "mean")) / 3,
         lower = matrix(NA_real_, s$h, 2), upper = matrix(NA_real_, s$h, 2),
         secs = sum(vapply(parts, `[[`, 1, "secs")))
  } else NULL
  t(vapply(cols, function(m) metrics(res[[m]], s), numeric(6)))
})
arr <- simplify2array(per) # [method, metric, series]
period <- sample_df$period
errors <- lapply(labels, function(l) {
  ids <- sample_df$id[vapply(sample_df$id, function(id) { r <- read_result(id, "tsattn", l); !is.null(r$error) }, NA)]
  ids
})
names(errors) <- labels

sum_or_na <- function(v) if (all(is.na(v))) NA_real_ else sum(v, na.rm = TRUE)
summarise <- function(sel) {
  a <- arr[, , sel, drop = FALSE]
  ok <- apply(a[, "n", , drop = FALSE], 3, function(v) all(v > 0 | is.na(v)))
  data.frame(
    method = cols,
    series = apply(a[, "n", , drop = FALSE], 1, function(v) sum(v > 0)),
    MASE = apply(a[, "mase", , drop = FALSE], 1, mean, na.rm = TRUE),
    sMAPE = apply(a[, "smape", , drop = FALSE], 1, mean, na.rm = TRUE),
    cov80 = 100 * apply(a[, "c80", , drop = FALSE], 1, sum_or_na) / apply(a[, "n", , drop = FALSE], 1, sum),
    cov95 = 100 * apply(a[, "c95", , drop = FALSE], 1, sum_or_na) / apply(a[, "n", , drop = FALSE], 1, sum),
    secs_median = apply(a[, "secs", , drop = FALSE], 1, stats::median, na.rm = TRUE),
    secs_mean = apply(a[, "secs", , drop = FALSE], 1, mean, na.rm = TRUE),
    row.names = NULL
  )
}
groups <- list(all = rep(TRUE, length(period)), yearly = period == "YEARLY",
               quarterly = period == "QUARTERLY", monthly = period == "MONTHLY")
tabs <- lapply(groups, summarise)

# the same series for every method: a series where some method failed is left out of
# the "common" MASE (tsattn failures are listed)
fmt <- function(v, d = 3) ifelse(is.na(v), "-", formatC(v, format = "f", digits = d))
lines <- c(
  "# M1 accuracy",
  "",
  sprintf("%d M1 series (%s per period, drawn with set.seed(20240611); yearly %d, quarterly %d, monthly %d), the competition's test parts and horizons.",
          nrow(sample_df), per_period, sum(groups$yearly), sum(groups$quarterly), sum(groups$monthly)),
  "MASE: in-sample seasonal-naive scale (as forecast::accuracy); sMAPE in percent; coverage of the 80% and 95% intervals over all test points;",
  "seconds per series for fit + forecast on one core (tsattn: 1000 sample paths). comb = mean of the ets, arima and theta forecasts.",
  "tsattn-<label>: the tsattn default as benchmarked under that label (see the commands below).",
  "",
  "| method | MASE all | MASE yearly | MASE quarterly | MASE monthly | sMAPE all | sMAPE yearly | sMAPE quarterly | sMAPE monthly | 80% cov. | 95% cov. | s/series (median) | series |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for (j in seq_along(cols)) {
  lines <- c(lines, sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |", cols[j],
    fmt(tabs$all$MASE[j]), fmt(tabs$yearly$MASE[j]), fmt(tabs$quarterly$MASE[j]), fmt(tabs$monthly$MASE[j]),
    fmt(tabs$all$sMAPE[j], 2), fmt(tabs$yearly$sMAPE[j], 2), fmt(tabs$quarterly$sMAPE[j], 2), fmt(tabs$monthly$sMAPE[j], 2),
    fmt(tabs$all$cov80[j], 1), fmt(tabs$all$cov95[j], 1), fmt(tabs$all$secs_median[j], 2), tabs$all$series[j]))
}
cov_lines <- c("", "Interval coverage by period (80% / 95%, percent of test points):", "",
               "| method | yearly | quarterly | monthly |", "|---|---|---|---|")
for (j in seq_along(cols)) {
  if (all(is.na(c(tabs$all$cov80[j])))) next
  cov_lines <- c(cov_lines, sprintf("| %s | %s / %s | %s / %s | %s / %s |", cols[j],
    fmt(tabs$yearly$cov80[j], 1), fmt(tabs$yearly$cov95[j], 1), fmt(tabs$quarterly$cov80[j], 1),
    fmt(tabs$quarterly$cov95[j], 1), fmt(tabs$monthly$cov80[j], 1), fmt(tabs$monthly$cov95[j], 1)))
}
lines <- c(lines, cov_lines)
for (l in labels) {
  if (length(errors[[l]]))
    lines <- c(lines, "", sprintf("tsattn-%s failed on %d series: %s", l, length(errors[[l]]),
                                  paste(utils::head(errors[[l]], 20), collapse = ", ")))
}
# how often the first tsattn beats ets, series by series
t1 <- arr[paste0("tsattn-", label), "mase", ]
lines <- c(lines, "", sprintf("tsattn-%s has a lower MASE than ets() on %.0f%% of the series, than comb on %.0f%%.",
                              label, 100 * mean(t1 < arr["ets", "mase", ], na.rm = TRUE),
                              100 * mean(t1 < arr["comb", "mase", ], na.rm = TRUE)))
lines <- c(lines, "", sprintf("Command: `Rscript bench/m1.R %s`", paste(args, collapse = " ")),
           sprintf("%s; %s; %d cores; tsattn %s; forecast %s; %s", R.version.string, Sys.info()[["machine"]],
                   parallel::detectCores(), as.character(utils::packageVersion("tsattn")),
                   as.character(utils::packageVersion("forecast")), format(Sys.Date())))
cat(lines, sep = "\n")
if (nzchar(out_file)) writeLines(lines, out_file)
