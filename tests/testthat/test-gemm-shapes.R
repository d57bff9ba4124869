# The CPU matrix product (src/ta_gemm.c) on shapes at the edges of its blocking: M, N and
# K not multiples of the tiles (6 or 12 rows, 16 or 32 columns), K = 1, K across the
# 256-long k blocks, tiny and tall-skinny products as the layers make them. Each is
# checked against R's double-precision product, and bitwise for what the project
# promises: a row's result does not depend on how many rows are multiplied with it (the
# plain loops below 8 rows, the packed kernel above), nor on the thread count.

gemm_cpu <- function(op, A, B, M, N, K, C = numeric(M * N), accumulate = FALSE)
  tsattn:::cuda_op_gemm(op, A, B, C, M, N, K, accumulate = accumulate, gpu = FALSE)

# R's product on the row-major operands of each op
gemm_ref <- function(op, A, B, M, N, K) {
  a <- if (op == "tn") t(matrix(A, K, M, byrow = TRUE)) else matrix(A, M, K, byrow = TRUE)
  b <- if (op == "nt") t(matrix(B, N, K, byrow = TRUE)) else matrix(B, K, N, byrow = TRUE)
  as.numeric(t(a %*% b))
}

shapes <- list(c(1, 1, 1), c(7, 5, 3), c(8, 16, 1), c(13, 17, 1), c(6, 16, 256),
               c(12, 32, 257), c(29, 33, 300), c(100, 3, 70), c(9, 300, 40), c(200, 1, 50),
               c(61, 47, 600), c(640, 64, 64), c(64, 64, 640), c(33, 100, 1), c(150, 40, 129))

test_that("the product matches R's on edge shapes, for every op, written and accumulated", {
  set.seed(140)
  for (s in shapes) {
    M <- s[1]; N <- s[2]; K <- s[3]
    A <- runif(M * K, -1, 1); B <- runif(N * K, -1, 1); C0 <- runif(M * N, -1, 1)
    for (op in c("nt", "nn", "tn")) {
      ref <- gemm_ref(op, A, B, M, N, K)
      tol <- 1e-5 * max(1, sqrt(K))
      expect_equal(gemm_cpu(op, A, B, M, N, K), ref, tolerance = tol,
                   info = sprintf("%s %d x %d x %d", op, M, N, K))
      expect_equal(gemm_cpu(op, A, B, M, N, K, C0, TRUE), C0 + ref, tolerance = tol,
                   info = sprintf("%s %d x %d x %d, accumulate", op, M, N, K))
    }
  }
})

test_that("a row's result does not depend on the rows multiplied with it", {
  set.seed(141)
  for (s in list(c(200, 33, 70), c(50, 64, 300), c(97, 17, 1))) {
    M <- s[1]; N <- s[2]; K <- s[3]
    A <- runif(M * K, -1, 1); B <- runif(N * K, -1, 1)
    full <- gemm_cpu("nt", A, B, M, N, K)
    for (m in intersect(c(1, 5, 7, 8, 13, 61), seq_len(M))) { # the plain loops (< 8 rows) and the packed kernel
      part <- gemm_cpu("nt", A[seq_len(m * K)], B, m, N, K)
      expect_identical(part, full[seq_len(m * N)], info = sprintf("%d of %d rows", m, M))
    }
  }
})

test_that("the product is the same bit for bit on one thread and on two", {
  old <- options(tsattn.threads = 1)
  on.exit({ options(old); tsattn:::sync_threads() })
  set.seed(142)
  shp <- list(c(640, 64, 64), c(64, 64, 640), c(256, 256, 100), c(20, 700, 300))
  one <- lapply(shp, function(s) {
    M <- s[1]; N <- s[2]; K <- s[3]
    A <- runif(M * K, -1, 1); B <- runif(N * K, -1, 1)
    list(A = A, B = B)
  })
  tsattn:::sync_threads()
  r1 <- Map(function(s, d) lapply(c("nt", "nn", "tn"), gemm_cpu, d$A, d$B, s[1], s[2], s[3]),
            shp, one)
  options(tsattn.threads = 2)
  tsattn:::sync_threads()
  r2 <- Map(function(s, d) lapply(c("nt", "nn", "tn"), gemm_cpu, d$A, d$B, s[1], s[2], s[3]),
            shp, one)
  expect_identical(r1, r2)
})
