# Run by test-interrupt-predict.R in a child Rscript, which the test sends SIGINT (a real
# Ctrl-C) while a large predict() and a large forecast() run: before each interrupted call
# this script creates DIR/ready-<i>, and DIR/done-<i> as soon as the call has returned,
# so that the parent measures how long the interrupt took. The results go to
# DIR/result.rds. Usage: Rscript interrupt-predict-child.R LIB DIR
args <- commandArgs(trailingOnly = TRUE)
lib <- args[[1L]]
dir <- args[[2L]]
suppressPackageStartupMessages(library(tsattn, lib.loc = lib))
# loaded now, not by the first forecast::forecast() after a ready() (seconds on a busy
# machine, during which an interrupt would be taken in R's loading code)
suppressPackageStartupMessages(loadNamespace("forecast"))
options(tsattn.threads = 2)
cat(Sys.getpid(), file = file.path(dir, "pid"))
step <- 0L
ready <- function() {
  step <<- step + 1L
  file.create(file.path(dir, sprintf("ready-%d", step)))
}
done <- function() file.create(file.path(dir, sprintf("done-%d", step)))
# the class of the condition expr signals ("value" when it returned), and whether the
# package's C loop took it (signal_user_interrupt()'s condition has a message and a call
# field; R's own, taken in R code, has none)
run <- function(expr) {
  out <- tryCatch({ force(expr); "value" }, interrupt = function(e)
    c(class(e), if (identical(names(e), c("message", "call"))) "in C" else "in R"))
  done()
  out
}
rss_mb <- function() { # resident memory after a collection
  invisible(gc())
  st <- readLines("/proc/self/status")
  as.numeric(gsub("[^0-9]", "", grep("^VmRSS", st, value = TRUE))) / 1024
}
res <- list()

# 1. predict() of 200,000 sequences of 50 steps through a GRU(64): tens of seconds
set.seed(1)
net <- sequential(layer_gru(64), layer_dense(1), input_dim = 1)
x <- array(rnorm(2e5 * 50), c(2e5, 50, 1))
ready()
res$predict <- run(predict(net, x))
# the network and the session still work
res$predict_after <- all(is.finite(predict(net, x[1:10, , , drop = FALSE])))

# 2. forecast() with 200,000 paths of 120 steps (the C simulation)
fit <- tsattn(AirPassengers, model = "gru", epochs = 1, seed = 1, verbose = FALSE)
rss <- rss_mb()
ready()
res$forecast <- run(forecast::forecast(fit, h = 120, npaths = 2e5, seed = 1))
fc <- forecast::forecast(fit, h = 3, npaths = 50, seed = 1)
res$forecast_after <- all(is.finite(fc$mean))

# 3. the same on one thread (the serial path of the simulation)
options(tsattn.threads = 1)
ready()
res$forecast1 <- run(forecast::forecast(fit, h = 120, npaths = 2e5, seed = 1))
# the interrupted simulations freed their buffers (windows 19 MB, residual picks 96 MB and
# the paths 96 MB each time)
res$rss <- c(rss, rss_mb())


# 4. the default ensemble, interrupted in its first network's training (made long): the
# fit keeps that network and forecasts with the backbone alone
options(tsattn.threads = 1, tsattn.ensemble = list(epochs = 1e6L))
ready()
e <- tryCatch(tsattn(AirPassengers, seed = 1, verbose = FALSE), interrupt = function(e) e)
done()
options(tsattn.ensemble = NULL)
fc <- tryCatch(forecast::forecast(e$object, h = 12, npaths = 50, seed = 1), error = function(e) e)
res$ensemble <- list(class = class(e), obj_class = class(e$object), message = conditionMessage(e),
                     members = length(e$object$members), net_weight = e$object$net_weight,
                     mean = if (inherits(fc, "forecast")) as.numeric(fc$mean) else conditionMessage(fc),
                     same_as_interrupted_fit = identical(interrupted_fit(), e$object))

# 5-6. fit() interrupted inside one long batch: a pass over 64 sequences of 1,500 steps
# through a 512-wide attention takes about 3 s (about 1 s forward, 2 s backward); the
# layers poll for a pending interrupt between their blocks, so the interrupt is taken
# within a fraction of a second, not at the end of the pass. Twice, with the memory after
# each: the second leaves it where the first did.
options(tsattn.threads = 1)
set.seed(2)
wide <- sequential(layer_multihead_attention(1, key_dim = 512), layer_dense(1), input_dim = 2)
wx <- array(rnorm(64 * 1500 * 2), c(64, 1500, 2))
wy <- wx[, , 1, drop = FALSE]
res$long_batch <- list()
rss <- numeric()
for (i in 1:2) {
  ready()
  e <- tryCatch(fit(wide, wx, wy, epochs = 1e6L, batch_size = 64L, verbose = FALSE),
                interrupt = function(e) e)
  done()
  res$long_batch[[i]] <- list(class = class(e), epochs = NROW(e$object$history),
                              same_weights = identical(e$object$weights, wide$weights))
  rss[i] <- rss_mb()
}
res$long_batch_rss <- rss
# one batch's time, uninterrupted (the pass the interrupt cut short)
res$long_batch_secs <- system.time(fit(wide, wx, wy, epochs = 1L, batch_size = 64L,
                                       verbose = FALSE))[["elapsed"]]

saveRDS(res, file.path(dir, "result.tmp"))
file.rename(file.path(dir, "result.tmp"), file.path(dir, "result.rds"))
