# Checksums of fitted models (issue 15): a byte-corrupted .rds file of a fitted model,
# or a fit edited after fitting, is an error naming `$checksum` (or a readRDS() failure),
# never a silently altered forecast; fits built through the API are never flagged.

old <- options(tsattn.threads = 1)
on.exit(options(old), add = TRUE)
fit1 <- tsattn(AirPassengers, model = "gru", epochs = 3, seed = 1, verbose = FALSE)
ens <- tsattn(AirPassengers, seed = 1, verbose = FALSE)
fc_of <- function(f) predict(f, h = 3, npaths = 20, seed = 1)

test_that("fits carry a checksum that their own fields match", {
  for (f in list(fit1, ens, ens$members[[1]])) {
    expect_match(f$checksum, "^[0-9a-f]{16}$")
    expect_identical(f$checksum, tsattn:::fit_checksum(f))
  }
  # saved and read back, the same fit forecasts the same
  path <- tempfile(fileext = ".rds")
  on.exit(unlink(path), add = TRUE)
  for (f in list(fit1, ens)) {
    saveRDS(f, path)
    expect_identical(fc_of(readRDS(path))$mean, fc_of(f)$mean)
  }
  # combinations, seq2seq, regressors and collections are sealed through the API
  cmb <- tsattn(AirPassengers, model = c("gru", "attention"), epochs = 2, seed = 1, verbose = FALSE)
  expect_true(all(is.finite(fc_of(cmb)$mean)))
  s2 <- tsattn(AirPassengers, model = "seq2seq", epochs = 2, seed = 1, verbose = FALSE)
  expect_true(all(is.finite(fc_of(s2)$mean)))
  X <- cbind(a = seq_along(AirPassengers))
  fx <- tsattn(AirPassengers, model = "gru", xreg = X, epochs = 2, seed = 1, verbose = FALSE)
  expect_true(all(is.finite(predict(fx, h = 3, npaths = 20, xreg = cbind(a = 145:147))$mean)))
  # the fields that do not change a forecast may be edited
  g <- fit1; g$call <- NULL; g$history <- NULL; g$method <- "mine"
  expect_identical(fc_of(g)$mean, fc_of(fit1)$mean)
})

test_that("a weight or a field edited to another valid number is an error naming the checksum", {
  msg <- "`object\\$checksum` must match the checksum of the fit's weights and fields .* corrupted .* or edited after fitting"
  g <- fit1; g$network$weights[[1]][1] <- g$network$weights[[1]][1] * (1 + 1e-12)
  expect_error(fc_of(g), msg)
  g <- fit1; g$scale <- g$scale * 2
  expect_error(fc_of(g), msg)
  g <- fit1; g$val_resid[[1]][1, 1] <- 0
  expect_error(fc_of(g), msg)
  g <- fit1; g$features[1, 1] <- g$features[1, 1] + 1
  expect_error(fc_of(g), msg)
  g <- fit1; g$checksum <- NULL
  expect_error(fc_of(g), "`object\\$checksum` must match .*, not NULL")
  g <- ens; g$members[[2]]$network$weights[[1]][1] <- 0
  expect_error(fc_of(g), msg)
  g <- ens; g$net_weight <- g$net_weight + 0.25
  expect_error(fc_of(g), msg)
  g <- ens; g$backbone$drift[length(g$backbone$drift)] <- 0
  expect_error(fc_of(g), msg)
  expect_error(attention(g), msg)
})

# flips `n` random bytes in [from, to] of an uncompressed .rds file's bytes
corrupt <- function(bytes, from, to, n) {
  at <- sample(from:to, n)
  bytes[at] <- as.raw(bitwXor(as.integer(bytes[at]), sample(1:255, n, replace = TRUE)))
  bytes
}

# readRDS() and a forecast of a corrupted file, in a forked child: R's own
# unserialize() can crash on a corrupted file, which is not the package's doing, so a
# crash before `marker` is written counts as an unreadable file, one after as a crash
corrupt_trial <- function(path, marker, secs = 60) {
  unlink(marker)
  job <- parallel::mcparallel({
    options(tsattn.threads = 1)
    sink(file(nullfile(), "w"), type = "message") # R's report of a crash in readRDS()
    g <- tryCatch(readRDS(path), error = function(e) NULL)
    if (is.null(g)) return(list(outcome = "unreadable"))
    writeLines("read", marker)
    fc <- tryCatch(suppressWarnings(fc_of(g)), error = function(e) e)
    if (inherits(fc, "error"))
      list(outcome = if (grepl("checksum", conditionMessage(fc))) "checksum" else "error")
    else list(outcome = "forecast", mean = fc$mean, upper = fc$upper)
  }, silent = TRUE)
  t0 <- Sys.time()
  repeat {
    res <- suppressWarnings(parallel::mccollect(job, wait = FALSE, timeout = 0.05))
    if (!is.null(res)) break
    if (difftime(Sys.time(), t0, units = "secs") > secs) {
      tools::pskill(job$pid, tools::SIGKILL)
      parallel::mccollect(job, wait = FALSE, timeout = 1)
      return(list(outcome = "hang"))
    }
  }
  r <- res[[1L]]
  if (is.list(r) && !is.null(r$outcome)) r
  else list(outcome = if (file.exists(marker)) "crash" else "unreadable")
}

test_that("byte-corrupted .rds files never forecast altered values", {
  skip_on_os("windows") # forked children
  skip_on_cran() # children that crash in R's own readRDS()
  # a child that crashes in readRDS() removes R's session temporary directory (R's
  # handler of the crash does), which the forked child shares with this process: the
  # files live elsewhere, and the directory is restored after each trial
  dir <- file.path(dirname(tempdir()), sprintf("tsattn-checksum-%d", Sys.getpid()))
  dir.create(dir, showWarnings = FALSE)
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  path <- file.path(dir, "fit.rds")
  marker <- file.path(dir, "read")
  set.seed(15)
  for (f in list(fit1, ens)) {
    saveRDS(f, path, compress = FALSE)
    bytes <- readBin(path, "raw", file.size(path))
    ref <- fc_of(f)
    # the bytes of the first weight array (the network's, the first member's for the
    # default), as saveRDS() writes doubles: big-endian
    w <- if (inherits(f, "tsattn_ensemble")) f$members[[1]]$network$weights else f$network$weights
    raw_w <- writeBin(as.double(w[[1]]), raw(), endian = "big")
    cand <- which(bytes[seq_len(length(bytes) - length(raw_w))] == raw_w[1])
    start <- cand[vapply(cand, function(i) identical(bytes[i:(i + length(raw_w) - 1L)], raw_w), NA)][1]
    expect_false(is.na(start))
    outcome <- character()
    for (trial in seq_len(40)) {
      # half the trials flip bytes of the weights, half anywhere after the header
      region <- if (trial %% 2L == 1L) c(start, start + length(raw_w) - 1L) else c(40L, length(bytes))
      writeBin(corrupt(bytes, region[1], region[2], sample(1:3, 1L)), path)
      r <- corrupt_trial(path, marker)
      tempdir(check = TRUE)
      expect_false(r$outcome %in% c("crash", "hang"))
      if (r$outcome == "forecast") {
        # the corrupted bytes did not reach what a forecast reads
        expect_identical(r$mean, ref$mean)
        expect_identical(r$upper, ref$upper)
      }
      outcome <- c(outcome, r$outcome)
    }
    # every flip in the weights is an error, nearly always the checksum's (a flip to a
    # non-finite weight may be caught by the network's own check first)
    in_weights <- outcome[c(TRUE, FALSE)]
    expect_true(all(in_weights %in% c("checksum", "error")), label = paste(in_weights, collapse = " "))
    expect_gte(sum(in_weights == "checksum"), 16L)
  }
})
