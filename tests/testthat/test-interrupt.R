# Interrupts keep the work (issue 15): a child Rscript trains, and this test sends it
# SIGINT (as Ctrl-C does) while it does. Each interrupted fit must come back as a
# condition of class "interrupt" carrying the network (or tsattn fit) of the completed
# epochs: the same weights as a fit with that many epochs.

test_that("an interrupt during fit() and tsattn() keeps the completed epochs", {
  skip_on_os("windows") # SIGINT to another process
  skip_on_cran()
  lib <- dirname(system.file(package = "tsattn"))
  dir <- tempfile("interrupt")
  dir.create(dir)
  log <- file.path(dir, "log")
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  rscript <- file.path(R.home("bin"), "Rscript")
  system2(rscript, c("--vanilla", shQuote(test_path("interrupt-child.R")), shQuote(lib),
                     shQuote(dir)), stdout = log, stderr = log, wait = FALSE)
  wait_for <- function(path, secs = 120) {
    t0 <- Sys.time()
    while (!file.exists(path) && difftime(Sys.time(), t0, units = "secs") < secs) Sys.sleep(0.05)
    file.exists(path)
  }
  expect_true(wait_for(file.path(dir, "pid")))
  pid <- scan(file.path(dir, "pid"), integer(), quiet = TRUE)
  on.exit(tools::pskill(pid, tools::SIGKILL), add = TRUE, after = FALSE)
  for (i in 1:25) { # the child's ready() calls
    if (!wait_for(file.path(dir, sprintf("ready-%d", i)))) break
    Sys.sleep(if (i <= 5L) 0.8 else 0.3) # into the training loop
    tools::pskill(pid, tools::SIGINT)
  }
  ok <- wait_for(file.path(dir, "result.rds"), 180)
  expect_true(ok, info = paste(readLines(log), collapse = "\n"))
  skip_if_not(ok)
  Sys.sleep(0.5) # the file is complete once the child has exited; give it time
  res <- readRDS(file.path(dir, "result.rds"))
  cls <- c("tsattn_interrupt", "interrupt", "condition")

  # fit() caught by tryCatch(interrupt =): the network of the completed epochs
  r <- res$plain
  expect_identical(r$class, cls)
  expect_gt(r$k, 0L)
  expect_match(r$message, sprintf("interrupted in epoch %d: the %d completed epochs are kept \\(the weights of epoch %d\\)",
                                  r$k + 1L, r$k, r$k))
  expect_true(r$same_weights)
  expect_true(r$same_history)

  # no exiting handler: a calling handler sees it, a message names interrupted_fit(),
  # the interrupt goes on to the top level, and with patience the best epoch is kept
  r <- res$patience
  expect_identical(r$out, "aborted")
  expect_identical(r$class, cls)
  expect_gt(r$k, 0L)
  expect_length(r$messages, 1L)
  expect_match(r$messages, "interrupted_fit\\(\\) returns it")
  expect_match(r$messages, sprintf("the weights of epoch %d", r$best))
  expect_true(r$same_object)
  expect_true(r$same_weights)

  # interrupted in the first epoch: the network as before, no history rows
  r <- res$first
  expect_identical(r$class, cls)
  expect_identical(r$rows, 0L)
  expect_match(r$message, "interrupted in epoch 1, before any epoch was completed")
  expect_true(r$same_weights)

  # tsattn(): a complete fit from the epochs trained so far, that forecasts
  r <- res$tsattn
  expect_identical(r$class, cls)
  expect_identical(r$obj_class, "tsattn")
  expect_gt(r$k, 0L)
  expect_true(r$same_weights)
  expect_true(r$same_fitted)
  expect_true(all(is.finite(r$mean)))
  expect_true(r$same_as_interrupted_fit)

  # a combination interrupted in its first model: a combination of that model
  r <- res$combination
  expect_identical(r$class, cls)
  expect_identical(r$obj_class, c("tsattn_combination", "tsattn"))
  expect_identical(r$members, "transformer")
  expect_match(r$message, "model \"transformer\"")
  expect_true(all(is.finite(r$mean)))

  # memory after twenty interrupted fits is that after the second (the first grows the
  # heap; each fit's C buffers, about 20 MB, are freed)
  rss <- res$memory$rss
  expect_length(rss, 20L)
  # (not under AddressSanitizer, make sanitize: its quarantine keeps freed memory)
  if (!grepl("libasan", Sys.getenv("LD_PRELOAD"), fixed = TRUE))
    expect_lt(rss[20] - rss[2], 8, label = paste(round(rss), collapse = " "))
})
