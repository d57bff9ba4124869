# Many series on M1 (issue 12): one global model (tsattn(<collection>, global = TRUE))
# against local models (the single-series default per series, global = FALSE) against
# thetaf() and ets(), on all M1 series of one period, in one run: MASE, sMAPE, interval
# coverage, and the seconds for the whole collection (fit + forecast with 1000 paths).
# Local models are timed with 1 worker and, with --workers 2, again with 2
# (future::plan(multisession)).
#
# M1 is the set the package's defaults are chosen on (other competitions are for
# reporting only).
#
# Usage: Rscript bench/m1-global.R [--period MONTHLY|QUARTERLY|YEARLY] [--workers 2]
#          [--cache DIR] [--local-sample N] [--classic ets,theta[,arima]] [--out FILE]
#          [--options 'list(...)']
# --cache: thetaf()/ets() results per series, shared with bench/m1.R's cache layout
# (<cache>/<id>__ets.rds); missing ones are computed and stored. --classic adds arima
# (and with it comb, the mean of the ETS, ARIMA and Theta forecasts; slow on monthly). --local-sample N: time
# and score the local models on the first N series only (0: skip them).
suppressPackageStartupMessages({
  library(forecast)
  library(future.apply)
  library(tsattn)
})
args <- commandArgs(trailingOnly = TRUE)
opt <- function(name, default = NULL) {
  i <- match(paste0("--", name), args)
  if (is.na(i)) default else args[[i + 1L]]
}
period <- opt("period", "MONTHLY")
workers <- as.integer(opt("workers", "1"))
cache <- path.expand(opt("cache", "~/.cache/tsattn/m1"))
local_n <- opt("local-sample", "all")
out_file <- opt("out", "")
options(eval(parse(text = opt("options", "list()"))))
options(tsattn.threads = 1L)
dir.create(cache, recursive = TRUE, showWarnings = FALSE)
data_file <- Sys.getenv("M1_DATA", file.path("..", "shared", "data", "m1.tsv"))
if (!file.exists(data_file)) data_file <- "/work/shared/data/m1.tsv"
m1 <- read.delim(data_file, stringsAsFactors = FALSE)
m1$num <- seq_len(nrow(m1))
m1 <- m1[m1$period == period, ]
freq <- c(YEARLY = 1, QUARTERLY = 4, MONTHLY = 12)[[period]]
series <- lapply(m1$x, function(s) ts(as.numeric(strsplit(s, ",")[[1]]), frequency = freq))
names(series) <- m1$id
test <- lapply(m1$xx, function(s) as.numeric(strsplit(s, ",")[[1]]))
names(test) <- m1$id
h <- m1$h[1L]
stopifnot(all(m1$h == h))

score <- function(mean, lower, upper, id) {
  x <- as.numeric(series[[id]])
  sc <- mean(abs(diff(x, lag = freq)))
  e <- test[[id]] - mean
  c(mase = mean(abs(e)) / sc, smape = mean(200 * abs(e) / (abs(test[[id]]) + abs(mean))),
    c80 = if (is.null(lower)) NA else mean(test[[id]] >= lower[, 1] & test[[id]] <= upper[, 1]),
    c95 = if (is.null(lower)) NA else mean(test[[id]] >= lower[, 2] & test[[id]] <= upper[, 2]))
}
of_forecast <- function(fc, id) {
  score(as.numeric(fc$mean), matrix(as.numeric(fc$lower), h), matrix(as.numeric(fc$upper), h), id)
}

# ---- classical methods (cached per series, as bench/m1.R stores them) ----------------
classic <- function(method) {
  t0 <- proc.time()[["elapsed"]]
  res <- lapply(m1$id, function(id) {
    f <- file.path(cache, sprintf("%s__%s.rds", id, method))
    r <- if (file.exists(f)) readRDS(f) else NULL
    if (is.null(r)) {
      x <- series[[id]]
      tt <- proc.time()[["elapsed"]]
      fc <- switch(method, ets = forecast(ets(x), h = h, level = c(80, 95)),
                   theta = thetaf(x, h = h, level = c(80, 95)),
                   arima = forecast(auto.arima(x), h = h, level = c(80, 95)))
      r <- list(mean = as.numeric(fc$mean), lower = matrix(as.numeric(fc$lower), h),
                upper = matrix(as.numeric(fc$upper), h), secs = proc.time()[["elapsed"]] - tt)
      saveRDS(r, f)
    }
    r
  })
  names(res) <- m1$id
  res
}
classic_methods <- strsplit(opt("classic", "ets,theta"), ",")[[1]]
cl <- lapply(setNames(classic_methods, classic_methods), classic)
rows <- list()
for (m in names(cl)) {
  sc <- t(vapply(m1$id, function(id) score(cl[[m]][[id]]$mean, cl[[m]][[id]]$lower, cl[[m]][[id]]$upper, id), numeric(4)))
  rows[[m]] <- c(colMeans(sc), secs = sum(vapply(cl[[m]], `[[`, 1, "secs")), series = nrow(sc))
}
if (all(c("ets", "theta", "arima") %in% names(cl))) {
  comb <- t(vapply(m1$id, function(id) score((cl$ets[[id]]$mean + cl$theta[[id]]$mean + cl$arima[[id]]$mean) / 3, NULL, NULL, id), numeric(4)))
  rows$comb <- c(colMeans(comb), secs = NA, series = nrow(comb))
}

# ---- the global model ------------------------------------------------------------------
t0 <- proc.time()[["elapsed"]]
gfit <- tsattn(series, global = TRUE, seed = 1)
t_fit <- proc.time()[["elapsed"]] - t0
t0 <- proc.time()[["elapsed"]]
gfc <- forecast(gfit, h = h, npaths = 1000, seed = 2)
t_fc <- proc.time()[["elapsed"]] - t0
sc <- t(vapply(m1$id, function(id) of_forecast(gfc$forecast[[id]], id), numeric(4)))
rows$`tsattn global` <- c(colMeans(sc), secs = t_fit + t_fc, series = nrow(sc))
cat(sprintf("global: fit %.1f s (%s), forecast %.1f s\n", t_fit,
            paste(names(gfit$timing), sprintf("%.1f s", gfit$timing), collapse = ", "), t_fc))

# ---- local models ---------------------------------------------------------------------
if (!identical(local_n, "0")) {
  ids <- if (identical(local_n, "all")) m1$id else m1$id[seq_len(as.integer(local_n))]
  run_local <- function(w) {
    if (w > 1L) future::plan(future::multisession, workers = w) else future::plan(future::sequential)
    t0 <- proc.time()[["elapsed"]]
    lfit <- tsattn(series[ids], global = FALSE, seed = 1)
    t_fit <- proc.time()[["elapsed"]] - t0
    lfc <- forecast(lfit, h = h, npaths = 1000, seed = 2)
    secs <- proc.time()[["elapsed"]] - t0
    future::plan(future::sequential)
    list(fc = lfc, secs = secs, fit = t_fit)
  }
  l1 <- run_local(1L)
  sc <- t(vapply(ids, function(id) of_forecast(l1$fc$forecast[[id]], id), numeric(4)))
  rows$`tsattn local` <- c(colMeans(sc), secs = l1$secs, series = nrow(sc))
  if (length(ids) < nrow(m1)) {
    sel <- match(ids, m1$id)
    for (m in setdiff(names(rows), "tsattn local")) rows[[paste(m, "(same series)")]] <- NA
  }
  if (workers > 1L) {
    l2 <- run_local(workers)
    same <- all(vapply(ids, function(id) identical(l1$fc$forecast[[id]]$mean, l2$fc$forecast[[id]]$mean), NA))
    rows[[sprintf("tsattn local, %d workers", workers)]] <- c(rows$`tsattn local`[1:4], secs = l2$secs, series = length(ids))
    local_line <- sprintf("local models: fit %.1f s with 1 worker, %.1f s with %d (ratio %.2f); fit + forecast %.1f s and %.1f s (ratio %.2f); identical forecasts: %s",
                          l1$fit, l2$fit, workers, l2$fit / l1$fit, l1$secs, l2$secs, l2$secs / l1$secs, same)
    cat(local_line, "\n")
  }
}

tab <- do.call(rbind, rows[!vapply(rows, function(r) all(is.na(r)), NA)])
tab <- data.frame(method = rownames(tab), tab, row.names = NULL)
fmt <- function(v, d) ifelse(is.na(v), "-", formatC(v, format = "f", digits = d))
lines <- c(
  sprintf("M1 %s: %d series, horizon %d; %s", tolower(period), nrow(m1), h, format(Sys.time(), "%Y-%m-%d")),
  "",
  "| method | MASE | sMAPE | 80% cov. | 95% cov. | seconds (whole collection) | series |",
  "|---|---|---|---|---|---|---|",
  sprintf("| %s | %s | %s | %s | %s | %s | %d |", tab$method, fmt(tab$mase, 3), fmt(tab$smape, 2),
          fmt(100 * tab$c80, 1), fmt(100 * tab$c95, 1), fmt(tab$secs, 1), as.integer(tab$series)),
  "",
  sprintf("global fit %.1f s (%s) + forecast %.1f s; %s", t_fit,
          paste(names(gfit$timing), sprintf("%.1f s", gfit$timing), collapse = ", "), t_fc, gfit$method),
  if (exists("local_line")) local_line,
  sprintf("Command: Rscript bench/m1-global.R %s", paste(args, collapse = " ")),
  sprintf("%s; %d cores; tsattn %s", R.version.string, parallel::detectCores(), utils::packageVersion("tsattn")))
cat(lines, sep = "\n")
if (nzchar(out_file)) writeLines(lines, out_file)
