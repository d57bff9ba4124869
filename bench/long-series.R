# Issue 15, item 6: a series of 100,000 points. Time and peak memory of tsattn() and
# forecast() for the default ("auto", the ensemble) and a named model ("gru"), each in
# its own child R process so the peak resident memory (VmHWM) is that run's alone.
# Run: Rscript bench/long-series.R [n] [models...]  (output: bench/long-series.out)
# Uses the installed tsattn (or R_LIBS / lib.loc as usual).
args <- commandArgs(trailingOnly = TRUE)
n <- if (length(args)) as.numeric(args[1]) else 1e5
child <- function(model, n) {
  code <- sprintf('
    suppressMessages(library(tsattn))
    suppressMessages(loadNamespace("forecast"))
    set.seed(1)
    n <- %.0f
    y <- ts(10 + sin(2 * pi * seq_len(n) / 24) + cumsum(rnorm(n, sd = 0.05)), frequency = 24)
    t0 <- proc.time()[["elapsed"]]
    fit <- if ("%s" == "auto") tsattn(y, seed = 1, verbose = FALSE) else
      tsattn(y, model = "%s", epochs = 2, seed = 1, verbose = FALSE)
    t1 <- proc.time()[["elapsed"]]
    fc <- forecast::forecast(fit, h = 48, seed = 1)
    t2 <- proc.time()[["elapsed"]]
    hwm <- as.numeric(gsub("[^0-9]", "", grep("^VmHWM", readLines("/proc/self/status"), value = TRUE))) / 1024
    cat(sprintf("%%-6s n = %%d: fit %%.1f s, forecast(h = 48) %%.2f s, peak RSS %%.0f MiB, forecast finite: %%s, lookback %%d\\n",
                "%s", n, t1 - t0, t2 - t1, hwm, all(is.finite(fc$mean)) && all(is.finite(fc$lower)) && all(is.finite(fc$upper)),
                as.integer(fit$lookback)))
  ', n, model, model, model)
  f <- tempfile(fileext = ".R")
  writeLines(code, f)
  out <- system2(file.path(R.home("bin"), "Rscript"), f, stdout = TRUE, stderr = TRUE)
  cat(out, sep = "\n")
}
cat(sprintf("tsattn %s, R %s, %s, %d cores, tsattn.threads default\n",
            utils::packageVersion("tsattn"), getRversion(), R.version$platform, parallel::detectCores()))
models <- if (length(args) > 1L) args[-1L] else c("auto", "gru")
for (m in models) child(m, n)
