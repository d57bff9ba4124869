# Fork safety (issue 15): GNU OpenMP's thread pool does not survive fork(), so forked
# workers (parallel::mclapply, future's multicore) used to hang for ever in their first
# parallel region after a threaded fit. The core now runs on one thread in a forked child
# (ta_threads.h). Each run is a child Rscript with a timeout, so a regression fails here
# instead of hanging the suite.

test_that("options(tsattn.threads) is capped at the processors", {
  old <- options(tsattn.threads = 1024)
  on.exit(options(old))
  n <- tsattn:::sync_threads()
  expect_gte(n, 1L)
  expect_lte(n, parallel::detectCores(logical = TRUE))
  options(tsattn.threads = 1)
  expect_identical(tsattn:::sync_threads(), 1L)
  options(tsattn.threads = NULL)
  expect_lte(tsattn:::sync_threads(), parallel::detectCores(logical = TRUE))
})

test_that("mclapply workers fit and forecast after a threaded fit and forecast", {
  skip_on_os("windows") # no fork()
  skip_if_not_installed("forecast")
  lib <- dirname(system.file(package = "tsattn"))
  out <- tempfile(fileext = ".rds")
  pidfile <- tempfile()
  log <- tempfile()
  on.exit(unlink(c(out, pidfile, log)), add = TRUE)
  rscript <- file.path(R.home("bin"), "Rscript")
  status <- suppressWarnings(system2(rscript, c("--vanilla", shQuote(test_path("fork-child.R")),
                                                shQuote(lib), shQuote(out), shQuote(pidfile)),
                                     stdout = log, stderr = log, timeout = 150))
  if (!identical(as.integer(status), 0L)) {
    # hung workers outlive the killed Rscript: end them
    pids <- if (file.exists(pidfile)) scan(pidfile, integer(), quiet = TRUE) else integer()
    if (length(pids)) tools::pskill(pids, tools::SIGKILL)
  }
  expect_identical(as.integer(status), 0L,
                   info = paste(c("status 124 is a timeout (a hang); log:",
                                  tail(readLines(log), 20)), collapse = "\n"))
  skip_if_not(file.exists(out), "the child Rscript failed (above)")
  res <- readRDS(out)
  expect_lte(res$planned_1024, parallel::detectCores(logical = TRUE))
  expect_identical(res$after_fork, res$planned_2)
  for (phase in c("a", "b")) {
    r <- res[[phase]]
    expect_length(r, 2L)
    for (k in 1:2) {
      expect_false(inherits(r[[k]], "try-error"), info = paste(phase, k, format(r[[k]])))
      if (inherits(r[[k]], "try-error")) next
      # the same numbers as one job after the other in the parent, with 2 threads
      for (field in c("loss", "mean", "upper"))
        expect_identical(r[[k]][[field]], res$seq[[k]][[field]], info = paste(phase, k, field))
    }
  }
  # a worker runs on one thread unless it sets the count itself, and then only when the
  # parent never asked for more than one thread (phase a), not after a threaded fit (b)
  expect_identical(res$a[[1L]]$threads, 1L)
  expect_identical(res$a[[2L]]$threads, res$planned_2)
  expect_identical(res$b[[1L]]$threads, 1L)
  expect_identical(res$b[[2L]]$threads, 1L)
})
