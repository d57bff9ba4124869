#' tsattn: attention, recurrent and positional-encoding networks for time series
#'
#' Networks are built from layers with [sequential()], trained with [fit()] by a
#' C core (float32, analytic gradients, Adam or SGD) and stored as plain R objects
#' whose weights follow PyTorch's `state_dict` names and shapes.
#'
#' @keywords internal
#' @aliases tsattn-package
#' @useDynLib tsattn, .registration = TRUE
#' @importFrom generics fit
#' @importFrom stats predict
"_PACKAGE"

# ggplot2's tidy-evaluation pronoun, used in aes()
#' @importFrom utils globalVariables
NULL
globalVariables(".data")
