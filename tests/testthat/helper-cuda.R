# What the GPU-against-CPU tests (test-cuda*.R) share: the comparison, the data, and the
# parity checks every GPU layer goes through (forward, gradients, one Adam step, a short
# run and its exact repeat). Each check runs the same network and data on both devices.
#
# Tolerances, |gpu - cpu| <= atol + rtol * |cpu|: the element-wise and per-row math of
# the GPU is the CPU's own (the shared __host__ __device__ headers, nvcc -fmad=false), so
# the two differ only in the order in which cuBLAS sums its products (and its use of
# FMA). In float32 (unit roundoff 6e-8) a reordered sum of n terms moves by about
# 6e-8 * sqrt(n) * max|term|; the networks here have n below a thousand and values of
# order 1, so about 1e-6 of the values' scale, and their recurrences and normalisations
# do not amplify it (each test file says why for its layers). Hence outputs 1e-5 +
# 1e-4 |cpu| and gradients 2e-5 + 1e-4 |cpu| (gradients sum over every row, so the
# larger atol), about ten times the expected error. One Adam step moves each weight by
# about lr * sign(g) whatever |g|, so its weights agree to 1e-5 (a thousandth of lr =
# 0.01) unless a gradient is within 1e-5 of 0 on one side only. A 10-epoch run compounds
# the gradient differences through the optimizer state: each step moves a weight by at
# most lr, so the weights stay within 5e-4 + 1e-3 |cpu| (a few percent of one step), and
# the loss history within 1e-4 relative. Repeating a GPU run is exact: no atomics in any
# sum, and cuBLAS runs with atomics disallowed.

# every value of gpu (a list or an array) within atol + rtol * |cpu| of cpu's
expect_gpu_near <- function(gpu, cpu, atol, rtol, what = "") {
  gpu <- as.numeric(unlist(gpu))
  cpu <- as.numeric(unlist(cpu))
  expect_identical(length(gpu), length(cpu), label = paste(what, "length"))
  bad <- abs(gpu - cpu) > atol + rtol * abs(cpu)
  expect_true(!any(bad), label = sprintf("%s: %d of %d values beyond atol %g + rtol %g (max diff %g)",
                                         what, sum(bad), length(cpu), atol, rtol,
                                         if (length(cpu)) max(abs(gpu - cpu)) else 0))
}

# inputs [B, T, 3] and targets shaped as the network's output, rounded to 3 digits
gpu_case_data <- function(net, B, T, seed) {
  set.seed(seed)
  x <- array(round(rnorm(B * T * 3), 3), c(B, T, 3))
  shape <- dim(predict(net, x))
  list(x = x, y = array(round(rnorm(prod(shape)) * 0.5, 3), shape))
}

# predict() on both devices; the GPU's result in chunks of `chunk` sequences agrees with
# the one-chunk result as the outputs do with the CPU's (not bit for bit: cuBLAS chooses
# its kernels, and so its order of summation, by the product's shape, and a smaller chunk
# is another shape; seen on an H200 by tests/gpu's gpucheck, 2026-12-04); the same call
# repeated gives the same bits
expect_gpu_forward <- function(net, x, what, chunk, lengths = NULL) {
  cpu <- predict(net, x, lengths = lengths, device = "cpu")
  gpu <- predict(net, x, lengths = lengths, device = "cuda")
  expect_identical(dim(gpu), dim(cpu))
  expect_gpu_near(gpu, cpu, 1e-5, 1e-4, paste(what, "outputs"))
  chunked <- predict(net, x, lengths = lengths, device = "cuda", batch_size = chunk)
  expect_identical(dim(chunked), dim(gpu))
  expect_gpu_near(chunked, gpu, 1e-5, 1e-4, paste(what, "outputs in chunks of", chunk))
  expect_identical(predict(net, x, lengths = lengths, device = "cuda"), gpu)
}

# loss, outputs and the gradients of the weights and the inputs on both devices; `...`
# goes to net_gradient() (loss, training, lengths)
expect_gpu_gradients <- function(net, x, y, what, ...) {
  cpu <- tsattn:::net_gradient(net, x, y, ...)
  gpu <- tsattn:::cuda_net_gradient(net, x, y, ...)
  expect_gpu_near(gpu$loss, cpu$loss, 1e-6, 1e-5, paste(what, "loss"))
  expect_gpu_near(gpu$output, cpu$output, 1e-5, 1e-4, paste(what, "output"))
  expect_identical(names(gpu$weights), names(cpu$weights))
  expect_gpu_near(gpu$weights, cpu$weights, 2e-5, 1e-4, paste(what, "weight gradients"))
  expect_gpu_near(gpu$x, cpu$x, 2e-5, 1e-4, paste(what, "input gradients"))
}

# one Adam step on one batch of every sequence, unshuffled; `weights_of` picks the
# weights to compare (all of them by default)
expect_gpu_adam_step <- function(net, x, y, what, weights_of = identity) {
  step <- function(device) fit(net, x, y, epochs = 1, batch_size = dim(x)[1L], shuffle = FALSE,
                               optimizer = optimizer_adam(lr = 0.01), seed = 3, device = device,
                               verbose = FALSE)
  cpu <- step("cpu")
  gpu <- step("cuda")
  expect_gpu_near(gpu$history$loss, cpu$history$loss, 0, 1e-5, paste(what, "Adam step loss"))
  expect_gpu_near(weights_of(get_weights(gpu)), weights_of(get_weights(cpu)), 1e-5, 1e-5,
                  paste(what, "Adam step weights"))
}

# `epochs` epochs of shuffled batches of `batch_size` (the batch order comes from the
# same generator on both devices), then the GPU run again: exactly the same; `...` goes
# to fit() (lengths)
expect_gpu_run <- function(net, x, y, what, batch_size, epochs = 10, weights_of = identity, ...) {
  run <- function(device) fit(net, x, y, epochs = epochs, batch_size = batch_size,
                              optimizer = optimizer_adam(lr = 0.01), seed = 5, device = device,
                              verbose = FALSE, ...)
  cpu <- run("cpu")
  gpu <- run("cuda")
  expect_gpu_near(gpu$history$loss, cpu$history$loss, 0, 1e-4, paste(what, "loss history"))
  expect_gpu_near(weights_of(get_weights(gpu)), weights_of(get_weights(cpu)), 5e-4, 1e-3,
                  paste(what, "weights"))
  again <- run("cuda")
  expect_identical(get_weights(again), get_weights(gpu))
  expect_identical(again$history, gpu$history)
}
