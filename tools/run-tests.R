# Runs the whole testthat suite (tests/testthat) against the installed tsattn.
# Usage (from the repository root): Rscript tools/run-tests.R [tests/testthat]
#
# Prints testthat's progress and its failure details, then
#   skipped: K
#   tests: N passed, M failed
# where N counts passing expectations, M failed and errored ones (an error outside any
# test_that() block counts too); skipped ones are not counted as passed.
# Exits non-zero when M > 0, when a file errored, or when no test ran.

args <- commandArgs(trailingOnly = TRUE)
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
  test_dir(test_path, package = pkg, load_package = "installed",
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
finish(n_pass, failed, n_skip, ok)
