# Run by test-fork.R in a child Rscript (so that a hang is a timeout there, not a hung
# suite): threaded fits and forecasts in this process, then parallel::mclapply() workers
# that fit and forecast. Usage: Rscript fork-child.R LIB OUT.rds PIDFILE
args <- commandArgs(trailingOnly = TRUE)
lib <- args[[1L]]
out <- args[[2L]]
pidfile <- args[[3L]]
suppressPackageStartupMessages({
  library(tsattn, lib.loc = lib)
  library(forecast)
})
threads_now <- function() tsattn:::sync_threads() # the count a parallel region would get

# i: the seed; explicit: the worker sets options(tsattn.threads = 2) itself
work <- function(i, explicit = FALSE) {
  cat(Sys.getpid(), "\n", file = pidfile, append = TRUE) # for the parent to kill on a hang
  if (explicit) options(tsattn.threads = 2)
  th <- threads_now()
  f <- tsattn(AirPassengers, model = "transformer", epochs = 5, seed = i, verbose = FALSE)
  fc <- forecast(f, h = 6, seed = i)
  list(threads = th, loss = f$history$loss, mean = as.numeric(fc$mean),
       upper = as.numeric(fc$upper))
}
jobs <- list(list(1L, FALSE), list(2L, TRUE))
run_forked <- function() {
  parallel::mclapply(jobs, function(j) work(j[[1L]], j[[2L]]), mc.cores = 2L,
                     mc.preschedule = FALSE)
}

res <- list()
options(tsattn.threads = 2)
res$planned_2 <- threads_now() # 2, or 1 on one processor
options(tsattn.threads = 1024)
res$planned_1024 <- threads_now()

# A. this process never ran more than one thread: a count set in a worker is honoured
options(tsattn.threads = 1)
invisible(work(3L))
res$a <- run_forked()

# B. a threaded fit and a threaded forecast here, then forked workers (the hang of issue 15)
options(tsattn.threads = 2)
invisible(work(3L))
res$b <- run_forked()
res$after_fork <- threads_now() # this process keeps its threads

# the same work, one job after the other, here (2 threads)
res$seq <- lapply(jobs, function(j) work(j[[1L]], FALSE))
saveRDS(res, out)
