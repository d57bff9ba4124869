# Runs the whole testthat suite (tests/testthat) against the installed tsattn.
# Usage (from the repository root): Rscript tools/run-tests.R [tests/testthat]
#
# Prints testthat's progress and its failure details, then
#   skipped: K
#   tests: N passed, M failed
# where N counts passing expectations, M failed and errored ones (an error outside any
# test_that() block counts too); skipped ones are not counted as passed.
# Exits non-zero when M > 0, when a file errored, or when no test ran.

# With --emu-lib DIR, the GPU test files (test-cuda*.R) then run a second time, in a
# child R, against the build installed in DIR with TSATTN_CUDA_EMU=1 (tools/cuda-emu:
# the CUDA code run by a CPU emulation, so that its GPU-vs-CPU comparisons run on a
# machine without a GPU); the totals include both runs. --filter RE runs only the test
# files whose names match RE (testthat's filter).
#
# With --gpucheck PATH, tests/gpu's gpucheck (the C core against its CUDA backend, without R;
# make gpucheck) at PATH runs last, and its checks count in the totals: each line that starts
# with "ok" as one passed, each that starts with "FAIL" as one failed. Its FAIL lines and its
# summary line ("gpucheck: N cases ...") are printed. A run that exits non-zero without any
# FAIL line (a crash, no CUDA device), one that runs no check, or no executable at PATH
# counts as one failure, with its last lines.
args <- commandArgs(trailingOnly = TRUE)
opt <- function(name) {
  i <- match(name, args)
  if (is.na(i) || i == length(args)) return(NULL)
  v <- args[[i + 1L]]
  args <<- args[-c(i, i + 1L)]
  v
}
emu_lib <- opt("--emu-lib")
gpucheck <- opt("--gpucheck")
filter <- opt("--filter")
expect_emu <- identical(opt("--expect-emu"), "yes") # the child run of --emu-lib
test_path <- if (length(args) >= 1L) args[[1L]] else file.path("tests", "testthat")
pkg <- "tsattn"

# As devtools::test() does: run the tests that skip_on_cran() would skip.
if (!nzchar(Sys.getenv("NOT_CRAN"))) Sys.setenv(NOT_CRAN = "true")

finish <- function(passed, failed, skipped, ok) {
  cat("\n")
  cat(sprintf("skipped: %d\n", skipped))
  cat(sprintf("tests: %d passed, %d failed\n", passed, failed))
  quit(save = "no", status = if (ok) 0L else 1L)
}

suppressPackageStartupMessages(library(testthat))

if (expect_emu) {
  # the GPU tests would all skip against a build that is not the emulation
  emulated <- tryCatch(tsattn:::cuda_emulated() && tsattn::cuda_available(),
                       error = function(e) FALSE)
  if (!emulated) {
    message("run-tests: the library on R_LIBS is not a TSATTN_CUDA_EMU=1 build with a usable device")
    finish(0L, 1L, 0L, FALSE)
  }
}

if (!dir.exists(test_path)) {
  message("run-tests: no directory ", test_path)
  finish(0L, 1L, 0L, FALSE)
}
if (!length(list.files(test_path, pattern = "^test.*\\.[rR]$"))) {
  message("run-tests: no test files in ", test_path)
  finish(0L, 1L, 0L, FALSE)
}

# Counts every expectation the reporters see, including those outside test_that()
# (a skip() at the top of a file is not kept in ListReporter's results).
CountReporter <- R6::R6Class("CountReporter", inherit = testthat::Reporter,
  public = list(
    n = c(success = 0L, failure = 0L, error = 0L, skip = 0L, warning = 0L),
    add_result = function(context, test, result) {
      for (k in names(self$n)) {
        if (inherits(result, paste0("expectation_", k))) {
          self$n[[k]] <- self$n[[k]] + 1L
          break
        }
      }
    }
  )
)
counter <- CountReporter$new()
reporter <- MultiReporter$new(list(
  ProgressReporter$new(show_praise = FALSE),
  counter
))

# test_dir() adds its own ListReporter; its results tell which files errored.
res <- tryCatch(
  test_dir(test_path, filter = filter, package = pkg, load_package = "installed",
           reporter = reporter, stop_on_failure = FALSE, stop_on_warning = FALSE),
  error = function(e) e
)
if (inherits(res, "error")) {
  message("run-tests: the test run itself failed: ", conditionMessage(res))
  finish(0L, 1L, 0L, FALSE)
}

n_pass  <- counter$n[["success"]]
n_fail  <- counter$n[["failure"]]
n_error <- counter$n[["error"]]
n_skip  <- counter$n[["skip"]]
n_warn  <- counter$n[["warning"]]

df <- as.data.frame(res)
files_errored <- unique(df$file[df$error])
if (length(files_errored)) {
  cat("\nFiles with errors:", paste(files_errored, collapse = ", "), "\n")
}
if (n_warn > 0L) cat(sprintf("warnings: %d\n", n_warn))

failed <- n_fail + n_error
ok <- failed == 0L && !length(files_errored) && (n_pass + n_skip) > 0L
if ((n_pass + n_skip) == 0L) message("run-tests: no expectation ran")

if (!is.null(emu_lib)) {
  cat("\n==== the GPU tests again, against the CPU emulation of the CUDA build in ", emu_lib,
      "\n", sep = "")
  cat(sprintf("(first run: %d passed, %d failed, %d skipped)\n", n_pass, failed, n_skip))
  script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1L])
  libs <- paste(c(normalizePath(emu_lib), .libPaths()), collapse = .Platform$path.sep)
  out <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"),
                                  c(shQuote(script), shQuote(test_path), "--filter", "cuda",
                                    "--expect-emu", "yes"),
                                  stdout = TRUE, stderr = TRUE,
                                  env = paste0("R_LIBS=", shQuote(libs))))
  writeLines(out)
  line <- grep("^tests: [0-9]+ passed, [0-9]+ failed$", out, value = TRUE)
  skip_line <- grep("^skipped: [0-9]+$", out, value = TRUE)
  if (!length(line)) {
    message("run-tests: the emulated GPU run printed no tests line")
    failed <- failed + 1L
    ok <- FALSE
  } else {
    k <- as.integer(regmatches(line, gregexpr("[0-9]+", line))[[1L]])
    n_pass <- n_pass + k[[1L]]
    failed <- failed + k[[2L]]
    if (length(skip_line)) n_skip <- n_skip + as.integer(sub("^skipped: ", "", skip_line))
    ok <- ok && k[[2L]] == 0L && is.null(attr(out, "status"))
  }
}
if (!is.null(gpucheck)) {
  cat("\n==== gpucheck: the C core against its CUDA backend, without R (", gpucheck, ")\n",
      sep = "")
  gpu_fail <- function(msg, out = character()) {
    message("run-tests: gpucheck ", msg, " (counted as 1 failure)")
    if (length(out)) writeLines(c("last lines of its output:", utils::tail(out, 15L)))
    failed <<- failed + 1L
    ok <<- FALSE
  }
  if (!file.exists(gpucheck) || dir.exists(gpucheck) || file.access(gpucheck, 1L) != 0L) {
    gpu_fail(paste0("is not an executable file: ", gpucheck,
                    " (not built? make gpucheck builds it)"))
  } else {
    t0 <- proc.time()[["elapsed"]]
    # a relative path without a slash would be looked up on PATH
    cmd <- if (grepl("/", gpucheck, fixed = TRUE)) gpucheck else file.path(".", gpucheck)
    out <- suppressWarnings(system2(cmd, stdout = TRUE, stderr = TRUE))
    status <- attr(out, "status")
    if (is.null(status)) status <- 0L
    g_pass <- sum(grepl("^ok", out))
    fail_lines <- grep("^FAIL", out, value = TRUE)
    if (length(fail_lines)) writeLines(fail_lines)
    summary_line <- grep("^gpucheck: ", out, value = TRUE)
    if (length(summary_line)) writeLines(summary_line)
    cat(sprintf("gpucheck: %d passed, %d failed, exit status %d, %.0f s\n", g_pass,
                length(fail_lines), status, proc.time()[["elapsed"]] - t0))
    n_pass <- n_pass + g_pass
    failed <- failed + length(fail_lines)
    if (length(fail_lines)) ok <- FALSE
    if (status != 0L && !length(fail_lines)) {
      gpu_fail(sprintf("exited with status %d and no FAIL line", status), out)
    } else if (status == 0L && g_pass == 0L) {
      gpu_fail("ran no check", out)
    }
  }
}
finish(n_pass, failed, n_skip, ok)
