# Forecast accuracy on real series shipped with R and the forecast package: hold out the
# last two seasons (24 months, 8 quarters), fit on the rest, and print the test-set MASE
# of every tsattn model next to snaive, ets, auto.arima, thetaf and nnetar. "default" is
# tsattn(y) with no model given (the transformer and seq2seq combined).
# Usage: Rscript bench/accuracy.R [models] [set]   e.g. Rscript bench/accuracy.R default,gru
# set "seasonal" (default): the ten seasonal series below, the set the default model was
# chosen on; set "other": thirteen series it was not chosen on, mostly annual and
# non-seasonal (8 steps held out for them; output in bench/accuracy-other.out).
suppressPackageStartupMessages({
  library(tsattn)
  library(forecast)
})
args <- commandArgs(trailingOnly = TRUE)
models <- if (length(args) && nzchar(args[1])) strsplit(args[1], ",")[[1]] else
  c("default", "transformer", "gru", "lstm", "attention", "seq2seq")
set <- if (length(args) >= 2L) args[2] else "seasonal"
series <- switch(set,
  seasonal = list(
    AirPassengers = AirPassengers, ldeaths = ldeaths, co2 = co2, USAccDeaths = USAccDeaths,
    nottem = nottem, UKgas = UKgas, austres = austres, wineind = forecast::wineind,
    woolyrnq = forecast::woolyrnq, gas = forecast::gas
  ),
  other = list(
    UKDriverDeaths = UKDriverDeaths, JohnsonJohnson = JohnsonJohnson, Nile = Nile, lynx = lynx,
    WWWusage = WWWusage, LakeHuron = LakeHuron,
    sunspot.year = window(sunspot.year, start = 1850), BJsales = BJsales, nhtemp = nhtemp,
    airmiles = airmiles, treering = window(treering, start = 1800),
    Seatbelts_front = Seatbelts[, "front"],
    qgas = ts(as.numeric(aggregate(forecast::gas, 4))[-(1:80)], frequency = 4)
  ),
  stop("set must be \"seasonal\" or \"other\"")
)
mase <- function(fc, test) accuracy(fc, test)["Test set", "MASE"]
rows <- list()
secs <- list()
for (nm in names(series)) {
  y <- series[[nm]]
  h <- max(2 * frequency(y), 8)
  n <- length(y)
  train <- window(y, end = time(y)[n - h])
  test <- window(y, start = time(y)[n - h + 1])
  r <- c()
  s <- c()
  for (m in models) {
    t0 <- proc.time()[["elapsed"]]
    r[m] <- tryCatch({
      fit <- if (m == "default") tsattn(train, seed = 1, verbose = FALSE) else
        tsattn(train, model = m, seed = 1, verbose = FALSE)
      mase(forecast(fit, h = h, seed = 1), test)
    }, error = function(e) {
      message(nm, " ", m, ": ", conditionMessage(e))
      NA_real_
    })
    s[m] <- proc.time()[["elapsed"]] - t0
  }
  set.seed(1)
  t0 <- proc.time()[["elapsed"]]
  r["nnetar"] <- mase(forecast(nnetar(train), h = h), test)
  s["nnetar"] <- proc.time()[["elapsed"]] - t0
  r["snaive"] <- mase(snaive(train, h = h), test)
  r["ets"] <- mase(forecast(ets(train), h = h), test)
  r["auto.arima"] <- mase(forecast(auto.arima(train), h = h), test)
  r["thetaf"] <- mase(thetaf(train, h = h), test)
  rows[[nm]] <- r
  secs[[nm]] <- s
  cat(sprintf("%-14s %s\n", nm, paste(sprintf("%s %.2f", names(r), r), collapse = "  ")))
}
tab <- do.call(rbind, rows)
cat("\nTest-set MASE (last two seasons, at least 8 steps, held out)\n")
print(round(rbind(tab, mean = colMeans(tab, na.rm = TRUE)), 2))
cat("\nFit + forecast seconds\n")
st <- do.call(rbind, secs)
print(round(rbind(st, mean = colMeans(st)), 1))
cat(sprintf("\n%s; %s; %d cores\n", R.version.string, Sys.info()[["machine"]], parallel::detectCores()))
