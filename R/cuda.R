# The CUDA backend as R sees it: whether this build has one, which devices it can use,
# and the check behind every `device =` argument. The C side (src/api_cuda.c) answers
# the same questions in a CPU-only build, where the answer is always "no".

#' Is a CUDA device usable?
#'
#' `TRUE` only when the package was built with CUDA (a CUDA toolkit was found when it
#' was installed) and at least one device can run its kernels. It never fails: without
#' a driver or a GPU it is `FALSE`. [cuda_devices()] says why a device is not usable.
#'
#' tsattn is built with CUDA when `nvcc` is found (in `CUDA_HOME`, on the `PATH` or in
#' `/usr/local/cuda`) unless it is installed with `--configure-args=--without-cuda` or
#' with the environment variable `TSATTN_CUDA=0`. `TSATTN_CUDA_ARCH` chooses the GPU
#' architectures compiled for, e.g. `TSATTN_CUDA_ARCH="80;90"` (compute capabilities
#' 8.0 and 9.0), or `"native"` for the GPUs of the installing machine; the default
#' covers compute capabilities 7.5 to 12.0 and later GPUs (through PTX).
#'
#' @return `TRUE` or `FALSE`.
#' @seealso [cuda_devices()]
#' @examples
#' cuda_available()
#' @export
cuda_available <- function() .Call(C_cuda_available)

#' CUDA devices
#'
#' The CUDA devices the installed tsattn sees.
#'
#' @return A data frame with one row per device: `id` (from 0, as CUDA numbers them),
#'   `name`, `memory_gb` (total memory, GiB), `compute_capability` (e.g. `"8.0"`) and
#'   `usable` (whether this build's kernels run on it). It has zero rows when the
#'   package was built without CUDA, or there is no driver or no device; the attribute
#'   `"reason"` then says why.
#' @seealso [cuda_available()]
#' @examples
#' cuda_devices()
#' @export
cuda_devices <- function() {
  info <- .Call(C_cuda_devices)
  d <- info$devices
  out <- data.frame(id = d$id, name = d$name, memory_gb = d$memory_gb,
                    compute_capability = d$compute_capability, usable = d$usable,
                    stringsAsFactors = FALSE)
  reason <- if (!cuda_built()) cuda_not_built_reason() else info$message
  if (nzchar(reason)) attr(out, "reason") <- reason
  out
}

# Why `object` (a network) cannot run on the GPU: NULL when every layer has a GPU
# path, else a message naming the first layer that has none. The CUDA build's core
# decides (src/ta_net_cuda.cu); a CPU-only build has no GPU path at all and answers NULL
# (check_device() then says that the build has no CUDA).
cuda_unsupported <- function(object) {
  s <- network_spec(object)
  in_dim <- if (is.null(object$input_dim)) 1L else as.integer(object$input_dim)
  # the GPU's own list (ta_cuda_net_unsupported in src/ta_net_cuda.cu); a network the core
  # cannot build here gives NULL, and its real error comes from fit() or predict()
  tryCatch(.Call(C_cuda_net_unsupported, s, in_dim), error = function(e) NULL)
}

# the first usable CUDA device (check_device() has made sure there is one)
cuda_device_id <- function() {
  d <- cuda_devices()
  d$id[d$usable][1L]
}

# Loss and analytic gradients of one batch on the GPU, as net_gradient() on the CPU
# (for the CPU/GPU parity tests, test-cuda-*.R).
cuda_net_gradient <- function(object, x, y, loss = "mse", training = FALSE, seed = 1,
                              lengths = NULL)
  net_gradient(object, x, y, loss = loss, training = training, seed = seed, lengths = lengths,
               device = "cuda")

# TRUE when this installation was built with the CUDA backend (for CI and tests).
cuda_built <- function() .Call(C_cuda_built)

# TRUE for a TSATTN_CUDA_EMU=1 build, whose "GPU" is tools/cuda-emu's CPU emulation
# (developers' test builds only)
cuda_emulated <- function() isTRUE(.Call(C_cuda_emulated))

cuda_not_built_reason <- function()
  paste("this build of tsattn has no CUDA backend (it was installed without nvcc,",
        "with --without-cuda or with TSATTN_CUDA=0)")

# One operation on the CPU (gpu = FALSE) or the GPU (gpu = TRUE), on the same float32
# inputs: the CPU/GPU parity tests (tests/testthat/test-cuda-ops.R) compare the two.
# Matrices are row-major, one after another (see src/api_cuda.c).
cuda_op_gemm <- function(op = c("nt", "nn", "tn"), A, B, C, M, N, K, batch = 1L,
                         accumulate = FALSE, gpu = FALSE) {
  op <- match(match.arg(op), c("nt", "nn", "tn")) - 1L
  .Call(C_cuda_op_gemm, op, as.double(A), as.double(B), as.double(C),
        as.integer(c(M, N, K, batch)), accumulate, gpu)
}
cuda_op_act <- function(fn, x, dout, gpu = FALSE) {
  .Call(C_cuda_op_act, fn, as.double(x), as.double(dout), gpu)
}
cuda_op_adam <- function(params, grads, m, v, step, lr = 1e-3, beta1 = 0.9, beta2 = 0.999,
                         eps = 1e-8, weight_decay = 0, gpu = FALSE) {
  .Call(C_cuda_op_adam, as.double(params), as.double(grads), as.double(m), as.double(v),
        as.double(c(lr, beta1, beta2, eps, weight_decay)), as.integer(step), gpu)
}
cuda_op_dropout <- function(x, rate, key, gpu = FALSE) {
  .Call(C_cuda_op_dropout, as.double(x), as.double(rate), key, gpu)
}
cuda_op_loss <- function(loss = c("mse", "mae"), yhat, y, gpu = FALSE) {
  kind <- match(match.arg(loss), c("mse", "mae"))
  .Call(C_cuda_op_loss, kind, as.double(yhat), as.double(y), gpu)
}
