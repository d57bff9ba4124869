# Layer specifications for convolution over time and layer normalisation.

#' One-dimensional convolution over time
#'
#' PyTorch's `nn.Conv1d` over the time axis of `[batch, time, features]` arrays, stride 1:
#' weights `weight` `[filters, in, kernel_size]` and `bias` `[filters]`. Padding "same"
#' keeps the length (zeros on both sides, the extra one on the right for even kernels),
#' "causal" pads on the left only so no output sees a later input, "valid" does not pad
#' (the length shrinks by `kernel_size - 1`).
#'
#' @param filters Output channels, >= 1.
#' @param kernel_size Kernel width, >= 1.
#' @param padding "same", "causal" or "valid".
#' @param activation `NULL` (linear) or an activation applied to the output.
#' @param bias Add a bias.
#' @return A layer specification, for [sequential()].
#' @examples
#' layer_conv1d(64, 5, activation = "relu")
#' @export
layer_conv1d <- function(filters, kernel_size, padding = "same", activation = NULL, bias = TRUE) {
  new_layer("conv1d",
            filters = check_count(filters, "filters"),
            kernel_size = check_count(kernel_size, "kernel_size"),
            padding = check_choice(padding, "padding", padding_choices),
            activation = check_activation(activation, "activation"),
            bias = check_flag(bias, "bias"))
}

#' Layer normalisation
#'
#' Normalises the features of every time step to zero mean and unit variance (biased
#' variance, as PyTorch), then scales and shifts: weights `weight` `[F]` (ones) and
#' `bias` `[F]` (zeros), as `nn.LayerNorm(F)`.
#'
#' @param eps Added to the variance, > 0.
#' @return A layer specification, for [sequential()].
#' @examples
#' layer_layer_norm()
#' @export
layer_layer_norm <- function(eps = 1e-5) {
  new_layer("layer_norm", eps = check_number(eps, "eps", 0, lower_open = TRUE))
}
