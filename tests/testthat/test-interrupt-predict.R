# Interrupts in predict() and forecast() (issue 15): the C code checks for an interrupt
# between chunks of windows (through a callback the .Call glue sets; the core never calls
# R), frees what it holds and returns, and R signals the interrupt. A child Rscript runs
# a large predict() and forecast(), and this test sends it SIGINT while each runs: each
# must end as an interrupt within a second (it ran 15 s and 36 s before). An
# interrupted default ensemble keeps the networks fitted so far. A fit() interrupted in
# the middle of one long forward/backward pass ends within a second too (the layers poll
# for a pending interrupt between blocks of their work).

test_that("an interrupt stops a large predict() and forecast() within seconds", {
  skip_on_os("windows") # SIGINT to another process
  skip_on_cran()
  skip_if_not_installed("forecast") # the child calls forecast::forecast()
  lib <- dirname(system.file(package = "tsattn"))
  dir <- tempfile("interrupt-predict")
  dir.create(dir)
  log <- file.path(dir, "log")
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  rscript <- file.path(R.home("bin"), "Rscript")
  system2(rscript, c("--vanilla", shQuote(test_path("interrupt-predict-child.R")), shQuote(lib),
                     shQuote(dir)), stdout = log, stderr = log, wait = FALSE)
  wait_for <- function(path, secs = 120) {
    t0 <- Sys.time()
    while (!file.exists(path) && difftime(Sys.time(), t0, units = "secs") < secs) Sys.sleep(0.02)
    file.exists(path)
  }
  expect_true(wait_for(file.path(dir, "pid")))
  pid <- scan(file.path(dir, "pid"), integer(), quiet = TRUE)
  on.exit(tools::pskill(pid, tools::SIGKILL), add = TRUE, after = FALSE)
  took <- double()
  for (i in 1:6) {
    if (!wait_for(file.path(dir, sprintf("ready-%d", i)))) break
    Sys.sleep(2) # into the C loop (the R code before it takes well under a second)
    t0 <- Sys.time()
    tools::pskill(pid, tools::SIGINT)
    wait_for(file.path(dir, sprintf("done-%d", i)), 60)
    took[i] <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  }
  ok <- wait_for(file.path(dir, "result.rds"), 120)
  expect_true(ok, info = paste(readLines(log), collapse = "\n"))
  skip_if_not(ok)
  res <- readRDS(file.path(dir, "result.rds"))
  # each call ended as an interrupt taken in the C loop, not with a value or an error
  expect_identical(res$predict, c("interrupt", "condition", "in C"))
  expect_identical(res$forecast, c("interrupt", "condition", "in C"))
  expect_identical(res$forecast1, c("interrupt", "condition", "in C"))
  # within a second of the signal
  expect_length(took, 6L)
  expect_true(all(took < 1), label = paste(round(took, 2), collapse = " "))
  # and what came after worked
  expect_true(res$predict_after)
  expect_true(res$forecast_after)
  # two interrupted 200,000-path simulations leave memory about where it was (each held
  # over 200 MB in its C buffers)
  expect_lt(diff(res$rss), 60, label = paste(round(res$rss), collapse = " -> "))

  # fit() interrupted inside a pass of seconds (the interrupt came 2 s into the first
  # batch, in its backward pass): taken in the layers' loops, within a second (above), the
  # untrained network kept; a second time, memory stays where the first left it
  for (r in res$long_batch) {
    expect_identical(r$class, c("tsattn_interrupt", "interrupt", "condition"))
    expect_identical(r$epochs, 0L)
    expect_true(r$same_weights)
  }
  expect_gt(res$long_batch_secs, 2)
  expect_lt(diff(res$long_batch_rss), 30, label = paste(round(res$long_batch_rss), collapse = " -> "))

  # the default ensemble interrupted in its first network: a fit of that network, whose
  # forecast is the Theta backbone's (the networks' share 0)
  r <- res$ensemble
  expect_identical(r$class, c("tsattn_interrupt", "interrupt", "condition"))
  expect_identical(r$obj_class, c("tsattn_ensemble", "tsattn"))
  expect_identical(r$members, 1L)
  expect_identical(r$net_weight, 0)
  expect_match(r$message, "in network 1 of 5 of the ensemble: the fit keeps the 1 network fitted so far and forecasts with the backbone alone")
  expect_true(is.numeric(r$mean) && length(r$mean) == 12L && all(is.finite(r$mean)))
  expect_true(r$same_as_interrupted_fit)
})
