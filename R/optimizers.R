#' Optimizers
#'
#' `optimizer_adam()` is PyTorch's `torch.optim.Adam` (weight decay added to the
#' gradient as an L2 term); `optimizer_sgd()` is `torch.optim.SGD` (momentum without
#' dampening). Both update float32 weights exactly as PyTorch does.
#'
#' @param lr Learning rate, > 0.
#' @param beta1,beta2 Adam's decay rates of the first and second moment, in `[0, 1)`.
#' @param eps Adam's term added to the denominator, > 0.
#' @param weight_decay L2 penalty, >= 0.
#' @param momentum SGD momentum, in `[0, 1)`.
#' @return An optimizer specification for [fit()].
#' @examples
#' optimizer_adam(lr = 0.01)
#' optimizer_sgd(lr = 0.1, momentum = 0.9)
#' @export
optimizer_adam <- function(lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0) {
  structure(list(
    name = "adam",
    lr = check_number(lr, "lr", 0, lower_open = TRUE),
    beta1 = check_number(beta1, "beta1", 0, 1, upper_open = TRUE),
    beta2 = check_number(beta2, "beta2", 0, 1, upper_open = TRUE),
    eps = check_number(eps, "eps", 0, lower_open = TRUE),
    weight_decay = check_number(weight_decay, "weight_decay", 0),
    momentum = 0
  ), class = "tsattn_optimizer")
}

#' @rdname optimizer_adam
#' @export
optimizer_sgd <- function(lr = 0.01, momentum = 0, weight_decay = 0) {
  structure(list(
    name = "sgd",
    lr = check_number(lr, "lr", 0, lower_open = TRUE),
    beta1 = 0, beta2 = 0, eps = 0,
    weight_decay = check_number(weight_decay, "weight_decay", 0),
    momentum = check_number(momentum, "momentum", 0, 1, upper_open = TRUE)
  ), class = "tsattn_optimizer")
}

#' @export
print.tsattn_optimizer <- function(x, ...) {
  if (x$name == "adam") {
    cat(sprintf("<tsattn optimizer> adam(lr = %g, beta1 = %g, beta2 = %g, eps = %g, weight_decay = %g)\n",
                x$lr, x$beta1, x$beta2, x$eps, x$weight_decay))
  } else {
    cat(sprintf("<tsattn optimizer> sgd(lr = %g, momentum = %g, weight_decay = %g)\n",
                x$lr, x$momentum, x$weight_decay))
  }
  invisible(x)
}
