# Run by R CMD check.  For the full suite with counts: make test (tools/run-tests.R).
library(testthat)
library(tsattn)

test_check("tsattn")
