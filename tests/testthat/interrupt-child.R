# Run by test-interrupt.R in a child Rscript, which the test sends SIGINT (a real
# Ctrl-C) while training runs: before each interrupted call this script creates
# DIR/ready-<i>, and the parent interrupts it a moment later. The results go to
# DIR/result.rds. Usage: Rscript interrupt-child.R LIB DIR
args <- commandArgs(trailingOnly = TRUE)
lib <- args[[1L]]
dir <- args[[2L]]
suppressPackageStartupMessages(library(tsattn, lib.loc = lib))
options(tsattn.threads = 1)
cat(Sys.getpid(), file = file.path(dir, "pid"))
step <- 0L
ready <- function() { # the parent interrupts after this
  step <<- step + 1L
  file.create(file.path(dir, sprintf("ready-%d", step)))
}
# evaluates expr and returns the interrupt condition it signals (or the value)
interrupted <- function(expr) tryCatch(expr, interrupt = function(e) e)
rss_mb <- function() {
  st <- readLines("/proc/self/status")
  as.numeric(gsub("[^0-9]", "", grep("^VmRSS", st, value = TRUE))) / 1024
}
res <- list()
set.seed(1)
s <- sin(seq(0, 20, length.out = 41))
x <- array(s[-41], c(1, 40, 1))
y <- array(s[-1], c(1, 40, 1))
net <- sequential(layer_gru(4), layer_dense(1), input_dim = 1)
long <- 2e6 # epochs: training lasts until the interrupt

# 1. fit() without patience, caught by an interrupt handler
ready()
e <- interrupted(fit(net, x, y, epochs = long, batch_size = 1, seed = 2, verbose = FALSE))
k <- nrow(e$object$history)
ref <- fit(net, x, y, epochs = k, batch_size = 1, seed = 2, verbose = FALSE)
res$plain <- list(class = class(e), message = conditionMessage(e), k = k,
                  same_weights = identical(e$object$weights, ref$weights),
                  same_history = identical(e$object$history, ref$history))

# 2. with validation data and patience; no exiting handler: the interrupt goes to the
# top level (here a restart "abort" standing for it) after a message
xv <- array(s[-(1:1)][1:40], c(1, 40, 1))
yv <- array(c(s[-(1:2)], 0), c(1, 40, 1))
msgs <- character()
seen <- NULL
ready()
out <- withRestarts(
  withCallingHandlers(
    fit(net, x, y, epochs = long, batch_size = 1, seed = 3, verbose = FALSE,
        validation_data = list(xv, yv), patience = 1e6),
    interrupt = function(e) seen <<- e,
    message = function(m) {
      msgs <<- c(msgs, conditionMessage(m))
      invokeRestart("muffleMessage")
    }),
  abort = function() "aborted")
got <- interrupted_fit()
k <- nrow(got$history)
ref <- fit(net, x, y, epochs = k, batch_size = 1, seed = 3, verbose = FALSE,
           validation_data = list(xv, yv), patience = 1e6)
res$patience <- list(out = out, class = class(seen), messages = msgs, k = k,
                     same_object = identical(got, seen$object),
                     same_weights = identical(got$weights, ref$weights),
                     best = which.min(got$history$val_loss))

# 3. an interrupt in the first epoch: the network as it was
big_x <- array(rnorm(1e5 * 10), c(1e5, 10, 1))
big_y <- array(rnorm(1e5 * 10), c(1e5, 10, 1))
big <- sequential(layer_gru(64), layer_dense(1), input_dim = 1)
ready()
e <- interrupted(fit(big, big_x, big_y, epochs = 2, batch_size = 1, seed = 1, verbose = FALSE))
res$first <- list(class = class(e), message = conditionMessage(e),
                  rows = NROW(e$object$history),
                  same_weights = identical(e$object$weights, big$weights))
rm(big_x, big_y)

# 4. tsattn(): the fit made from the epochs trained so far
ready()
e <- interrupted(tsattn(AirPassengers, model = "gru", epochs = long, patience = 1e6, seed = 1,
                        verbose = FALSE))
f <- e$object
k <- nrow(f$history)
ref <- tsattn(AirPassengers, model = "gru", epochs = k, patience = 1e6, seed = 1, verbose = FALSE)
fc <- predict(f, h = 6, seed = 1)
res$tsattn <- list(class = class(e), obj_class = class(f), k = k,
                   same_weights = identical(f$network$weights, ref$network$weights),
                   same_fitted = identical(f$fitted, ref$fitted),
                   mean = as.numeric(fc$mean), same_as_interrupted_fit = identical(interrupted_fit(), f))

# 5. a combination: the models fitted so far
ready()
e <- interrupted(tsattn(AirPassengers, model = c("transformer", "seq2seq"), epochs = long,
                        patience = 1e6, seed = 1, verbose = FALSE))
fc <- predict(e$object, h = 6, seed = 1)
res$combination <- list(class = class(e), obj_class = class(e$object),
                        members = names(e$object$members), message = conditionMessage(e),
                        mean = as.numeric(fc$mean))

# 6. memory after many interrupted fits is that after one (no leak)
mx <- array(rnorm(256 * 50 * 4), c(256, 50, 4))
my <- array(rnorm(256 * 50), c(256, 50, 1))
mnet <- sequential(layer_gru(32), layer_dense(1), input_dim = 4)
rss <- numeric()
for (i in 1:20) {
  ready()
  e <- interrupted(fit(mnet, mx, my, epochs = 1e5, batch_size = 256, seed = 1, verbose = FALSE))
  if (!inherits(e, "interrupt")) stop("fit ", i, " was not interrupted")
  invisible(gc())
  rss[i] <- rss_mb()
}
res$memory <- list(rss = rss)
saveRDS(res, file.path(dir, "result.rds"))
