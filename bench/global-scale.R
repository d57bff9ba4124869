# A global model on many short synthetic series (issue 12's scale target: 100,000 series
# of length 60 on a 2-core, 24 GiB machine): the time of each part of the fit and the peak
# resident memory (VmHWM of /proc/self/status) after building the data and after the fit.
#
# Usage: Rscript bench/global-scale.R [N ...]   (default 1000 10000 100000; each N in a
#        fresh R process, so that each peak is its own)
# Writes bench/GLOBAL-SCALE.md when run with no arguments.
args <- commandArgs(trailingOnly = TRUE)
if (!length(args) || identical(args, "--write")) {
  sizes <- c(1000, 10000, 100000)
  this <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  rows <- lapply(sizes, function(n) {
    out <- system2(file.path(R.home("bin"), "Rscript"), c(this, "--one", n), stdout = TRUE)
    cat(out, sep = "\n")
    utils::tail(out, 1L)
  })
  lines <- c(
    "# A global model on many short series",
    "",
    "Synthetic monthly series of 60 observations (level, trend, season and noise drawn at random, set.seed(1)),",
    "`tsattn(series, global = TRUE, seed = 1)` with its defaults, one thread (`options(tsattn.threads = 1)`).",
    "Peak RSS: VmHWM of the R process (each size in a fresh process); data: after the series list is built.",
    "",
    "| series | windows (lookback 24) | of which the per-series pipeline, s (est.) | fit s (total) | peak RSS data (MiB) | peak RSS after fit (MiB) |",
    "|---|---|---|---|---|---|",
    unlist(rows),
    "",
    sprintf("Command: Rscript bench/global-scale.R; %s; %d cores; %s", R.version.string,
            parallel::detectCores(), format(Sys.time(), "%Y-%m-%d")))
  writeLines(lines, file.path("bench", "GLOBAL-SCALE.md"))
  quit(save = "no")
}
suppressPackageStartupMessages(library(tsattn))
options(tsattn.threads = 1L)
n_series <- as.integer(args[match("--one", args) + 1L])
peak <- function() {
  s <- readLines("/proc/self/status")
  as.numeric(gsub("[^0-9]", "", grep("^VmHWM", s, value = TRUE))) / 1024
}
set.seed(1)
len <- 60L
t <- seq_len(len)
series <- lapply(seq_len(n_series), function(i) {
  lev <- exp(stats::runif(1, 2, 8))
  tr <- stats::rnorm(1, 0, 0.01)
  amp <- stats::runif(1, 0, 0.3)
  ph <- stats::runif(1, 0, 2 * pi)
  v <- lev * exp(tr * t + amp * sin(2 * pi * t / 12 + ph) + cumsum(stats::rnorm(len, 0, 0.05)))
  stats::ts(v, start = c(2015, 1), frequency = 12)
})
names(series) <- sprintf("s%06d", seq_len(n_series))
p_data <- peak()
ns <- asNamespace("tsattn")
# the time of the per-series pipeline (log, season, backbone) inside the fit, measured
# on 1000 of the series
t0 <- proc.time()[["elapsed"]]
invisible(lapply(series[seq_len(min(1000L, n_series))], ns$remainder_prep))
t_prep <- (proc.time()[["elapsed"]] - t0) * n_series / min(1000L, n_series)
t0 <- proc.time()[["elapsed"]]
fit <- tsattn(series, global = TRUE, seed = 1)
t_fit <- proc.time()[["elapsed"]] - t0
p_fit <- peak()
nw <- length(ns$global_windows(fit$prep, fit$lookbacks[1L], fit$remainder_horizon)$origin)
cat(sprintf("%d series: %d windows (lookback 24), pipeline %.1f s (est.), fit %.1f s, peak RSS %.0f MiB with the data, %.0f MiB after the fit; shares %s\n",
            n_series, nw, t_prep, t_fit, p_data, p_fit,
            paste(names(table(fit$net_weights)), table(fit$net_weights), sep = ": ", collapse = ", ")))
cat(sprintf("| %d | %d | %.1f | %.1f | %.0f | %.0f |\n", n_series, nw, t_prep, t_fit, p_data, p_fit))
