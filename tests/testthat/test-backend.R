# The network's actions take the device last (src/api_backend.h): R NULL or a negative
# number runs the CPU core, a CUDA device id the GPU; one entry point per action.

test_that("a NULL or negative device is the CPU, and an id needs a usable GPU", {
  set.seed(3)
  net <- sequential(layer_gru(3), layer_dense(1), input_dim = 2)
  s <- tsattn:::network_spec(net)
  w <- tsattn:::flatten_weights(net$weights, tsattn:::network_layout(net))
  x <- array(runif(24), c(3, 4, 2))
  p <- function(device)
    .Call(tsattn:::C_net_predict, s, 2L, w, tsattn:::to_core(x), dim(x), NULL, 2L, device)
  cpu <- p(-1L)
  expect_identical(p(NULL), cpu)
  expect_identical(p(-7), cpu)
  # list(the array [B, T_out, out], how many values are not finite)
  expect_identical(cpu[[1L]], predict(net, x))
  expect_identical(cpu[[2L]], 0)
  expect_error(p(NA_integer_), "'device' must be")
  expect_error(p("cuda"), "'device' must be")
  skip_if(tsattn:::cuda_available(), "a CUDA device is usable here")
  expect_error(p(0L), if (tsattn:::cuda_built()) "cuda[A-Za-z]+: " else "has no CUDA backend")
})

test_that("R reaches each action through one entry point, none per device", {
  reg <- names(getDLLRegisteredRoutines("tsattn")$.Call)
  actions <- c("predict", "gradient", "fit", "fit_windows", "simulate", "attention")
  expect_true(all(paste0("C_net_", actions) %in% reg))
  expect_false(any(paste0("C_cuda_net_", actions) %in% reg))
  expect_identical(tsattn:::device_id("cpu"), -1L)
  expect_identical(tsattn:::device_id(structure("cuda", id = 2L)), 2L)
})
