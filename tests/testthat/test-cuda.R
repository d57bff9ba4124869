# The CUDA backend as seen from R, on any machine: what the installed build says about
# itself, and the errors a GPU request gets where no GPU can be used. The GPU's own
# results are compared with the CPU's in test-cuda-*.R (skipped without a device).

cuda_columns <- c("id", "name", "memory_gb", "compute_capability", "usable")

test_that("cuda_devices() is a data frame with the documented columns", {
  d <- cuda_devices()
  expect_s3_class(d, "data.frame")
  expect_identical(names(d), cuda_columns)
  expect_type(d$id, "integer")
  expect_type(d$name, "character")
  expect_type(d$memory_gb, "double")
  expect_type(d$compute_capability, "character")
  expect_type(d$usable, "logical")
  expect_identical(cuda_available(), any(d$usable))
  if (nrow(d)) {
    expect_identical(d$id, seq_len(nrow(d)) - 1L)
    expect_match(d$compute_capability[!is.na(d$compute_capability)], "^[0-9]+\\.[0-9]+$")
  }
})

test_that("cuda_available() answers TRUE or FALSE and never fails", {
  a <- cuda_available()
  expect_true(isTRUE(a) || isFALSE(a))
  # a build without CUDA can never have a usable device
  if (!tsattn:::cuda_built()) expect_false(a)
})

test_that("cuBLAS is loaded on first use, not with the package", {
  # the CUDA build does not link libcublas: loading tsattn (done by now, with
  # cuda_devices() above) must not have mapped it into this process
  maps <- function() if (file.exists("/proc/self/maps")) readLines("/proc/self/maps") else NULL
  skip_if(is.null(maps()), "no /proc/self/maps on this system")
  if (!any(grepl("libcublas", maps()))) succeed("cuBLAS not mapped before first use")
  else skip("cuBLAS was already loaded in this session (a GPU test ran before)")
  why <- .Call(tsattn:::C_cuda_blas_library)
  if (tsattn:::cuda_emulated()) {
    expect_null(why) # the emulation's own cuBLAS (tools/cuda-emu), nothing to map
  } else if (tsattn:::cuda_built()) {
    # the toolkit's library is found through the package's run path, without a device
    expect_null(why)
    expect_true(any(grepl("libcublas\\.so", maps())))
  } else {
    expect_match(why, "has no CUDA backend")
    expect_false(any(grepl("libcublas", maps())))
  }
})

test_that("without a usable device, cuda_devices() says why", {
  skip_if(cuda_available(), "a CUDA device is usable here")
  d <- cuda_devices()
  expect_false(any(d$usable))
  reason <- attr(d, "reason")
  expect_type(reason, "character")
  expect_true(nzchar(reason))
  if (!tsattn:::cuda_built()) {
    expect_equal(nrow(d), 0L)
    expect_match(reason, "has no CUDA backend")
  } else if (nrow(d) == 0L) {
    # CUDA's own words: no driver, an old driver, or no device
    expect_match(reason, "^cudaGetDeviceCount: .*\\(cuda[A-Za-z]+\\)$")
  }
})

test_that("device = \"cuda\" is a clear error where no GPU can be used", {
  skip_if(cuda_available(), "a CUDA device is usable here")
  set.seed(1)
  x <- array(rnorm(20), c(2, 10, 1))
  net <- sequential(layer_dense(1), input_dim = 1)
  # one message for both failure kinds' common part; the rest tells them apart
  expected <- if (tsattn:::cuda_built()) {
    "no CUDA device can be used: cuda[A-Za-z]+: .*; use device = \"cpu\""
  } else {
    "no CUDA device can be used: this build of tsattn has no CUDA backend"
  }
  expect_error(fit(net, x, x, epochs = 1, device = "cuda", verbose = FALSE), expected)
  expect_error(predict(net, x, device = "cuda"), expected)
  expect_error(tsattn(AirPassengers, model = "gru", epochs = 1, device = "cuda", verbose = FALSE),
               expected)
  # the check comes before any work: no history was added to the network
  expect_error(fit(net, x, x, epochs = 1, device = "cuda", verbose = FALSE), "`device` is \"cuda\"")
})

test_that("forecasts and attention with device = \"cuda\" are clear errors where no GPU can be used", {
  skip_if(cuda_available(), "a CUDA device is usable here")
  fit <- tsattn(AirPassengers, model = "gru", epochs = 2, seed = 1, verbose = FALSE)
  expected <- "`device` is \"cuda\" but no CUDA device can be used"
  expect_error(forecast::forecast(fit, h = 3, device = "cuda"), expected)
  expect_error(predict(fit, h = 3, device = "cuda"), expected)
  net <- sequential(layer_dense(4), layer_attention(), input_dim = 1)
  expect_error(attention(net, array(rnorm(10), c(1, 10, 1)), device = "cuda"),
               "`device` is \"cuda\" but (no CUDA device can be used|layer 2)")
  # "auto" is the CPU here, with the CPU's results
  expect_identical(forecast::forecast(fit, h = 3, seed = 2, device = "auto")$mean,
                   forecast::forecast(fit, h = 3, seed = 2)$mean)
  expect_error(forecast::forecast(fit, h = 3, device = "gpu"), "`device` must be one of")
})

test_that("tsattn(), forecast() and simulation on the GPU agree with the CPU", {
  skip_if_not(cuda_available(), "no CUDA device")
  # training: both run the same 5 epochs of the same batches (patience 20 does not stop
  # them); the GPU's sums differ from the CPU's in order only, so the fits agree closely
  run <- function(device) tsattn(AirPassengers, model = "gru", epochs = 5, seed = 1,
                                 device = device, verbose = FALSE)
  g <- run("cuda")
  c <- run("cpu")
  expect_lt(max(abs(g$fitted - c$fitted), na.rm = TRUE), 1e-2 * max(abs(c$fitted), na.rm = TRUE))
  # the same fit forecast on either device: the residual draws are the CPU's, so the
  # paths differ only by float32 rounding in the network
  fg <- forecast::forecast(c, h = 12, npaths = 200, seed = 3, device = "cuda")
  fc <- forecast::forecast(c, h = 12, npaths = 200, seed = 3, device = "cpu")
  expect_lt(max(abs(fg$mean - fc$mean)), 1e-4 * max(abs(fc$mean)))
  expect_lt(max(abs(fg$upper - fc$upper)), 1e-4 * max(abs(fc$upper)))
  expect_identical(forecast::forecast(c, h = 12, npaths = 200, seed = 3, device = "cuda")$mean,
                   fg$mean)
  # the combination (transformer with positional encoding and dropout, seq2seq)
  # train on the GPU; their forecast and attention on either device agree
  d <- tsattn(AirPassengers, model = c("transformer", "seq2seq"), epochs = 3, seed = 1,
              device = "cuda", verbose = FALSE)
  expect_true(all(is.finite(d$fitted[!is.na(d$fitted)])))
  dg <- forecast::forecast(d, h = 12, npaths = 100, seed = 2, device = "cuda")
  dc <- forecast::forecast(d, h = 12, npaths = 100, seed = 2, device = "cpu")
  expect_lt(max(abs(dg$mean - dc$mean)), 1e-4 * max(abs(dc$mean)))
  ag <- attention(d, device = "cuda")
  ac <- attention(d)
  expect_identical(lapply(ag, dim), lapply(ac, dim))
  expect_true(all(abs(unlist(ag) - unlist(ac)) <= 1e-5))
  # the simulation itself, with regressors and without noise
  set.seed(4)
  net <- sequential(layer_lstm(6), layer_dense(2), input_dim = 3)
  w <- matrix(rnorm(24), 8, 3)
  xf <- matrix(rnorm(5), 5, 1)
  r <- matrix(rnorm(40) * 0.1, 20, 2)
  sim <- function(device, resid) tsattn:::simulate_paths(net, w, 5, npaths = 300, resid = resid,
                                                        xreg_future = xf, seed = 9, device = device)
  for (resid in list(r, NULL)) {
    a <- sim("cuda", resid)
    b <- sim("cpu", resid)
    expect_identical(dim(a$paths), dim(b$paths))
    expect_true(all(abs(a$paths - b$paths) <= 1e-5 + 1e-4 * abs(b$paths)))
    expect_true(all(abs(a$mean - b$mean) <= 1e-5 + 1e-4 * abs(b$mean)))
  }
})

test_that("device = \"auto\" runs on the CPU and gives the CPU's results", {
  # with a usable device "auto" trains this network on the GPU (test-cuda-train.R)
  skip_if(cuda_available(), "a CUDA device is usable here")
  set.seed(2)
  x <- array(rnorm(40), c(2, 20, 1))
  y <- array(rnorm(40), c(2, 20, 1))
  net <- sequential(layer_gru(3), layer_dense(1), input_dim = 1)
  a <- fit(net, x, y, epochs = 2, batch_size = 2, seed = 1, device = "auto", verbose = FALSE)
  b <- fit(net, x, y, epochs = 2, batch_size = 2, seed = 1, device = "cpu", verbose = FALSE)
  expect_identical(a$history, b$history)
  expect_identical(get_weights(a), get_weights(b))
  expect_identical(predict(a, x, device = "auto"), predict(a, x, device = "cpu"))
})

test_that("an unknown device is an error", {
  x <- array(rnorm(40), c(2, 20, 1))
  net <- sequential(layer_gru(3), layer_dense(1), input_dim = 1)
  expect_error(fit(net, x, x, epochs = 1, device = "gpu", verbose = FALSE),
               "`device` must be one of \"cpu\", \"cuda\", \"auto\", not \"gpu\"")
})

test_that("tsattn(device = \"auto\") fits on the CPU where no GPU can be used", {
  skip_if(cuda_available(), "a CUDA device is usable here (the GPU test above covers it)")
  f <- tsattn(AirPassengers, model = "gru", epochs = 2, seed = 1, device = "auto", verbose = FALSE)
  g <- tsattn(AirPassengers, model = "gru", epochs = 2, seed = 1, device = "cpu", verbose = FALSE)
  expect_false(is.null(f$fitted))
  expect_identical(f$fitted, g$fitted)
})

test_that("every kind of C's one list of layers has a GPU path", {
  # the GPU's lookup comes from the same list (src/ta_layer_kinds.h) as the CPU's: a CUDA
  # build names no kind unsupported; a CPU-only build builds each network and answers NULL
  kinds <- vapply(every_kind, `[[`, "", "type")
  expect_setequal(kinds, names(.Call(tsattn:::C_codes)$layer))
  for (layer in every_kind)
    expect_null(.Call(tsattn:::C_cuda_net_unsupported, list(tsattn:::layer_spec(layer)), 4L),
                label = layer$type)
  # a kind outside the list is no kind of either
  expect_error(.Call(tsattn:::C_cuda_net_unsupported, list(list(type = "rnn")), 4L),
               "'type' must be one of dense, activation, ")
})
