# The matrix kernel has an AVX-512 build and an AVX2+FMA build (picked at load time,
# src/ta_gemm.c). Both sum every element in the same order with the same fused rounding,
# so they must give identical results. TSATTN_AVX512=0 keeps a process on the AVX2 build;
# the same work runs in two fresh R processes and the results are compared. (On a CPU
# without AVX-512 both processes use the AVX2 build and the comparison is trivially true.)

run_child <- function(env) {
  out <- tempfile(fileext = ".rds")
  script <- tempfile(fileext = ".R")
  writeLines(c(
    sprintf(".libPaths(%s)", paste(deparse(.libPaths()), collapse = "")),
    "suppressPackageStartupMessages(library(tsattn))",
    "set.seed(1)",
    "x <- array(rnorm(37 * 23 * 19), c(37, 23, 19))",
    "y <- array(rnorm(37 * 23 * 45), c(37, 23, 45))",
    "g <- tsattn:::net_gradient(sequential(layer_dense(45), input_dim = 19), x, y)",
    "net <- sequential(layer_gru(33, num_layers = 2), layer_dense(3), input_dim = 19)",
    "fit <- fit(net, x, y[, , 1:3], epochs = 2, batch_size = 8, seed = 2, verbose = FALSE)",
    sprintf("saveRDS(list(g, predict(fit, x), get_weights(fit)), %s)", deparse(out))
  ), script)
  status <- system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", script),
                    env = env, stdout = FALSE, stderr = FALSE)
  expect_identical(status, 0L)
  readRDS(out)
}

test_that("the AVX-512 and the AVX2 matrix kernels give identical results", {
  skip_on_os("windows") # env = in system2() is POSIX-only
  a <- run_child("TSATTN_AVX512=1")
  b <- run_child("TSATTN_AVX512=0")
  expect_identical(a, b)
  expect_true(all(is.finite(unlist(a))))
})
