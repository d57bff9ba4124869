# Interrupts that keep the work. An interrupt (Ctrl-C, SIGINT) during the
# C training loop stops it at the next batch; the loop frees what it holds and returns
# the weights of the completed epochs (ta_train_loop), and fit() then signals a
# condition of class c("tsattn_interrupt", "interrupt", "condition") whose `object` is
# the network (tsattn(): the fit) as trained so far. Handlers for interrupts catch it;
# without one it goes back to the top level as any interrupt does, after saying that
# interrupted_fit() returns what was trained.

the_interrupt <- new.env(parent = emptyenv())

# signals the interrupt condition carrying `object`; returns only to a handler's restart
signal_tsattn_interrupt <- function(object, message, call = NULL) {
  cond <- structure(class = c("tsattn_interrupt", "interrupt", "condition"),
                    list(message = message, call = call, object = object))
  the_interrupt$object <- object
  signalCondition(cond)
  # no exiting handler took it: back to the top level, as an interrupt goes
  message(message, "; interrupted_fit() returns it")
  invokeRestart("abort")
}

# An interrupt that a .Call took between chunks of its work (predict(), forecast()'s
# paths): the C code freed what it held and returned NULL; the interrupt goes on as R's
# own does, a condition of class c("interrupt", "condition") for handlers, then back
# to the top level.
signal_user_interrupt <- function() {
  signalCondition(structure(class = c("interrupt", "condition"), list(message = "", call = NULL)))
  invokeRestart("abort")
}

# the message of an interrupt after `done` completed epochs (epoch numbers counted
# from `start`, the epochs of earlier fits), keeping the weights of epoch `kept`
interrupt_message <- function(epoch, start, done, kept) {
  if (done == 0L)
    return(sprintf("training was interrupted in epoch %d, before any epoch was completed: the network is as before the fit",
                   start + epoch))
  sprintf("training was interrupted in epoch %d: the %d completed epoch%s %s kept (the weights of epoch %d%s)",
          start + epoch, done, if (done > 1L) "s" else "", if (done > 1L) "are" else "is",
          start + kept, if (kept < done) ", the best" else "")
}

#' The work of the last interrupted fit
#'
#' An interrupt (Ctrl-C, or SIGINT) during [fit()] or [tsattn()] stops training at the
#' next mini-batch and keeps the epochs completed so far: the network (for `tsattn()`,
#' the fit, ready for [forecast()][forecast.tsattn]) with the weights that
#' `fit(epochs = k)` would have given for the `k` completed epochs (the last one's, or
#' with `patience` the best one's) and their rows of `$history`. It is signalled as a
#' condition of class `c("tsattn_interrupt", "interrupt", "condition")` whose
#' `object` field holds it, so `tryCatch(..., interrupt = function(e) e$object)` gets
#' it in code. Without such a handler the interrupt goes back to the top level, as any
#' interrupt does, and `interrupted_fit()` returns what was trained.
#'
#' For the default ensemble (`tsattn(y)`) the fit holds the networks fitted so far (the
#' interrupted one as of its completed epochs) and forecasts with its Theta backbone alone
#' (the networks' share is 0) unless all of them were fitted. `predict()` and `forecast()`
#' stop within about a second of an interrupt (between batches, and chunks of sample
#' paths) with an ordinary interrupt condition; there is nothing to keep.
#'
#' @return The network or `tsattn` fit of the last interrupted `fit()` or `tsattn()`
#'   in this session, or `NULL` if there was none.
#' @examples
#' s <- sin(seq(0, 20, length.out = 101))
#' net <- sequential(layer_gru(4), layer_dense(1), input_dim = 1)
#' net <- tryCatch(
#'   fit(net, array(s[-101], c(1, 100, 1)), array(s[-1], c(1, 100, 1)), epochs = 20),
#'   interrupt = function(e) e$object # on Ctrl-C: the epochs trained so far
#' )
#' interrupted_fit() # NULL unless a fit was interrupted
#' @export
interrupted_fit <- function() the_interrupt$object
