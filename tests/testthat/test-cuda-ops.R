# The GPU operations (src/*_cuda.cu) against the CPU core on the same float32 inputs:
# cuBLAS products, activations, one Adam step and the loss. The CPU side of each
# comparison runs everywhere (it is the core's own code, checked here against R in
# double precision); the GPU side needs a device and is skipped without one.

op_gemm <- tsattn:::cuda_op_gemm
op_act <- tsattn:::cuda_op_act
op_adam <- tsattn:::cuda_op_adam
op_loss <- tsattn:::cuda_op_loss

# float32 values, so R's double reference sees the inputs the core sees
f32 <- function(n) round(rnorm(n), 3)

# row-major [r, c] matrix from a flat vector, and back
rm_mat <- function(v, r, c) matrix(v, r, c, byrow = TRUE)
rm_vec <- function(m) as.vector(t(m))

# |a - b| <= atol + rtol * |b| elementwise (b the CPU reference)
expect_close <- function(a, b, atol, rtol) {
  expect_equal(length(a), length(b))
  bad <- abs(a - b) > atol + rtol * abs(b)
  expect_true(!any(bad), label = sprintf("%d of %d values beyond atol %g + rtol %g (max diff %g)",
                                         sum(bad), length(b), atol, rtol, max(abs(a - b))))
}

gemm_reference <- function(op, A, B, C, M, N, K, accumulate) {
  a <- if (op == "tn") t(rm_mat(A, K, M)) else rm_mat(A, M, K)
  b <- switch(op, nt = t(rm_mat(B, N, K)), rm_mat(B, K, N))
  rm_vec(a %*% b + if (accumulate) rm_mat(C, M, N) else 0)
}

test_that("the CPU side of the operations agrees with R in double precision", {
  set.seed(10)
  M <- 5; N <- 7; K <- 9
  for (op in c("nt", "nn", "tn")) for (acc in c(FALSE, TRUE)) {
    A <- f32(M * K); B <- f32(N * K); C <- f32(M * N)
    expect_close(op_gemm(op, A, B, C, M, N, K, accumulate = acc),
                 gemm_reference(op, A, B, C, M, N, K, acc), 1e-5, 1e-5)
  }
  x <- f32(50); d <- f32(50)
  r <- op_act("tanh", x, d)
  expect_close(r$out, tanh(x), 1e-6, 1e-6)
  expect_close(r$din, d * (1 - tanh(x)^2), 1e-5, 1e-5)
  r <- op_act("relu", x, d)
  expect_close(r$out, pmax(x, 0), 1e-7, 1e-7)
  l <- op_loss("mse", x, d)
  expect_equal(l$loss, mean((x - d)^2), tolerance = 1e-6)
  expect_close(l$grad, 2 * (x - d) / 50, 1e-7, 1e-6)
  p <- f32(20); g <- f32(20)
  s <- op_adam(p, g, rep(0, 20), rep(0, 20), step = 1, lr = 0.01)
  # first step of Adam: m = 0.1 g, v = 0.001 g^2, update lr * g / (|g| + eps)
  expect_close(s$params, p - 0.01 * g / (abs(g) + 1e-8), 1e-6, 1e-5)
  expect_close(s$m, 0.1 * g, 1e-7, 1e-6)
})

test_that("GPU operations are clear errors where no GPU can be used", {
  skip_if(cuda_available(), "a CUDA device is usable here")
  expected <- if (tsattn:::cuda_built()) "^GPU matrix product: cudaMalloc \\(.*\\(cuda[A-Za-z]+\\)$" else
    "^GPU matrix product: this build of tsattn has no CUDA backend"
  expect_error(op_gemm("nt", 1, 1, 0, 1, 1, 1, gpu = TRUE), expected)
  expect_error(op_act("relu", 1, 1, gpu = TRUE), "^GPU activation: ")
  expect_error(op_adam(1, 1, 0, 0, step = 1, gpu = TRUE), "^GPU Adam step: ")
  expect_error(op_loss("mse", 1, 1, gpu = TRUE), "^GPU loss: ")
  expect_error(tsattn:::cuda_op_dropout(1, 0.5, 1, gpu = TRUE), "^GPU dropout: ")
})

test_that("the dropout hash (ta_dropout_keep) drops at the rate, repeats per key, scales the rest", {
  drop <- tsattn:::cuda_op_dropout
  x <- f32(100000)
  for (rate in c(0.1, 0.5, 0.9)) {
    d <- drop(x, rate, 7)
    keep <- 1 / (1 - rate)
    # every multiplier is 0 or 1/(1-rate) in float32 (rate itself rounded to float32
    # moves 1 - rate by up to 2.4e-7 relative at rate 0.9), and out is x times it
    expect_true(all(d$mask == 0 | abs(d$mask - keep) <= keep * 5e-7))
    expect_identical(length(unique(d$mask)), 2L)
    expect_true(all(d$out[d$mask == 0] == 0))
    expect_true(all(abs(d$out - x * d$mask) <= 1e-6 * abs(x * d$mask) + 1e-7))
    # the share dropped is the rate: binomial sd sqrt(r(1-r)/1e5) <= 0.0016, so 0.01 is
    # beyond six standard deviations
    expect_lt(abs(mean(d$mask == 0) - rate), 0.01)
    # a key repeats its mask; another key gives another; element i does not depend on n
    expect_identical(drop(x, rate, 7)$mask, d$mask)
    expect_gt(mean(drop(x, rate, 8)$mask != d$mask), 0.05)
    expect_identical(drop(x[1:1000], rate, 7)$mask, d$mask[1:1000])
  }
  # neighbouring elements and neighbouring keys are not correlated: the drops of
  # element i and i + 1 (and of key 7 and 8) agree as often as independent draws would
  d <- drop(x, 0.5, 7)$mask == 0
  expect_lt(abs(mean(d[-1] == d[-length(d)]) - 0.5), 0.01)
  expect_lt(abs(mean(d == (drop(x, 0.5, 8)$mask == 0)) - 0.5), 0.01)
  expect_true(all(drop(x, 0, 7)$mask == 1))
})

test_that("GPU dropout draws the CPU's mask from the same key", {
  skip_if_not(cuda_available(), "no CUDA device")
  x <- f32(100003)
  for (rate in c(0.1, 0.5)) {
    cpu <- tsattn:::cuda_op_dropout(x, rate, 123456789)
    gpu <- tsattn:::cuda_op_dropout(x, rate, 123456789, gpu = TRUE)
    expect_identical(gpu$mask, cpu$mask)
    expect_identical(gpu$out, cpu$out)
  }
})

test_that("cuBLAS products match the CPU's (nt, nn, tn; write and accumulate; batched)", {
  skip_if_not(cuda_available(), "no CUDA device")
  set.seed(11)
  for (dims in list(c(1, 1, 1), c(3, 5, 7), c(64, 33, 130), c(257, 129, 65))) {
    M <- dims[1]; N <- dims[2]; K <- dims[3]
    for (op in c("nt", "nn", "tn")) for (acc in c(FALSE, TRUE)) for (batch in c(1L, 3L)) {
      A <- f32(M * K * batch); B <- f32(N * K * batch); C <- f32(M * N * batch)
      cpu <- op_gemm(op, A, B, C, M, N, K, batch, acc)
      gpu <- op_gemm(op, A, B, C, M, N, K, batch, acc, gpu = TRUE)
      expect_close(gpu, cpu, 1e-4, 1e-4)
    }
  }
})

test_that("activation kernels match the CPU's forward and backward", {
  skip_if_not(cuda_available(), "no CUDA device")
  set.seed(12)
  x <- c(f32(5000) * 4, 0, -0, 1e-30, -20, 20, 90, -90)
  d <- f32(length(x))
  for (fn in c("linear", "relu", "tanh", "sigmoid", "gelu")) {
    cpu <- op_act(fn, x, d)
    gpu <- op_act(fn, x, d, gpu = TRUE)
    # the formulas are the same code; only libm's expf/tanhf/erff may differ by an ulp
    expect_close(gpu$out, cpu$out, 1e-6, 1e-6)
    expect_close(gpu$din, cpu$din, 1e-6, 1e-6)
  }
})

test_that("one Adam step on the GPU is the CPU's step", {
  skip_if_not(cuda_available(), "no CUDA device")
  set.seed(13)
  n <- 100003  # more than one grid's worth of blocks would need: the kernel strides
  p <- f32(n); g <- f32(n); m <- f32(n) / 10; v <- abs(f32(n)) / 100
  for (wd in c(0, 0.01)) for (step in c(1L, 7L)) {
    cpu <- op_adam(p, g, m, v, step, lr = 0.003, weight_decay = wd)
    gpu <- op_adam(p, g, m, v, step, lr = 0.003, weight_decay = wd, gpu = TRUE)
    # no FMA contraction (-fmad=false) and IEEE sqrt and division: the same rounding
    expect_close(gpu$params, cpu$params, 1e-7, 1e-6)
    expect_close(gpu$m, cpu$m, 1e-8, 1e-6)
    expect_close(gpu$v, cpu$v, 1e-10, 1e-6)
  }
})

test_that("the GPU loss matches the CPU's and repeats exactly", {
  skip_if_not(cuda_available(), "no CUDA device")
  set.seed(14)
  for (n in c(1, 255, 256, 257, 100000, 1000003)) for (loss in c("mse", "mae")) {
    yhat <- f32(n); y <- f32(n)
    cpu <- op_loss(loss, yhat, y)
    gpu <- op_loss(loss, yhat, y, gpu = TRUE)
    # both sum the n terms in double, in different orders: each partial sum rounds by
    # up to 1.1e-16 relative, so the two may differ by n * 1.1e-16 relative in the worst
    # case (1.1e-10 at n = 1e6; seen: 1e-12 at n = 1000003 in the CPU emulation, which
    # runs the GPU's reduction order)
    expect_equal(gpu$loss, cpu$loss, tolerance = max(1e-14, n * 1.2e-16))
    expect_identical(gpu$grad, cpu$grad)
    expect_identical(op_loss(loss, yhat, y, gpu = TRUE)$loss, gpu$loss)
  }
})
